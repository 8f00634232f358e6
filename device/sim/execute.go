package sim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"fleettasks/device"
	"fleettasks/protocol"
)

// execute runs one sub-task with the device's behaviour and returns the
// status it left it in: a final one, IN_PROGRESS when hanging on purpose,
// or "" when it stopped early (cancelled, or an update failed: a later
// $list may hand it back).
func (w *worker) execute(ctx context.Context, e entry) string {
	st := &w.sim.stats
	switch w.behaviour {
	case Reject:
		if w.report(ctx, e.id, "REJECTED") {
			st.rejected.Add(1)
			return "REJECTED"
		}
		return ""
	case Hang:
		if w.report(ctx, e.id, "IN_PROGRESS", device.WithProgress(0)) {
			st.hanging.Add(1)
			return "IN_PROGRESS"
		}
		return ""
	case Fail:
		if !w.report(ctx, e.id, "IN_PROGRESS", device.WithProgress(0)) || !w.work(ctx) {
			return ""
		}
		if w.report(ctx, e.id, "FAILED", device.WithDetails(map[string]string{"reason": "simulated failure"})) {
			st.failed.Add(1)
			return "FAILED"
		}
		return ""
	}
	if !w.report(ctx, e.id, "IN_PROGRESS", device.WithProgress(0)) {
		return ""
	}
	if err := w.download(ctx, e); err != nil {
		if ctx.Err() != nil {
			return ""
		}
		st.errors.Add(1)
		w.sim.log.Warn("download failed", "device", w.dn, "task", e.id, "err", err)
		if w.report(ctx, e.id, "FAILED", device.WithDetails(map[string]string{"reason": "download: " + err.Error()})) {
			st.failed.Add(1)
			return "FAILED"
		}
		return ""
	}
	if !w.report(ctx, e.id, "IN_PROGRESS", device.WithProgress(50)) || !w.work(ctx) {
		return ""
	}
	if w.report(ctx, e.id, "SUCCEEDED", device.WithProgress(100), device.WithDetails(map[string]string{"result": "ok"})) {
		st.succeeded.Add(1)
		return "SUCCEEDED"
	}
	return ""
}

// work waits the configured work time; false when stopped.
func (w *worker) work(ctx context.Context) bool {
	t := time.NewTimer(w.sim.cfg.Work)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// report sends an update, trying again (with a new request) after 429 and
// 500 and when no reply came; it counts conflicts and errors. False means
// stop working on the sub-task.
func (w *worker) report(ctx context.Context, id, status string, opts ...device.UpdateOption) bool {
	for attempt := 1; ; attempt++ {
		_, err := w.c.Update(ctx, id, status, opts...)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		var re *device.ReplyError
		switch {
		case errors.As(err, &re) && re.Code == protocol.CodeConflict:
			w.sim.stats.conflicts.Add(1)
			w.sim.log.Debug("update refused: stopping", "device", w.dn, "task", id, "err", err)
			return false
		case attempt < 3 && (errors.Is(err, device.ErrNoReply) || errors.As(err, &re) &&
			(re.Code == protocol.CodeTooMany || re.Code == protocol.CodeServerError)):
			if !sleep(ctx, time.Duration(attempt)*time.Second) {
				return false
			}
		default:
			w.sim.stats.errors.Add(1)
			w.sim.log.Warn("update failed", "device", w.dn, "task", id, "err", err)
			return false
		}
	}
}

// download fetches and verifies the sub-task's file, if it has one, and
// deletes it again. The notify's URL is used first; a retry asks for the
// sub-task again, which brings a fresh URL.
func (w *worker) download(ctx context.Context, e entry) error {
	path := filepath.Join(w.sim.cfg.DownloadDir, w.dn+"-"+e.id)
	defer os.Remove(path)
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var job *device.Job
		if e.task != nil && attempt == 1 {
			job, err = device.Notify{Task: *e.task}.Job()
		} else {
			job, err = w.c.Get(ctx, e.id)
		}
		if err == nil && job.File == nil {
			return nil
		}
		if err == nil {
			if err = w.c.Download(ctx, job, path); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil || !sleep(ctx, time.Duration(attempt-1)*time.Second) {
			return ctx.Err()
		}
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
