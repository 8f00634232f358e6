package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/protocol"
)

// TestMain lets a test run this binary as `fleettasks <command>`: with
// FLEETTASKS_TEST_MAIN="worker" the test binary is the worker process.
func TestMain(m *testing.M) {
	if args := os.Getenv("FLEETTASKS_TEST_MAIN"); args != "" {
		os.Exit(run(strings.Fields(args), os.Getenv, os.Stderr))
	}
	os.Exit(m.Run())
}

// startProcess runs `fleettasks <args>` as a child process with env.
func startProcess(t *testing.T, env []string, args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, "FLEETTASKS_TEST_MAIN="+args)...)
	if os.Getenv("FLEETTASKS_TEST_LOG") != "" {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// workerEnv gives a worker process its own database (migrated, returned
// open), Redis database, share group and client id.
func workerEnv(t *testing.T) ([]string, *models.DB) {
	t.Helper()
	dbURL := testenv.DatabaseURL(t)
	env := []string{
		"FLEETTASKS_DATABASE_URL=" + dbURL,
		"FLEETTASKS_REDIS_URL=" + testenv.RedisDB(t),
		"FLEETTASKS_MQTT_URL=" + testenv.MQTTURL(),
		"FLEETTASKS_DATA_DIR=" + t.TempDir(),
		"FLEETTASKS_MQTT_SHARE_GROUP=g" + testenv.ID(),
		"FLEETTASKS_MQTT_CLIENT_ID=kill-" + testenv.ID(),
	}
	db, err := models.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return env, db
}

// A worker process killed (SIGKILL) mid-rollout and started again: every
// sub-task reaches SENT exactly once, none is lost or stuck, and every
// device got its notify (those the dead worker had committed but not
// published come from the outbox once their lease runs out).
func TestWorkerKilledMidRollout(t *testing.T) {
	t.Parallel()
	// a broker of the test's own, configured as the README recommends: the
	// listener below must not lose notifies to a small default queue
	broker := testenv.NewBroker(t)
	env, db := workerEnv(t)
	env = append(env, "FLEETTASKS_MQTT_URL="+broker.URL())
	ctx := context.Background()
	pk := testenv.Prefix(t)
	const n = 5000
	testenv.SeedDevices(t, db, pk, n)
	notes := testenv.ListenNotifies(t, broker.URL(), pk)
	task, stats := createTask(t, db, models.TargetInput{Type: "PRODUCT", ProductKey: pk}, 60_000) // 1,000 a second
	sent := func() int64 { return stats().Sent }
	worker := startProcess(t, env, "worker")
	waitFor(t, 30*time.Second, "the rollout under way (1,500 sent)", func() bool { return sent() >= 1500 })
	worker.Process.Signal(syscall.SIGKILL)
	worker.Wait()
	at := sent()
	t.Logf("killed the worker with %d of %d sent", at, n)
	if at == n {
		t.Fatal("the rollout finished before the kill")
	}
	startProcess(t, env, "worker")
	waitFor(t, 60*time.Second, func() string {
		return fmt.Sprintf("every sub-task sent and notified (%d sent, %d devices notified)", sent(), notes.Distinct("SENT"))
	}, func() bool { return sent() >= n && notes.Distinct("SENT") >= n })
	var sentOnce int64
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM subtasks WHERE task_id = $1 AND status = 'SENT' AND sent_at IS NOT NULL AND notify_id IS NOT NULL`, task.ID).Scan(&sentOnce)
	if sentOnce != n {
		t.Fatalf("%d sub-tasks SENT, want %d", sentOnce, n)
	}
	t.Logf("%d notifies for %d sub-tasks (re-sends after the kill: %d)", notes.Total(), n, notes.Total()-n)
}

// A worker killed while devices report: QoS 1 updates are acknowledged only
// after they are committed, so the broker redelivers the rest to the
// restarted worker's session and no update is lost.
func TestWorkerKilledDuringUpdates(t *testing.T) {
	t.Parallel()
	env, db := workerEnv(t)
	ctx := context.Background()
	pk := testenv.Prefix(t)
	const n = 2000
	testenv.SeedDevices(t, db, pk, n)
	task, stats := createTask(t, db, models.TargetInput{Type: "PRODUCT", ProductKey: pk}, 100_000)
	worker := startProcess(t, env, "worker")
	waitFor(t, 30*time.Second, "all sent", func() bool { return stats().Sent == n })
	rows, err := db.Pool.Query(ctx, `SELECT id, device_name FROM subtasks WHERE task_id = $1`, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	type sub struct{ id, dn string }
	var subs []sub
	for rows.Next() {
		var id int64
		var dn string
		rows.Scan(&id, &dn)
		subs = append(subs, sub{strconv.FormatInt(id, 10), dn})
	}
	c := testenv.MQTTClient(t, testenv.MQTTURL())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, s := range subs {
			c.Publish(protocol.Topic(pk, s.dn, protocol.KindUpdate), 1, false,
				fmt.Sprintf(`{"id":"%d","version":"1.0","params":{"taskId":"%s","status":"SUCCEEDED"}}`, i+1, s.id)).Wait()
		}
	}()
	waitFor(t, 30*time.Second, "updates under way", func() bool { return stats().Succeeded >= 200 })
	worker.Process.Signal(syscall.SIGKILL)
	worker.Wait()
	t.Logf("killed the worker with %d of %d updates applied", stats().Succeeded, n)
	<-done
	startProcess(t, env, "worker")
	waitFor(t, 60*time.Second, "every update applied", func() bool { return stats().Succeeded == n })
}

// waitFor polls cond until it holds or d passes. what says what was
// awaited: a string, or a func() string evaluated at the timeout (to tell
// how far it got).
func waitFor(t *testing.T, d time.Duration, what any, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			if f, ok := what.(func() string); ok {
				what = f()
			}
			t.Fatalf("not within %v: %v", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createTask creates a task for target at rate a minute through the
// service layer and returns it with a reader of its statistics.
func createTask(t *testing.T, db *models.DB, target models.TargetInput, rate int) (*models.Task, func() *models.Statistics) {
	t.Helper()
	ctx := context.Background()
	tasks := models.NewTasks(db, models.NewFiles(db, t.TempDir(), []byte("0123456789abcdef"), "http://127.0.0.1"))
	task, err := tasks.CreateTask(ctx, models.TaskInput{Name: "t", Target: target, JobDocument: []byte(`{}`), RolloutPerMinute: &rate})
	if err != nil {
		t.Fatal(err)
	}
	return task, func() *models.Statistics {
		st, err := tasks.Statistics(ctx, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}
