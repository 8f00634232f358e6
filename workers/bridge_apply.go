package workers

import (
	"context"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"fleettasks/models"
	"fleettasks/protocol"
)

// apply runs the updates of the batch in one transaction, the gets
// concurrently, and records notify_reply deliveries. A batch that fails
// for its data is applied again one update at a time, so that only the
// faulty update is answered with an error.
func (b *Bridge) apply(ctx context.Context, reqs []*request) {
	var updates []*request
	var gets []*request
	var acks []models.Delivery
	for _, r := range reqs {
		switch {
		case !r.live():
		case r.kind == protocol.KindNotifyReply:
			if r.id != "" {
				n, _ := strconv.ParseInt(r.id, 10, 64)
				acks = append(acks, models.Delivery{DeviceID: r.device, NotifyID: n})
			}
			ingested.WithLabelValues(r.kind, "ok").Inc()
		case r.req == nil || r.code != 0 || r.replay || r.twin != nil:
		case r.kind == protocol.KindUpdate:
			updates = append(updates, r)
		case r.kind == protocol.KindGet:
			gets = append(gets, r)
		}
	}
	if len(acks) > 0 {
		b.mu.Lock()
		b.acks = append(b.acks, acks...)
		b.mu.Unlock()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, r := range gets {
		g.Go(func() error {
			b.get(gctx, r)
			return nil
		})
	}
	if len(updates) > 0 {
		err := b.applyUpdates(ctx, updates)
		switch {
		case err == nil:
		case models.Transient(err):
			b.log.Error("apply device updates; they are held", "updates", len(updates), "err", err)
			for _, r := range updates {
				r.held = true
			}
		default:
			b.log.Error("apply device updates; applying them one by one", "updates", len(updates), "err", err)
			b.applyOneByOne(ctx, updates)
		}
	}
	g.Wait()
}

// applyUpdates applies updates in one transaction and sets their replies.
func (b *Bridge) applyUpdates(ctx context.Context, updates []*request) error {
	ups := make([]models.DeviceUpdate, len(updates))
	for i, r := range updates {
		p := r.update
		ups[i] = models.DeviceUpdate{DeviceID: r.device, TaskID: p.TaskID, Status: models.SubStatus(p.Status), Progress: p.Progress, Details: p.StatusDetails}
	}
	results, err := b.tasks.ApplyUpdates(ctx, ups)
	if err != nil {
		return err
	}
	for i, r := range updates {
		res := results[i]
		r.code, r.message = res.Code, res.Message
		r.data = protocol.UpdateData{TaskID: ups[i].TaskID, Status: string(res.Status)}
	}
	return nil
}

// applyOneByOne applies updates each in its own transaction, in order.
// At the first transient fault, that update and the rest are held, so that
// one device's updates are never applied out of order.
func (b *Bridge) applyOneByOne(ctx context.Context, updates []*request) {
	for i, r := range updates {
		err := b.applyUpdates(ctx, updates[i:i+1])
		switch {
		case err == nil:
		case models.Transient(err):
			for _, rest := range updates[i:] {
				rest.held = true
			}
			return
		case models.DataError(err):
			b.log.Warn("device update refused by the database", "topic", r.msg.Topic(), "err", err)
			r.fail(protocol.CodeBadRequest, "params has a value that cannot be stored")
		default:
			b.serverFault(r, err)
		}
	}
}

// get answers one get request; it is a read, answered afresh every time.
func (b *Bridge) get(ctx context.Context, r *request) {
	p, perr := protocol.ParseGet(r.req.Params)
	if perr != nil {
		r.fail(perr.Code, perr.Message)
		return
	}
	now := b.now()
	var err error
	switch p.TaskID {
	case protocol.List:
		var list []models.Executable
		if list, err = b.tasks.ListExecutable(ctx, r.device, protocol.MaxListed); err == nil {
			items := make([]protocol.ListItem, len(list))
			for i, e := range list {
				items[i] = protocol.ListItem{TaskID: e.ID.String(), Status: string(e.Status)}
			}
			r.code, r.data = protocol.CodeOK, protocol.ListData{TaskID: protocol.List, Task: items, Tasks: items}
		}
	case protocol.Next:
		var e *models.Executable
		if e, err = b.tasks.NextExecutable(ctx, r.device); err == nil {
			r.code, r.data = protocol.CodeOK, b.detail(r.ref, protocol.Next, e, now)
			if e != nil {
				r.subtask = &e.ID
			}
		}
	default:
		var e *models.Executable
		if e, err = b.tasks.DeviceSubtask(ctx, r.device, p.TaskID); err == nil {
			r.code, r.data = protocol.CodeOK, b.detail(r.ref, p.TaskID, e, now)
			if e == nil {
				r.code, r.message = protocol.CodeNotFound, "no such task for this device"
			} else {
				r.subtask = &e.ID
			}
		}
	}
	switch {
	case err == nil:
	case models.Transient(err):
		r.held = true
	default:
		b.serverFault(r, err)
	}
}

// detail is the data of a get reply to device dev for e (nil: none).
func (b *Bridge) detail(dev models.DeviceRef, asked string, e *models.Executable, now time.Time) protocol.DetailData {
	d := protocol.DetailData{TaskID: asked}
	if e == nil {
		return d
	}
	t := b.pub.wireTask(e.ID, e.Status, e.Document, e.File, dev, now)
	if e.Progress > 0 {
		p := e.Progress
		t.Progress = &p
	}
	d.Task, d.StatusDetails = &t, protocol.UserJSON(e.StatusDetails)
	return d
}

func (b *Bridge) serverFault(r *request, err error) {
	b.log.Error("device request failed", "topic", r.msg.Topic(), "err", err)
	r.fail(protocol.CodeServerError, "server fault; retry with the same id")
}
