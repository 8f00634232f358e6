// Package views holds the console's templ components: the layout, one file
// per page and a few shared pieces. URLs come from the helpers of urls.go,
// never written out twice.
package views

import (
	"net/url"
	"strings"

	"fleettasks/models"
)

// withQuery appends the non-empty values of kv (name, value, ...) to path.
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func idStr(id models.ID) string {
	if id == 0 {
		return ""
	}
	return id.String()
}

// TasksURL is the task list with its filters.
func TasksURL(status, q string, page int) string {
	p := ""
	if page > 1 {
		p = itoa(page)
	}
	return withQuery("/tasks", "status", status, "q", q, "page", p)
}

// TaskNewURL is the create form.
func TaskNewURL() string { return "/tasks/new" }

// TaskChartURL is the fragment of a task's chart of sub-tasks over time.
func TaskChartURL(id models.ID) string { return TaskURL(id) + "/chart" }

// PolicyPreviewURL is the create form's preview of a custom policy in words.
func PolicyPreviewURL() string { return "/tasks/new/policy" }

// TaskURL is a task's page.
func TaskURL(id models.ID) string { return "/tasks/" + id.String() }

// TaskSummaryURL is the task summary fragment.
func TaskSummaryURL(id models.ID) string { return TaskURL(id) + "/summary" }

// TaskEventsURL is the live stream (server-sent events) of a task's page
// showing the sub-tasks of status, q and after; version is the one the
// page shows (empty: unknown, the stream sends the page's state first).
func TaskEventsURL(id models.ID, status, q string, after models.ID, version string) string {
	return withQuery(TaskURL(id)+"/events", "status", status, "q", q, "after", idStr(after), "v", version)
}

// TaskLiveURL is the same updates as TaskEventsURL, for a page that polls.
func TaskLiveURL(id models.ID, status, q string, after models.ID) string {
	return withQuery(TaskURL(id)+"/live", "status", status, "q", q, "after", idStr(after))
}

// TasksEventsURL is the live stream of the task list as q shows it.
func TasksEventsURL(q TaskListQuery) string {
	return "/tasks/events" + strings.TrimPrefix(q.URL(), "/tasks")
}

// TasksLiveURL is the same updates as TasksEventsURL, for a page that polls.
func TasksLiveURL(q TaskListQuery) string {
	return "/tasks/live" + strings.TrimPrefix(q.URL(), "/tasks")
}

// TaskEditURL is the in-place edit form of part ("description" or "config").
func TaskEditURL(id models.ID, part string) string { return TaskURL(id) + "/edit/" + part }

// TaskActionURL is the POST URL of action ("cancel", "rerun", "delete").
func TaskActionURL(id models.ID, action string) string { return TaskURL(id) + "/" + action }

// SubtasksURL is the sub-task table fragment of a task.
func SubtasksURL(id models.ID, status, q string, after models.ID) string {
	return withQuery(TaskURL(id)+"/subtasks", "status", status, "q", q, "after", idStr(after))
}

// SubtasksCSVURL is the CSV export of a task's sub-tasks.
func SubtasksCSVURL(id models.ID, status string) string {
	return withQuery(TaskURL(id)+"/subtasks.csv", "status", status)
}

// SubtaskURL is a sub-task's execution details.
func SubtaskURL(id, sid models.ID) string { return TaskURL(id) + "/subtasks/" + sid.String() }

// TaskDocumentURL downloads a task's job document.
func TaskDocumentURL(id models.ID) string { return TaskURL(id) + "/document" }

// RuleTemplateURL downloads the rule file template.
func RuleTemplateURL() string { return "/console/rule-template.json" }

// DeviceSearchURL is the device picker's search.
func DeviceSearchURL() string { return "/console/devices/search" }

// FileUploadURL is the console's upload of a file of kind.
func FileUploadURL(kind string) string { return withQuery("/console/files", "kind", kind) }

// LoginURL is the sign-in page; next is where to go after it.
func LoginURL(next string) string { return withQuery("/login", "next", next) }

// LogoutURL ends the session (POST).
func LogoutURL() string { return "/logout" }

// UsersURL is the admin's user list.
func UsersURL() string { return "/users" }

// UserURL is one user's page.
func UserURL(id models.ID) string { return "/users/" + id.String() }

// UserTokensURL creates an API token for a user (POST).
func UserTokensURL(id models.ID) string { return UserURL(id) + "/tokens" }

// TokenRevokeURL revokes an API token (POST).
func TokenRevokeURL(id models.ID) string { return "/tokens/" + id.String() + "/revoke" }

// AuditURL is the audit log, optionally filtered by target.
func AuditURL(target string) string { return withQuery("/audit", "target", target) }

// TaskDraftURL is the create form's draft id at step (1 or 2).
func TaskDraftURL(id string, step int) string {
	u := TaskNewURL() + "?draft=" + url.QueryEscape(id)
	if step == 2 {
		u += "&step=2"
	}
	return u
}

// FirmwareSearchURL is the create form's search of uploaded firmware.
func FirmwareSearchURL() string { return "/console/firmware" }

// TaskDraftSaveURL keeps the create form's values in its draft as they are
// typed.
func TaskDraftSaveURL() string { return TaskNewURL() + "/draft" }
