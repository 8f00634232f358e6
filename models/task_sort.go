package models

import "strings"

// TaskSort is the order of a task list: a column and its direction. The
// zero value is the default, newest first.
type TaskSort struct {
	By  string // TaskSortCreated (or ""), TaskSortName, TaskSortStatus or TaskSortStarted
	Asc bool
}

// The columns a task list sorts by.
const (
	TaskSortCreated = "created"
	TaskSortName    = "name"
	TaskSortStatus  = "status"
	TaskSortStarted = "started"
)

// TaskSorts lists the columns a task list sorts by.
var TaskSorts = []string{TaskSortCreated, TaskSortName, TaskSortStatus, TaskSortStarted}

// ParseTaskSort reads the sort and order parameters of a task list: sort
// one of TaskSorts (created when empty), order asc or desc (when empty,
// the column's natural order: names and statuses A to Z, times newest
// first).
func ParseTaskSort(by, order string) (TaskSort, error) {
	s := TaskSort{By: strings.ToLower(by)}
	switch s.By {
	case "":
		s.By = TaskSortCreated
	case TaskSortCreated, TaskSortName, TaskSortStatus, TaskSortStarted:
	default:
		return TaskSort{}, Invalid("sort", "the list sorts by created, name, status or started, not %q", by)
	}
	switch strings.ToLower(order) {
	case "":
		s.Asc = s.DefaultAsc()
	case "asc":
		s.Asc = true
	case "desc":
		s.Asc = false
	default:
		return TaskSort{}, Invalid("order", "the order is asc or desc, not %q", order)
	}
	return s, nil
}

// Column is the sort's column, created when none is set.
func (s TaskSort) Column() string {
	if s.By == "" {
		return TaskSortCreated
	}
	return s.By
}

// DefaultAsc reports whether the sort's column reads A to Z when no order
// is given: names and statuses do, times are newest first.
func (s TaskSort) DefaultAsc() bool {
	c := s.Column()
	return c == TaskSortName || c == TaskSortStatus
}

// Order is the direction's parameter value, asc or desc.
func (s TaskSort) Order() string {
	if s.Asc {
		return "asc"
	}
	return "desc"
}

// orderSQL is the ORDER BY of the sort, the id breaking ties in the same
// direction so that every order is total and has an index (migration
// 0013): a task not started yet sorts after every started one (NULLs are
// the largest start time).
func (s TaskSort) orderSQL() string {
	dir := " DESC"
	if s.Asc {
		dir = " ASC"
	}
	switch s.Column() {
	case TaskSortName:
		return "lower(name)" + dir + ", id" + dir
	case TaskSortStatus:
		return "status" + dir + ", id" + dir
	case TaskSortStarted:
		return "started_at" + dir + ", id" + dir
	}
	return "id" + dir
}
