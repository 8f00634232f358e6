package models

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CreateTask validates in, resolves its target and creates the task with
// one QUEUED sub-task per device in one transaction; for a product of more
// than syncSubtasks devices, the sub-tasks of the first ones, the rest
// following from the workers within seconds (MaterializeStep).
func (t *Tasks) CreateTask(ctx context.Context, in TaskInput) (*Task, error) {
	if in.TemplateID != nil {
		return t.createFromTemplate(ctx, in)
	}
	now := t.now().UTC()
	p, err := in.validate(now)
	if err != nil {
		return nil, err
	}
	if in.RuleFileID != nil {
		p.document, err = t.files.RuleDocument(ctx, *in.RuleFileID)
		if IsNotFound(err) {
			return nil, Unprocessable("ruleFileId", "rule file %s does not exist", *in.RuleFileID)
		} else if err != nil {
			return nil, err
		}
	}
	var kept *JobFile
	if in.JobFile != nil {
		f, err := t.files.Get(ctx, in.JobFile.FileID)
		if IsNotFound(err) {
			return nil, Unprocessable("jobFile.fileId", "file %s does not exist", in.JobFile.FileID)
		} else if err != nil {
			return nil, err
		}
		if f.Kind != "firmware" {
			return nil, Unprocessable("jobFile.fileId", "file %s is a %s file; the task file must be an uploaded firmware/data file", f.ID, f.Kind)
		}
		kept = &JobFile{FileID: f.ID, Name: f.Name, Size: f.Size, SignMethod: p.signMethod, Sign: f.Sign(p.signMethod)}
	}

	status, startedAt, expiresAt := TaskInProgress, &now, ptr(now.Add(TaskExpiry))
	if in.ScheduledAt != nil {
		status, startedAt, expiresAt = TaskScheduled, nil, nil
	}
	if p.policy != nil && p.policy.Continuous {
		expiresAt = nil // open until its end time or a cancel
	}
	var productKey *string
	var groupID *ID
	switch p.in.Target.Type {
	case TargetProduct:
		productKey = &p.in.Target.ProductKey
	case TargetGroup:
		groupID = &p.in.Target.GroupID
	}
	var jobFileID *ID
	var signMethod *string
	if in.JobFile != nil {
		jobFileID, signMethod = &in.JobFile.FileID, &p.signMethod
	}

	var id ID
	err = pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO tasks (name, type, description, status, target_type, target_product_key,
			target_group_id, device_count, job_document, rule_file_id, job_file_id, sign_method, rollout_per_minute, qos,
			in_progress_timeout_minutes, scheduled_at, created_at, updated_at, started_at, expires_at, policy, wave_opened_at, job_file)
			VALUES ($1,$2,$3,$4,$5,$6,$7,0,$8,$9,$10,$11,$12,$13,$14,$15,$16,$16,$17,$18,$19,$17,$20) RETURNING id`,
			p.in.Name, p.in.Type, in.Description, status, p.in.Target.Type, productKey, groupID, string(p.document),
			in.RuleFileID, jobFileID, signMethod, p.rollout, p.qos, in.InProgressTimeoutMinutes, in.ScheduledAt,
			now, startedAt, expiresAt, p.policy, kept).Scan(&id)
		if err != nil {
			return fmt.Errorf("models: insert task: %w", err)
		}
		if in.Draft != nil {
			if err := completeDraft(ctx, tx, in.Draft, id, p.in.Name, now); err != nil {
				return err
			}
		}
		var n int64
		var single *string
		var cursor, until *int64
		var bounds []int64
		if p.in.Target.Type == TargetProduct {
			n, cursor, until, bounds, err = insertProductSubtasks(ctx, tx, id, p.in.Target.ProductKey, now, p.policy)
		} else {
			n, single, bounds, err = insertSubtasks(ctx, tx, id, p.in.Target, now, p.policy)
		}
		if err != nil {
			return err
		}
		if productKey == nil {
			productKey = single
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET device_count = $2, target_product_key = $3, materialize_cursor = $4, materialize_until = $5,
			wave_bounds = $6 WHERE id = $1`, id, n, productKey, cursor, until, bounds)
		if err != nil {
			return err
		}
		return recordEvent(ctx, tx, id, EventCreated, actorOf(ctx), map[string]any{"target": p.in.Target.Type, "status": status}, now)
	})
	if err != nil {
		return nil, err
	}
	return t.GetTask(ctx, id)
}

// insertSubtasks creates the QUEUED sub-tasks of task id for a group or a
// device list with one set-based INSERT ... SELECT, each in its wave of
// pol (in list order, or group members in registration order), and
// returns how many there are, when they all belong to one product its
// key, and the wave bounds (Policy.waveBounds).
func insertSubtasks(ctx context.Context, tx pgx.Tx, id ID, target TargetInput, now any, pol *Policy) (int64, *string, []int64, error) {
	const insert = `INSERT INTO subtasks (task_id, device_id, product_key, device_name, status, queued_at, updated_at, wave)
		SELECT $1, d.id, d.product_key, d.device_name, 'QUEUED', $2, $2, width_bucket(%s, $3::bigint[]) + 1 `
	switch target.Type {
	case TargetGroup:
		var kind string
		var members int64
		err := tx.QueryRow(ctx, `SELECT kind, (SELECT count(*) FROM group_members WHERE group_id = $1) FROM groups WHERE id = $1`,
			target.GroupID).Scan(&kind, &members)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil, nil, Unprocessable("target.groupId", "group %s does not exist", target.GroupID)
		} else if err != nil {
			return 0, nil, nil, err
		}
		if kind != "static" {
			return 0, nil, nil, Unprocessable("target.groupId", "group %s is a dynamic group; dynamic groups cannot be task targets, choose a static group", target.GroupID)
		}
		bounds := pol.waveBounds(members)
		tag, err := tx.Exec(ctx, fmt.Sprintf(insert, "row_number() OVER (ORDER BY d.id)")+
			`FROM group_members m JOIN devices d ON d.id = m.device_id WHERE m.group_id = $4 ORDER BY d.id`, id, now, bounds, target.GroupID)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("models: insert sub-tasks: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return 0, nil, nil, Unprocessable("target.groupId", "the group has no devices; a task needs at least one")
		}
		return tag.RowsAffected(), nil, bounds, nil
	default:
		pks, dns := make([]string, len(target.Devices)), make([]string, len(target.Devices))
		for i, d := range target.Devices {
			pks[i], dns[i] = d.ProductKey, d.DeviceName
		}
		bounds := pol.waveBounds(int64(len(pks)))
		tag, err := tx.Exec(ctx, fmt.Sprintf(insert, "r.ord")+`FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS r(pk, dn, ord)
			JOIN devices d ON d.product_key = r.pk AND d.device_name = r.dn ORDER BY r.ord`, id, now, bounds, pks, dns)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("models: insert sub-tasks: %w", err)
		}
		if n := tag.RowsAffected(); n != int64(len(target.Devices)) {
			return 0, nil, nil, missingDevices(ctx, tx, pks, dns, int64(len(pks))-n)
		}
		return tag.RowsAffected(), singleProduct(pks), bounds, nil
	}
}

// syncSubtasks is how many sub-tasks of a product target CreateTask makes
// itself; materializeChunk how many one MaterializeStep adds.
const (
	syncSubtasks     = MaxTaskDevices
	materializeChunk = 50_000
)

// insertProductSubtasks creates the QUEUED sub-tasks of task id for the
// devices of product pk, or of its first syncSubtasks devices when it has
// more, each in its wave of pol (in registration order). It returns how
// many devices the target has, when sub-tasks remain to be made the cursor
// (last device id done) and the newest device id of the target (devices
// registered later are not part of it), and the wave bounds.
func insertProductSubtasks(ctx context.Context, tx pgx.Tx, id ID, pk string, now any, pol *Policy) (n int64, cursor, until *int64, bounds []int64, err error) {
	var exists bool
	var newest *int64
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE product_key = $1),
		(SELECT count(*) FROM devices WHERE product_key = $1), (SELECT max(id) FROM devices WHERE product_key = $1)`, pk).
		Scan(&exists, &n, &newest); err != nil {
		return 0, nil, nil, nil, err
	}
	if !exists {
		return 0, nil, nil, nil, Unprocessable("target.productKey", "product %q does not exist", pk)
	}
	if n == 0 {
		return 0, nil, nil, nil, Unprocessable("target.productKey", "the product has no devices; a task needs at least one")
	}
	bounds = pol.waveBounds(n)
	last, _, err := insertChunk(ctx, tx, id, pk, 0, *newest, syncSubtasks, now, 0, bounds)
	if err != nil || n <= syncSubtasks {
		return n, nil, nil, bounds, err
	}
	return n, &last, newest, bounds, nil
}

// insertChunk creates the QUEUED sub-tasks of task id for up to limit
// devices of product pk with ids in (after, until], in id order, the
// first at position made+1 of the target (for its wave, see
// Policy.waveBounds), and returns the last device id done and how many it
// made.
func insertChunk(ctx context.Context, tx pgx.Tx, id ID, pk string, after, until int64, limit int, now any, made int64, bounds []int64) (last, n int64, err error) {
	err = tx.QueryRow(ctx, `WITH made AS (INSERT INTO subtasks (task_id, device_id, product_key, device_name, status, queued_at, updated_at, wave)
			SELECT $1, d.id, d.product_key, d.device_name, 'QUEUED', $2, $2,
				width_bucket($7 + row_number() OVER (ORDER BY d.id), $8::bigint[]) + 1 FROM devices d
			WHERE d.product_key = $3 AND d.id > $4 AND d.id <= $5 ORDER BY d.id LIMIT $6 RETURNING device_id)
		SELECT coalesce(max(device_id), $5), count(*) FROM made`, id, now, pk, after, until, limit, made, bounds).Scan(&last, &n)
	if err != nil {
		return 0, 0, fmt.Errorf("models: insert sub-tasks: %w", err)
	}
	return last, n, nil
}

// missingDevices reports each device of the list that is not registered
// (at most MaxListedErrors of them, then how many more there are), on
// its entry: "not registered: productKey/deviceName".
func missingDevices(ctx context.Context, tx pgx.Tx, pks, dns []string, missing int64) error {
	rows, err := tx.Query(ctx, `SELECT r.ord - 1, r.pk, r.dn FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(pk, dn, ord)
		LEFT JOIN devices d ON d.product_key = r.pk AND d.device_name = r.dn WHERE d.id IS NULL ORDER BY r.ord LIMIT $3`, pks, dns, MaxListedErrors)
	if err != nil {
		return err
	}
	var errs Errors
	for rows.Next() {
		var i int
		var pk, dn string
		if err := rows.Scan(&i, &pk, &dn); err != nil {
			return err
		}
		errs = append(errs, Unprocessable(fmt.Sprintf("target.devices[%d]", i), "not registered: %s/%s", pk, dn))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if missing > int64(len(errs)) {
		errs = append(errs, Unprocessable("target.devices", "%d more listed devices are not registered", missing-int64(len(errs))))
	}
	return errs.err()
}

func singleProduct(pks []string) *string {
	for _, pk := range pks[1:] {
		if pk != pks[0] {
			return nil
		}
	}
	return &pks[0]
}

func ptr[T any](v T) *T { return &v }
