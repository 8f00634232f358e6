package models

import "time"

// Subtask is one device's execution of a task. On the wire its id is the
// protocol's taskId.
type Subtask struct {
	ID            ID         `json:"id" gorm:"primaryKey"`
	TaskID        ID         `json:"taskId"`
	TaskName      string     `json:"taskName,omitempty" gorm:"->;-:migration"`
	DeviceID      ID         `json:"-"`
	ProductKey    string     `json:"productKey"`
	DeviceName    string     `json:"deviceName"`
	Status        SubStatus  `json:"status"`
	Progress      int        `json:"progress"`
	StatusDetails RawJSON    `json:"statusDetails"`
	Message       string     `json:"message"`
	Attempt       int        `json:"attempt"`
	QueuedAt      time.Time  `json:"queuedAt"`
	SentAt        *time.Time `json:"sentAt"`
	DeliveredAt   *time.Time `json:"deliveredAt"`
	StartedAt     *time.Time `json:"startedAt"`
	FinishedAt    *time.Time `json:"finishedAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	TimeoutAt     *time.Time `json:"timeoutAt"`
	// Wave is the wave of the task's rollout policy the sub-task is in
	// (1 without waves).
	Wave int `json:"wave"`
}

// Statistics counts a task's sub-tasks by status (docs/api.md).
type Statistics struct {
	Total      int64 `json:"total"`
	Queued     int64 `json:"queued"`
	Sent       int64 `json:"sent"`
	InProgress int64 `json:"inProgress"`
	Succeeded  int64 `json:"succeeded"`
	Failed     int64 `json:"failed"`
	Rejected   int64 `json:"rejected"`
	TimedOut   int64 `json:"timedOut"`
	Cancelled  int64 `json:"cancelled"`
	Removed    int64 `json:"removed"`
}

// Of returns the count of one status.
func (s *Statistics) Of(status SubStatus) int64 { return *s.field(status) }

func (s *Statistics) field(status SubStatus) *int64 {
	switch status {
	case SubQueued:
		return &s.Queued
	case SubSent:
		return &s.Sent
	case SubInProgress:
		return &s.InProgress
	case SubSucceeded:
		return &s.Succeeded
	case SubFailed:
		return &s.Failed
	case SubRejected:
		return &s.Rejected
	case SubTimedOut:
		return &s.TimedOut
	case SubCancelled:
		return &s.Cancelled
	case SubRemoved:
		return &s.Removed
	}
	return new(int64)
}

// Rerunnable is the number of sub-tasks a rerun would queue again.
func (s *Statistics) Rerunnable() int64 { return s.Failed + s.TimedOut }

// Done is the number of sub-tasks in a terminal status.
func (s *Statistics) Done() int64 { return s.Total - s.Queued - s.Sent - s.InProgress }
