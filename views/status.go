package views

import (
	"strings"

	"fleettasks/models"
)

// statusStyle is the badge and bar colour of each task and sub-task
// status (full class names, so that Tailwind finds them).
var statusStyle = map[string]struct{ Badge, Bar, Label string }{
	string(models.SubQueued):     {"bg-slate-100 text-slate-800", "bg-slate-400", "Queued"},
	string(models.SubSent):       {"bg-sky-100 text-sky-900", "bg-sky-500", "Sent"},
	string(models.SubInProgress): {"bg-blue-100 text-blue-900", "bg-blue-600", "In progress"},
	string(models.SubSucceeded):  {"bg-green-100 text-green-900", "bg-green-600", "Succeeded"},
	string(models.SubFailed):     {"bg-red-100 text-red-900", "bg-red-600", "Failed"},
	string(models.SubRejected):   {"bg-orange-100 text-orange-900", "bg-orange-500", "Rejected"},
	string(models.SubTimedOut):   {"bg-amber-100 text-amber-900", "bg-amber-500", "Timed out"},
	string(models.SubCancelled):  {"bg-zinc-200 text-zinc-800", "bg-zinc-500", "Cancelled"},
	string(models.SubRemoved):    {"bg-zinc-200 text-zinc-800", "bg-zinc-400", "Removed"},
	string(models.TaskScheduled): {"bg-violet-100 text-violet-900", "bg-violet-500", "Scheduled"},
	string(models.TaskCompleted): {"bg-green-100 text-green-900", "bg-green-600", "Completed"},
}

func badgeClass(status string) string {
	if s, ok := statusStyle[status]; ok {
		return s.Badge
	}
	return "bg-slate-100 text-slate-800"
}

func barClass(status string) string { return statusStyle[status].Bar }

// StatusLabel is how a status reads in the console.
func StatusLabel(status string) string {
	if s, ok := statusStyle[status]; ok {
		return s.Label
	}
	return status
}

// subtaskFilters are the filter chips of the sub-task table, in order.
var subtaskFilters = []string{"", string(models.SubQueued), string(models.SubSent), string(models.SubInProgress),
	string(models.SubSucceeded), string(models.SubFailed), string(models.SubTimedOut), string(models.SubRejected),
	string(models.SubCancelled)}

// filterID is the id of a status filter's chip: htmx gives the focus back
// to the element of the same id after it swaps the sub-tasks, so a
// keyboard user stays on the chip they chose.
func filterID(status string) string {
	if status == "" {
		return "subtask-filter-all"
	}
	return "subtask-filter-" + strings.ToLower(status)
}

func filterLabel(status string) string {
	if status == "" {
		return "All"
	}
	return StatusLabel(status)
}
