package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// FileTask is a task that uses a file: as its rule file (Use "rule") or
// as the file issued to its devices (Use "firmware").
type FileTask struct {
	TaskID ID
	Name   string
	Status TaskStatus
	Use    string
}

// Unfinished reports whether the task may still send the file.
func (t FileTask) Unfinished() bool {
	return slices.Contains(Running, t.Status)
}

// FileUsage is the tasks (not deleted) that use one file, newest first:
// at most the limit asked for, and how many there are in all.
type FileUsage struct {
	Tasks []FileTask
	Total int
}

// UsageOf returns, in one query, the tasks using each of the files ids,
// at most limit per file, newest first. Files no task uses are absent.
func (f *Files) UsageOf(ctx context.Context, ids []ID, limit int) (map[ID]*FileUsage, error) {
	out := make(map[ID]*FileUsage, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := f.db.Pool.Query(ctx, `SELECT f.id, t.id, t.name, t.status,
			CASE WHEN t.rule_file_id = f.id THEN 'rule' ELSE 'firmware' END, t.total
		FROM unnest($1::bigint[]) AS f(id)
		CROSS JOIN LATERAL (
			SELECT id, name, status, rule_file_id, count(*) OVER () AS total FROM tasks
			WHERE deleted_at IS NULL AND (rule_file_id = f.id OR job_file_id = f.id)
			ORDER BY id DESC LIMIT $2
		) t
		ORDER BY f.id, t.id DESC`, ids, limit)
	if err != nil {
		return nil, fmt.Errorf("models: tasks using files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var fileID ID
		var t FileTask
		var total int
		if err := rows.Scan(&fileID, &t.TaskID, &t.Name, &t.Status, &t.Use, &total); err != nil {
			return nil, fmt.Errorf("models: tasks using files: %w", err)
		}
		u := out[fileID]
		if u == nil {
			u = &FileUsage{Total: total}
			out[fileID] = u
		}
		u.Tasks = append(u.Tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: tasks using files: %w", err)
	}
	return out, nil
}

// Delete removes file id from the library: the row and the stored bytes.
// It is refused (conflict) while a task that is not finished — SCHEDULED
// or IN_PROGRESS, and not deleted — or a template uses the file. Finished and deleted
// tasks keep their copied job document; their reference to the file is
// cleared in the same transaction (the foreign keys are ON DELETE
// RESTRICT). The file row is locked first, so a task created meanwhile
// either is seen here or fails its own foreign-key check.
func (f *Files) Delete(ctx context.Context, id ID) error {
	var file File
	err := pgx.BeginFunc(ctx, f.db.Pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT name, storage_name FROM files WHERE id = $1 FOR UPDATE`, id).
			Scan(&file.Name, &file.StorageName)
		if errors.Is(err, pgx.ErrNoRows) {
			return NotFound("file %s not found", id)
		} else if err != nil {
			return err
		}
		users, err := lockFileUsers(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return fileInUse(id, file.Name, users)
		}
		if err := templatesUsing(ctx, tx, id, file.Name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tasks SET rule_file_id = NULL WHERE rule_file_id = $1`, id); err != nil {
			return err
		}
		// the finished tasks that ran with it keep saying which file it was
		if _, err := tx.Exec(ctx, `UPDATE tasks SET job_file_id = NULL,
			job_file = jsonb_set(coalesce(job_file, '{}'), '{deletedAt}', to_jsonb(now())) WHERE job_file_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM files WHERE id = $1`, id)
		return err
	})
	if err != nil {
		if _, ok := AsError(err); ok {
			return err
		}
		return fmt.Errorf("models: delete file %s: %w", id, err)
	}
	if err := os.Remove(f.storagePath(file.StorageName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("models: file %s deleted, but its content could not be removed: %w", id, err)
	}
	return nil
}

// lockFileUsers locks every task referencing file id (so that none is
// rerun meanwhile) and returns those that are not finished.
func lockFileUsers(ctx context.Context, tx pgx.Tx, id ID) ([]FileTask, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, status, deleted_at IS NULL FROM tasks
		WHERE rule_file_id = $1 OR job_file_id = $1 ORDER BY id FOR UPDATE`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var unfinished []FileTask
	for rows.Next() {
		var t FileTask
		var live bool
		if err := rows.Scan(&t.TaskID, &t.Name, &t.Status, &live); err != nil {
			return nil, err
		}
		if live && t.Unfinished() {
			unfinished = append(unfinished, t)
		}
	}
	return unfinished, rows.Err()
}

// fileInUse is the conflict naming (up to three of) the unfinished tasks.
func fileInUse(id ID, name string, users []FileTask) *Error {
	names := make([]string, 0, 3)
	for _, t := range users[:min(3, len(users))] {
		names = append(names, fmt.Sprintf("“%s” (task %s, %s)", t.Name, t.TaskID, t.Status))
	}
	more := ""
	if len(users) > 3 {
		more = fmt.Sprintf(" and %d more", len(users)-3)
	}
	return Conflict("file “%s” (%s) cannot be deleted: it is used by the unfinished task%s %s%s; "+
		"delete it once the task is finished, cancelled or deleted",
		name, id, plural(len(users)), strings.Join(names, ", "), more)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
