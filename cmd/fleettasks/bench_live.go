package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// liveStreams and liveWindow are (g)'s live-page load: that many task
// pages open on their streams, measured over that long.
const (
	liveStreams = 100
	liveWindow  = 30 * time.Second
)

// livePages measures (g)'s live pages: (i) the server time of one live
// update of the 1,000,000-sub-task task's page (in-process, like the
// pages), target ≤ 50 ms; (ii) the CPU a `fleettasks web` process spends
// with 100 task pages open on their streams, as a share of one core
// (target ≤ 5 % while nothing changes), against the same process with no
// stream in the same run, and while every watched task changes every
// second.
func (b *benchRun) livePages(ctx context.Context, app *fiber.App, session string, million models.ID) error {
	var took []time.Duration
	path := "/tasks/" + million.String() + "/live"
	for r := 0; r < 2*b.runs+1; r++ {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("HX-Request", "true")
		req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: session})
		start := time.Now()
		resp, err := app.Test(req, 60_000)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: status %d", path, resp.StatusCode)
		}
	}
	var small []models.ID
	rows, err := b.db.Pool.Query(ctx, `SELECT id FROM tasks WHERE name LIKE 'small-%' AND status = 'IN_PROGRESS' ORDER BY id LIMIT $1`, liveStreams)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id models.ID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		small = append(small, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var poll []time.Duration
	for r := 0; r < 2*b.runs+1; r++ {
		start := time.Now()
		if _, err := b.tasks.TaskVersions(ctx, append(small, million)); err != nil {
			return err
		}
		poll = append(poll, time.Since(start))
	}
	fmt.Println("(g) live pages (server-sent events):")
	fmt.Printf("    %-62s %8s  (target ≤ 50 ms)\n", "one live update of the 1,000,000-sub-task task's page", ms(median(took)))
	fmt.Printf("    %-62s %8s\n", fmt.Sprintf("the poller's one query: versions of %d watched tasks", len(small)+1), ms(median(poll)))

	var base, idle, moving, millionMoving []float64
	for r := 0; r < b.runs; r++ {
		x, err := b.liveLoad(ctx, session, small, million)
		if err != nil {
			return err
		}
		base, idle, moving, millionMoving = append(base, x[0]), append(idle, x[1]), append(moving, x[2]), append(millionMoving, x[3])
		fmt.Printf("      run %d: no stream %.2f %%, %d idle streams %.2f %%, every task changing each second %.2f %%, %d streams on the 1,000,000-sub-task task changing each second %.2f %%\n",
			r+1, x[0], len(small), x[1], x[2], len(small), x[3])
	}
	fmt.Printf("    %-62s %7.2f %%  (raw baseline, no stream: %.2f %%; target ≤ 5 %%)\n",
		fmt.Sprintf("CPU of `web`, %d task pages open, nothing changing", len(small)), medianF(idle), medianF(base))
	fmt.Printf("    %-62s %7.2f %%\n", "the same, every watched task changing each second", medianF(moving))
	fmt.Printf("    %-62s %7.2f %%\n", fmt.Sprintf("%d pages of the 1,000,000-sub-task task, a sub-task changing each second", len(small)), medianF(millionMoving))
	return nil
}

// liveLoad runs one `fleettasks web` process and returns its CPU, in % of
// one core over liveWindow each: with no stream; with a stream open on
// each of tasks and nothing changing; the same with every task changing
// each second; and as many streams on the million task with one of its
// sub-tasks changing each second.
func (b *benchRun) liveLoad(ctx context.Context, session string, tasks []models.ID, million models.ID) ([4]float64, error) {
	var out [4]float64
	srv, err := b.startCommand(ctx, "web")
	if err != nil {
		return out, err
	}
	defer stopServer(srv)
	pid := srv.Process.Pid
	time.Sleep(2 * time.Second) // past the start
	if out[0], err = cpuShare(pid, liveWindow, nil); err != nil {
		return out, err
	}
	paths := make([]string, len(tasks))
	for i, id := range tasks {
		paths[i] = "/tasks/" + id.String() + "/events"
	}
	touchTasks := func() error {
		_, err := b.db.Pool.Exec(ctx, `UPDATE tasks SET updated_at = now() WHERE id = ANY($1)`, tasks)
		return err
	}
	streams, err := b.openStreams(ctx, session, paths)
	if err != nil {
		return out, err
	}
	if out[1], err = cpuShare(pid, liveWindow, nil); err != nil {
		streams.close()
		return out, err
	}
	before := streams.events.Load()
	if out[2], err = cpuShare(pid, liveWindow, touchTasks); err != nil {
		streams.close()
		return out, err
	}
	if got := streams.events.Load() - before; got < int64(len(tasks)) {
		streams.close()
		return out, fmt.Errorf("live pages: %d updates for %d streams of changing tasks", got, len(tasks))
	}
	streams.close()

	for i := range paths {
		paths[i] = "/tasks/" + million.String() + "/events"
	}
	touchSubtask := func() error {
		_, err := b.db.Pool.Exec(ctx, `UPDATE subtasks SET progress = (progress + 1) % 100
			WHERE task_id = $1 AND id = (SELECT min(id) FROM subtasks WHERE task_id = $1)`, million)
		return err
	}
	if streams, err = b.openStreams(ctx, session, paths); err != nil {
		return out, err
	}
	defer streams.close()
	out[3], err = cpuShare(pid, liveWindow, touchSubtask)
	return out, err
}

// liveClients are open streams read to their end.
type liveClients struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events atomic.Int64 // update events received
}

func (l *liveClients) close() {
	l.cancel()
	l.wg.Wait()
}

// openStreams opens a stream on each path of the bench's web process,
// signed in with session, and waits until each has sent its first update.
func (b *benchRun) openStreams(ctx context.Context, session string, paths []string) (*liveClients, error) {
	ctx, cancel := context.WithCancel(ctx)
	l := &liveClients{cancel: cancel}
	first := make(chan error, len(paths))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(paths)}}
	for _, p := range paths {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.cfg.HTTPAddr+p, nil)
		if err != nil {
			cancel()
			return nil, err
		}
		req.AddCookie(&http.Cookie{Name: "fleettasks_session", Value: session})
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			resp, err := client.Do(req)
			if err != nil {
				first <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				first <- fmt.Errorf("%s: %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
				return
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			n := 0
			for sc.Scan() {
				if sc.Text() == "event: update" {
					if n++; n == 1 {
						first <- nil
					}
					l.events.Add(1)
				}
			}
			if n == 0 {
				first <- fmt.Errorf("%s: the stream ended without an update", p)
			}
		}()
	}
	for range paths {
		if err := <-first; err != nil {
			l.close()
			return nil, err
		}
	}
	return l, nil
}

// cpuShare is the CPU (user and system) process pid spends over window,
// in % of one core; every second meanwhile it runs tick when set.
func cpuShare(pid int, window time.Duration, tick func() error) (float64, error) {
	start, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	for time.Since(t0) < window {
		time.Sleep(time.Second)
		if tick != nil {
			if err := tick(); err != nil {
				return 0, err
			}
		}
	}
	end, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	// /proc counts in clock ticks of 1/100 s (USER_HZ)
	return float64(end-start) / 100 / time.Since(t0).Seconds() * 100, nil
}

// cpuTicks reads utime + stime of process pid from /proc/pid/stat.
func cpuTicks(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// the fields after the command name, which is in parentheses
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return utime + stime, nil
}
