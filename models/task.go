package models

import (
	"slices"
	"time"
)

// Tasks is the service for tasks and sub-tasks: every business rule of
// creating, changing, cancelling, rerunning and deleting them.
type Tasks struct {
	db    *DB
	files *Files
	now   func() time.Time
	// timeoutUnit is what one "minute" of inProgressTimeoutMinutes lasts:
	// a minute, shorter in tests.
	timeoutUnit time.Duration
}

// TasksOption configures a Tasks.
type TasksOption func(*Tasks)

// WithTaskClock replaces time.Now as the task service's clock (tests).
func WithTaskClock(now func() time.Time) TasksOption {
	return func(t *Tasks) { t.now = now }
}

// WithTimeoutUnit is what one minute of a task's in-progress timeout
// lasts; a minute unless given (tests shorten it).
func WithTimeoutUnit(d time.Duration) TasksOption {
	return func(t *Tasks) { t.timeoutUnit = d }
}

// NewTasks returns the task service.
func NewTasks(db *DB, files *Files, opts ...TasksOption) *Tasks {
	t := &Tasks{db: db, files: files, now: time.Now, timeoutUnit: time.Minute}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Task is what an operator creates: one job document for many devices.
type Task struct {
	ID          ID         `json:"id" gorm:"primaryKey"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Description string     `json:"description"`
	Status      TaskStatus `json:"status"`
	Target      Target     `json:"target" gorm:"embedded;embeddedPrefix:target_"`
	DeviceCount int        `json:"-"`
	JobDocument RawJSON    `json:"jobDocument"`
	RuleFileID  *ID        `json:"ruleFileId"`
	JobFileID   *ID        `json:"-"`
	SignMethod  *string    `json:"-"`
	JobFile     *JobFile   `json:"jobFile" gorm:"-"`
	// JobFileKept is the task file as it was when the task was created
	// (shown once the file is deleted)
	JobFileKept              *JobFile   `json:"-" gorm:"column:job_file;serializer:json"`
	RolloutPerMinute         int        `json:"rolloutPerMinute"`
	QoS                      int        `json:"qos" gorm:"column:qos"`
	InProgressTimeoutMinutes *int       `json:"inProgressTimeoutMinutes"`
	ScheduledAt              *time.Time `json:"scheduledAt"`
	CreatedAt                time.Time  `json:"createdAt"`
	UpdatedAt                time.Time  `json:"updatedAt"`
	StartedAt                *time.Time `json:"startedAt"`
	FinishedAt               *time.Time `json:"finishedAt"`
	ExpiresAt                *time.Time `json:"expiresAt"`
	// RolloutLagSeconds is how far the rollout has fallen behind its rate
	// in all: sends that came more than a second late because the broker
	// or the database could not keep up. 0 while the task keeps its rate.
	RolloutLagSeconds float64 `json:"rolloutLagSeconds"`
	// Preparing is true while the sub-tasks of a large product's task are
	// still being created (within seconds of its creation): the statistics
	// do not count them all yet.
	Preparing bool `json:"preparing" gorm:"->"`
	// Policy is the task's rollout policy, nil without one.
	Policy *Policy `json:"policy" gorm:"serializer:json"`
	// Rollout is where the rollout stands (GetTask fills it; lists do not).
	Rollout      *Rollout   `json:"rollout,omitempty" gorm:"-"`
	RolloutWave  int        `json:"-"`
	ApprovedWave int        `json:"-"`
	PausedAt     *time.Time `json:"-"`
	Tripped      *Tripped   `json:"-" gorm:"serializer:json"`
}

// Target is who a task is for.
type Target struct {
	Type        string  `json:"type"`
	ProductKey  *string `json:"productKey,omitempty"`
	GroupID     *ID     `json:"groupId,omitempty"`
	DeviceCount int     `json:"deviceCount" gorm:"-"`
}

// JobFile is the file sent with a task, as the task shows it.
type JobFile struct {
	FileID     ID     `json:"fileId"`
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	SignMethod string `json:"signMethod"`
	Sign       string `json:"sign"`
	// DeletedAt is when the file was deleted; the task still says which
	// file it ran with (absent while the file exists)
	DeletedAt *time.Time `json:"deletedAt,omitempty"`
}

// Finished reports whether the task has reached an end state.
func (t *Task) Finished() bool {
	return !slices.Contains(Running, t.Status)
}

// Task-level limits (docs/api.md).
const (
	MaxTaskDevices        = 100_000
	DefaultRolloutPerMin  = 1000
	MaxRolloutPerMin      = 100_000
	MaxTimeoutMinutes     = 10_080
	MaxScheduleAhead      = 30 * 24 * time.Hour
	TaskExpiry            = 7 * 24 * time.Hour
	MaxTaskNameLen        = 128
	MaxTaskDescriptionLen = 1000
)
