package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"fleettasks/handlers"
	"fleettasks/models"
)

// (g) console pages with 10,000 tasks and one of 1,000,000 sub-tasks in
// the database — target ≤ 50 ms server time each. The app is served
// in-process (Fiber's app.Test), so the time is the server's own.
func (b *benchRun) pages(ctx context.Context) error {
	id, err := b.millionTask(ctx)
	if err != nil {
		return err
	}
	if err := b.overviewFigures(ctx, id); err != nil {
		return err
	}
	registry := models.NewRegistry(b.db, models.WithDeviceSecretKey(b.cfg.Secret))
	files := models.NewFiles(b.db, b.cfg.DataDir, b.cfg.Secret, b.cfg.PublicURL)
	acc := models.NewAccounts(b.db)
	app := handlers.New(handlers.Deps{Config: b.cfg, DB: b.db, Registry: registry, Files: files, Tasks: b.tasks,
		Accounts: acc, Audit: models.NewAudit(b.db)})
	// the pages are read as support staff would: signed in, every request
	// checking its session
	const password = "bench-password"
	if _, err := acc.CreateUser(ctx, models.UserInput{Email: "support@bench.example.com", Role: "support", Password: password}); err != nil {
		return err
	}
	session, _, err := acc.Login(ctx, "support@bench.example.com", password, "127.0.0.1")
	if err != nil {
		return err
	}
	var lastID, midID models.ID
	if err := b.db.Pool.QueryRow(ctx, `SELECT max(id), percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM subtasks WHERE task_id = $1`, id).Scan(&lastID, &midID); err != nil {
		return err
	}
	t := "/tasks/" + id.String()
	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"recent failures", "/failures"},
		{"task list", "/tasks"},
		{"task list, status filter, page 100", "/tasks?status=COMPLETED&page=100"},
		{"task list, name search", "/tasks?q=small-99"},
		{"task list, sorted by name", "/tasks?sort=name"},
		{"task list, by start time, page 100", "/tasks?sort=started&order=asc&page=100"},
		{"task list, by status, 100 a page", "/tasks?sort=status&pageSize=100"},
		{"task details", t},
		{"summary fragment", t + "/summary"},
		{"sub-tasks, all, first page", t + "/subtasks"},
		{"sub-tasks, all, middle (keyset)", t + "/subtasks?after=" + midID.String()},
		{"sub-tasks, all, last page (keyset)", t + "/subtasks?after=" + (lastID - 20).String()},
		{"sub-tasks, Failed", t + "/subtasks?status=FAILED"},
		{"sub-tasks, Failed + Timed out, middle", t + "/subtasks?status=FAILED,TIMED_OUT&after=" + midID.String()},
		{"sub-tasks, Queued, middle", t + "/subtasks?status=QUEUED&after=" + midID.String()},
		{"sub-tasks, Cancelled (none)", t + "/subtasks?status=CANCELLED"},
		{"sub-tasks, device-name search", t + "/subtasks?q=d99999"},
		{"sub-tasks, device-name search + Failed", t + "/subtasks?q=d12&status=FAILED"},
	}
	fmt.Println("(g) console pages, 10,000 tasks and one of 1,000,000 sub-tasks (server time, median of runs; target ≤ 50 ms each):")
	for _, p := range pages {
		var took []time.Duration
		var size int64
		for r := 0; r < 2*b.runs+1; r++ {
			req := httptest.NewRequest(http.MethodGet, p.path, nil)
			req.Header.Set("HX-Request", "true")
			req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: session})
			start := time.Now()
			resp, err := app.Test(req, 60_000)
			if err != nil {
				return err
			}
			size, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took = append(took, time.Since(start))
			if resp.StatusCode != 200 {
				return fmt.Errorf("%s: status %d", p.path, resp.StatusCode)
			}
		}
		fmt.Printf("    %-42s %8s  %7d bytes  %s\n", p.name, ms(median(took)), size, p.path)
	}
	return b.livePages(ctx, app, session, id)
}

// overviewFigures gives the overview of (g) a busy week: the million
// task's notifies spread over the last hour, its outcomes over the last
// seven days (through the triggers that keep the overview's rollup) and a
// tenth of its devices online.
func (b *benchRun) overviewFigures(ctx context.Context, id models.ID) error {
	if _, err := b.db.Pool.Exec(ctx, `UPDATE subtasks SET sent_at = now() - (id % 60) * interval '1 minute',
		finished_at = CASE WHEN status IN ('SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT') THEN now() - (id % 10080) * interval '1 minute' END
		WHERE task_id = $1 AND status <> 'QUEUED'`, id); err != nil {
		return err
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE devices SET last_seen = now() WHERE product_key = 'bench-m' AND id % 10 = 0`); err != nil {
		return err
	}
	if _, err := b.db.Pool.Exec(ctx, `VACUUM ANALYZE subtasks, devices, fleet_activity`); err != nil {
		return err
	}
	// the pages are timed after the seed's writes are on disk, not during
	// the checkpoint that they would bring on
	_, err := b.db.Pool.Exec(ctx, `CHECKPOINT`)
	return err
}
