package models

import "slices"

// Sub-task statuses (docs/protocol.md, "Sub-task states").
const (
	SubQueued     = "QUEUED"
	SubSent       = "SENT"
	SubInProgress = "IN_PROGRESS"
	SubSucceeded  = "SUCCEEDED"
	SubFailed     = "FAILED"
	SubRejected   = "REJECTED"
	SubTimedOut   = "TIMED_OUT"
	SubCancelled  = "CANCELLED"
	SubRemoved    = "REMOVED"
)

// SubtaskStatuses lists every sub-task status in display order.
var SubtaskStatuses = []string{SubQueued, SubSent, SubInProgress, SubSucceeded, SubFailed, SubRejected, SubTimedOut, SubCancelled, SubRemoved}

// Task statuses (docs/api.md, "Task states").
const (
	TaskScheduled  = "SCHEDULED"
	TaskInProgress = "IN_PROGRESS"
	TaskCompleted  = "COMPLETED"
	TaskCancelled  = "CANCELLED"
	TaskTimedOut   = "TIMED_OUT"
)

// TaskStatuses lists every task status.
var TaskStatuses = []string{TaskScheduled, TaskInProgress, TaskCompleted, TaskCancelled, TaskTimedOut}

// deviceTransitions says, for each status a device may report, the statuses
// it may come from. Every transition is applied as one conditional UPDATE
// with this list in its WHERE clause.
var deviceTransitions = map[string][]string{
	SubInProgress: {SubSent, SubInProgress},
	SubSucceeded:  {SubSent, SubInProgress},
	SubFailed:     {SubSent, SubInProgress},
	SubRejected:   {SubSent},
}

// DeviceSettable reports whether a device may report status.
func DeviceSettable(status string) bool {
	_, ok := deviceTransitions[status]
	return ok
}

// DeviceFrom lists the statuses from which a device may move a sub-task to status.
func DeviceFrom(status string) []string { return deviceTransitions[status] }

// Terminal reports whether a sub-task in status is finished for good
// (until a rerun re-queues FAILED and TIMED_OUT ones).
func Terminal(status string) bool {
	switch status {
	case SubSucceeded, SubFailed, SubRejected, SubTimedOut, SubCancelled, SubRemoved:
		return true
	}
	return false
}

// Unfinished are the sub-task statuses a cancel or delete still acts on.
var Unfinished = []string{SubQueued, SubSent, SubInProgress}

// Rerunnable are the sub-task statuses a rerun puts back in the queue.
var Rerunnable = []string{SubFailed, SubTimedOut}

// ValidSubtaskStatus reports whether s names a sub-task status.
func ValidSubtaskStatus(s string) bool { return slices.Contains(SubtaskStatuses, s) }

// ValidTaskStatus reports whether s names a task status.
func ValidTaskStatus(s string) bool { return slices.Contains(TaskStatuses, s) }
