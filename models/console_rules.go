package models

// CancelBlocked says why task cannot be cancelled now, or "" when it can
// (the console disables the button with this reason; CancelTask enforces
// the same rule with a conditional write).
func CancelBlocked(t *Task) string {
	if t.Finished() {
		return "the task is " + t.Status + "; only a scheduled or processing task can be cancelled"
	}
	return ""
}

// RerunBlocked says why task cannot be rerun now, or "" when it can: a
// rerun is for a completed or timed-out task with failed or timed-out
// sub-tasks (RerunTask enforces it).
func RerunBlocked(t *Task, s *Statistics) string {
	switch {
	case t.Status != TaskCompleted && t.Status != TaskTimedOut:
		if !t.Finished() {
			return "the task is still running; rerun once it has finished"
		}
		return "the task is " + t.Status + "; rerun is for completed or timed-out tasks"
	case s != nil && s.Failed+s.TimedOut == 0:
		return "no sub-task failed or timed out"
	}
	return ""
}

// ConfigEditable reports whether a task's rollout rate and timeout can
// still change (PatchTask enforces it).
func ConfigEditable(t *Task) bool { return !t.Finished() }
