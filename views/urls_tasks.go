package views

import (
	"fleettasks/models"
)

// TaskPageSizes are the page sizes the task list offers; the first is the
// default.
var TaskPageSizes = []int{20, 50, 100}

// TaskListQuery is the state of the task list that its URL keeps: the
// filters, the sort and the page, so that a reload or a shared link opens
// the same list.
type TaskListQuery struct {
	Status     string
	Q          string
	TargetType string
	Sort       models.TaskSort
	Page       int
	PageSize   int
}

// URL is the task list in this state; defaults are left out.
func (q TaskListQuery) URL() string {
	sort, order, page, size := "", "", "", ""
	if c := q.Sort.Column(); c != models.TaskSortCreated {
		sort = c
	}
	if q.Sort.Asc != q.Sort.DefaultAsc() {
		order = q.Sort.Order()
	}
	if q.Page > 1 {
		page = itoa(q.Page)
	}
	if q.PageSize != 0 && q.PageSize != TaskPageSizes[0] {
		size = itoa(q.PageSize)
	}
	return withQuery(TasksURL("", "", 0), "status", q.Status, "q", q.Q, "targetType", q.TargetType,
		"sort", sort, "order", order, "pageSize", size, "page", page)
}

// AtPage is the same list at page n.
func (q TaskListQuery) AtPage(n int) TaskListQuery {
	q.Page = n
	return q
}

// SortedBy is the list sorted by column, from its first page: the other
// direction when it is sorted by column already, else column's natural
// one.
func (q TaskListQuery) SortedBy(column string) TaskListQuery {
	if q.Sort.Column() == column {
		q.Sort.Asc = !q.Sort.Asc
	} else {
		q.Sort = models.TaskSort{By: column}
		q.Sort.Asc = q.Sort.DefaultAsc()
	}
	q.Page = 1
	return q
}

// Filtered reports whether a filter narrows the list.
func (q TaskListQuery) Filtered() bool {
	return q.Status != "" || q.Q != "" || q.TargetType != ""
}

// TaskNewFromURL is the create form filled in from task id's settings
// (Duplicate).
func TaskNewFromURL(id models.ID) string { return withQuery(TaskNewURL(), "duplicate", id.String()) }

// TasksCancelURL cancels the tasks chosen in the list (POST).
func TasksCancelURL() string { return "/tasks/cancel" }
