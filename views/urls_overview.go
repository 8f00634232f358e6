package views

// OverviewURL is the fleet overview, the console's home page.
func OverviewURL() string { return "/" }

// FailuresURL is the list of recent failures, from after (a
// models.FailureCursor) on.
func FailuresURL(after string) string { return withQuery("/failures", "after", after) }

// TasksStatusURL is the task list of one status.
func TasksStatusURL(status string) string { return TasksURL(status, "", 0) }
