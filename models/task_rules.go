package models

import "context"

// The rules of what may happen to a task in its current state. Each is one
// predicate, returning nil or the conflict the service refuses with: the
// service (CancelTask, RerunTask, PatchTask) enforces it, and the console
// disables a button with the error's message as the reason.

// CanCancel says whether the task can be cancelled: only while it is
// scheduled or running.
func (t *Task) CanCancel() error {
	if t.Finished() {
		return Conflict("task %s is %s; only a scheduled or processing task can be cancelled", t.ID, t.Status)
	}
	return nil
}

// CanRerun says whether the task can be rerun, given how many of its
// sub-tasks a rerun would queue again (Statistics.Rerunnable): a rerun is
// for a completed or timed-out task whose task file, if it had one, still
// exists, and which has failed or timed-out sub-tasks.
func (t *Task) CanRerun(rerunnable int64) error {
	switch {
	case t.Status == TaskScheduled:
		return Conflict("task %s has not started yet; rerun is for completed or timed-out tasks", t.ID)
	case !t.Finished():
		return Conflict("task %s is still running; rerun is for completed or timed-out tasks", t.ID)
	case t.Status != TaskCompleted && t.Status != TaskTimedOut:
		return Conflict("task %s is %s; rerun is for completed or timed-out tasks", t.ID, t.Status)
	case t.fileGone():
		return Conflict("the task file of task %s has been deleted, so its devices could not download it; create a new task", t.ID)
	case rerunnable == 0:
		return Conflict("task %s has no failed or timed-out sub-tasks to rerun", t.ID)
	}
	return nil
}

// CanChangeConfig says whether the task's rollout rate and timeout can
// still change: only while it is scheduled or running. (Its description
// can always change.)
func (t *Task) CanChangeConfig() error {
	if t.Finished() {
		return Conflict("task %s is %s; only a scheduled or running task's configuration can change", t.ID, t.Status)
	}
	return nil
}

// fileGone reports whether the task was created with a task file that has
// since been deleted.
func (t *Task) fileGone() bool { return t.SignMethod != nil && t.JobFileID == nil }

// refused is the error of an action on task id whose conditional write
// changed nothing: not found, or the conflict rule returns for the task as
// it is now.
func (t *Tasks) refused(ctx context.Context, id ID, rule func(*Task) error) error {
	task, err := t.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if err := rule(task); err != nil {
		return err
	}
	return Conflict("task %s changed meanwhile; try again", id)
}
