package models

import (
	"slices"
	"strings"
)

// SubStatus is a sub-task's status (docs/protocol.md, "Sub-task states").
type SubStatus string

// TaskStatus is a task's status (docs/api.md, "Task states").
type TaskStatus string

// Sub-task statuses.
const (
	SubQueued     SubStatus = "QUEUED"
	SubSent       SubStatus = "SENT"
	SubInProgress SubStatus = "IN_PROGRESS"
	SubSucceeded  SubStatus = "SUCCEEDED"
	SubFailed     SubStatus = "FAILED"
	SubRejected   SubStatus = "REJECTED"
	SubTimedOut   SubStatus = "TIMED_OUT"
	SubCancelled  SubStatus = "CANCELLED"
	SubRemoved    SubStatus = "REMOVED"
)

// SubtaskStatuses lists every sub-task status in display order.
var SubtaskStatuses = []SubStatus{SubQueued, SubSent, SubInProgress, SubSucceeded, SubFailed, SubRejected, SubTimedOut, SubCancelled, SubRemoved}

// Task statuses.
const (
	TaskScheduled  TaskStatus = "SCHEDULED"
	TaskInProgress TaskStatus = "IN_PROGRESS"
	TaskCompleted  TaskStatus = "COMPLETED"
	TaskCancelled  TaskStatus = "CANCELLED"
	TaskTimedOut   TaskStatus = "TIMED_OUT"
)

// TaskStatuses lists every task status.
var TaskStatuses = []TaskStatus{TaskScheduled, TaskInProgress, TaskCompleted, TaskCancelled, TaskTimedOut}

// deviceTransitions says, for each status a device may report, the statuses
// it may come from. Every transition is applied as one conditional UPDATE
// with this list in its WHERE clause.
var deviceTransitions = map[SubStatus][]SubStatus{
	SubInProgress: {SubSent, SubInProgress},
	SubSucceeded:  {SubSent, SubInProgress},
	SubFailed:     {SubSent, SubInProgress},
	SubRejected:   {SubSent},
}

// DeviceFrom lists the statuses from which a device may move a sub-task to status.
func DeviceFrom(status SubStatus) []SubStatus { return deviceTransitions[status] }

// Terminal reports whether a sub-task in status is finished for good
// (until a rerun re-queues FAILED and TIMED_OUT ones).
func Terminal(status SubStatus) bool {
	switch status {
	case SubSucceeded, SubFailed, SubRejected, SubTimedOut, SubCancelled, SubRemoved:
		return true
	}
	return false
}

// Running are the task statuses of a task that has not finished: it can
// be cancelled and its configuration changed.
var Running = []TaskStatus{TaskScheduled, TaskInProgress}

// Unfinished are the sub-task statuses a cancel or delete still acts on.
var Unfinished = []SubStatus{SubQueued, SubSent, SubInProgress}

// Rerunnable are the sub-task statuses a rerun puts back in the queue.
var Rerunnable = []SubStatus{SubFailed, SubTimedOut}

// Active are the sub-task statuses a device may still work on.
var Active = []SubStatus{SubSent, SubInProgress}

// sqlList is statuses as the items of an SQL IN list: 'QUEUED', 'SENT'.
func sqlList[S TaskStatus | SubStatus](statuses ...S) string {
	quoted := make([]string, len(statuses))
	for i, s := range statuses {
		quoted[i] = "'" + string(s) + "'"
	}
	return strings.Join(quoted, ", ")
}

// JoinStatuses is statuses separated by sep: "QUEUED, SENT".
func JoinStatuses[S TaskStatus | SubStatus](statuses []S, sep string) string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return strings.Join(names, sep)
}

// ValidSubtaskStatus reports whether s names a sub-task status.
func ValidSubtaskStatus(s string) bool { return slices.Contains(SubtaskStatuses, SubStatus(s)) }

// ValidTaskStatus reports whether s names a task status.
func ValidTaskStatus(s string) bool { return slices.Contains(TaskStatuses, TaskStatus(s)) }
