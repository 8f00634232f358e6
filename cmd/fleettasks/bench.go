package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"fleettasks/config"
	"fleettasks/models"
)

// bench runs the benchmark of BENCHMARKS.md against the real services: its
// own database (fleettasks_bench, recreated) and Redis database, a server
// started as a child process where the figure is the server's.
func bench(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	runs := fs.Int("runs", 5, "runs of each timed figure (the median is reported)")
	only := fs.String("only", "a,a2,b,c,d,e,g,h,i,k", "figures to run: a create, a2 create for a 1,000,000-device product, b rollout, c updates, "+
		"d statistics, e timeouts, f peak RSS (with b), g console pages, h 50 tasks at 1,200/min on two workers, i cancel under device load, "+
		"k signed-in device connections held by the embedded broker, "+
		"j a 100,000-device task with a rollout policy (not in the default set: about 8 minutes at 3 runs)")
	redisDB := fs.Int("redis-db", 13, "Redis database to use (flushed)")
	brokerURL := fs.String("broker", "", "use this MQTT broker (tcp://host:port) instead of starting Mosquitto with the README's settings")
	brokers := fs.String("brokers", brokerMosquitto+","+brokerEmbedded, "brokers (b) and (c) run against, one after the other, then printed side by side: "+
		"mosquitto (the bench's own, or -broker), embedded (serve's own, FLEETTASKS_BROKER=embedded)")
	conns := fs.Int("conns", 20_000, "devices of (k), each on its own connection (fewer when serve's open-files limit cannot hold them)")
	connsRate := fs.Int("conns-rate", 1500, "connects a second of (k), over all its load processes")
	hMinutes := fs.Int("h-minutes", 5, "length of (h) in 60 s windows (at most 16: each task has 20,000 sub-tasks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Printf("fleettasks bench — %s, %d CPUs, %s, %d runs each (median)\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339), *runs)
	var broker *benchBroker
	if *brokerURL == "" {
		var err error
		if broker, err = startBroker(); err != nil {
			return err
		}
		defer broker.Stop()
		*brokerURL = broker.URL
		fmt.Printf("broker: %s, own instance on %s: %s\n", broker.Version, broker.URL, strings.Join(brokerSettings, ", "))
	} else {
		fmt.Printf("broker: external, %s: its settings are unknown (figures depend on its max_inflight_messages, max_queued_messages and persistence)\n", *brokerURL)
	}
	b, err := newBench(ctx, cfg, *redisDB, *runs, *brokerURL)
	if err != nil {
		return err
	}
	defer b.close()
	b.hMinutes = min(max(*hMinutes, 1), 16)
	b.conns, b.connsRate = max(*conns, 1), max(*connsRate, 1)
	want := strings.Split(*only, ",")
	sections := []struct {
		key string
		run func(context.Context) error
	}{
		{"a", b.create},
		{"a2", b.createMillion},
		{"b", b.rollout},
		{"c", b.updates},
		{"d", b.statistics},
		{"e", b.timeouts},
		{"g", b.pages},
		{"h", b.fleetRates},
		{"i", b.cancelUnderLoad},
		{"j", b.policyRollout},
		{"k", b.connections},
	}
	on := strings.Split(*brokers, ",")
	for _, name := range on {
		if name != brokerMosquitto && name != brokerEmbedded {
			return fmt.Errorf("-brokers: %q is neither %s nor %s", name, brokerMosquitto, brokerEmbedded)
		}
	}
	rollout := slices.Contains(want, "b") || slices.Contains(want, "f")
	updates := slices.Contains(want, "c")
	for _, s := range sections {
		mosquitto := slices.Contains(on, brokerMosquitto) || (s.key != "b" && s.key != "c")
		if mosquitto && (slices.Contains(want, s.key) || (s.key == "b" && rollout)) {
			if err := s.run(ctx); err != nil {
				return fmt.Errorf("bench %s: %w", s.key, err)
			}
		}
		// (b) and (c) again, on the embedded broker, before the rest
		if s.key == "c" && (rollout || updates) && slices.Contains(on, brokerEmbedded) {
			if err := b.onEmbedded(ctx, rollout, updates); err != nil {
				return fmt.Errorf("bench %w", err)
			}
		}
	}
	return nil
}

// benchRun is the shared state of one benchmark run.
type benchRun struct {
	cfg   *config.Config
	env   []string // the server's environment
	db    *models.DB
	tasks *models.Tasks
	runs  int
	redis *redis.Client
	// (b) leaves its devices, server and 20,000 SENT sub-tasks for (c)
	rolloutFleet  *benchFleet
	rolloutServer *exec.Cmd
	hMinutes      int                           // length of (h)
	embedded      bool                          // (b) and (c) run on serve's embedded broker
	figures       map[string]map[string]float64 // (b) and (c) by figure and broker
	figureOrder   []string
	conns         int // devices of (k)
	connsRate     int // their connects a second
}

func newBench(ctx context.Context, base *config.Config, redisDB, runs int, mqttURL string) (*benchRun, error) {
	dbURL, err := recreateDatabase(ctx, base.DatabaseURL, "fleettasks_bench")
	if err != nil {
		return nil, err
	}
	ru, err := url.Parse(base.RedisURL)
	if err != nil {
		return nil, err
	}
	ru.Path = fmt.Sprintf("/%d", redisDB)
	opt, err := redis.ParseURL(ru.String())
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return nil, fmt.Errorf("flush Redis database %d: %w", redisDB, err)
	}
	addr, err := listenAddr()
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "fleettasks-bench-")
	if err != nil {
		return nil, err
	}
	suffix := fmt.Sprint(time.Now().UnixNano() % 1_000_000)
	env := []string{
		"FLEETTASKS_DATABASE_URL=" + dbURL,
		"FLEETTASKS_REDIS_URL=" + ru.String(),
		"FLEETTASKS_MQTT_URL=" + mqttURL,
		"FLEETTASKS_HTTP_ADDR=" + addr,
		"FLEETTASKS_PUBLIC_URL=http://" + addr,
		"FLEETTASKS_DATA_DIR=" + dataDir,
		"FLEETTASKS_MQTT_SHARE_GROUP=bench" + suffix,
		"FLEETTASKS_MQTT_CLIENT_ID=bench" + suffix,
		"FLEETTASKS_DEVICE_RATE=100000",
	}
	cfg, err := config.Load(envFunc(env))
	if err != nil {
		return nil, err
	}
	cfg.Secret = []byte(benchSecret)
	db, err := models.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	files := models.NewFiles(db, dataDir, cfg.Secret, cfg.PublicURL)
	return &benchRun{cfg: cfg, env: env, db: db, tasks: models.NewTasks(db, files), runs: runs, redis: rdb}, nil
}

func (b *benchRun) close() {
	b.stopRollout()
	b.db.Close()
	b.redis.Close()
}

// stopRollout stops the server and devices that (b) leaves for (c), so
// that the figures after them have the machine to themselves.
func (b *benchRun) stopRollout() {
	if b.rolloutServer != nil {
		stopServer(b.rolloutServer)
		b.rolloutFleet.fleet.Close()
		b.rolloutServer, b.rolloutFleet = nil, nil
	}
}

// recreateDatabase drops and creates database name on the server of url.
func recreateDatabase(ctx context.Context, raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	admin := *u
	admin.Path = "/postgres"
	c, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer c.Close(ctx)
	id := pgx.Identifier{name}.Sanitize()
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+id); err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func listenAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func envFunc(env []string) func(string) string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// startServer runs `fleettasks serve` as a child process and waits until
// its bridge answers /readyz.
func (b *benchRun) startServer(ctx context.Context) (*exec.Cmd, error) {
	return b.startCommand(ctx, "serve")
}

// startCommand runs `fleettasks <sub>` (serve, web) as a child process and
// waits until it listens.
func (b *benchRun) startCommand(ctx context.Context, sub string) (*exec.Cmd, error) {
	return b.startCommandEnv(ctx, sub, b.env)
}

// startCommandEnv is startCommand with the server environment env.
func (b *benchRun) startCommandEnv(ctx context.Context, sub string, env []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, sub)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "FLEETTASKS_TEST_MAIN=") // never the test hook
	if os.Getenv("FLEETTASKS_BENCH_LOG") != "" {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", b.cfg.HTTPAddr); err == nil {
			c.Close()
			time.Sleep(500 * time.Millisecond) // let the bridge subscribe
			return cmd, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("the server did not start")
}

func stopServer(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// median of durations.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(fs []float64) float64 {
	s := slices.Clone(fs)
	slices.Sort(s)
	return s[len(s)/2]
}

// seedProduct registers product pk with n devices named d1..dn.
func (b *benchRun) seedProduct(ctx context.Context, pk string, n int) error {
	if _, err := b.db.Pool.Exec(ctx, `INSERT INTO products (product_key, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, pk); err != nil {
		return err
	}
	_, err := b.db.Pool.Exec(ctx, `INSERT INTO devices (product_key, device_name) SELECT $1, 'd' || g FROM generate_series(1, $2::int) g
		ON CONFLICT DO NOTHING`, pk, n)
	return err
}

// resetTasks deletes every task and sub-task.
func (b *benchRun) resetTasks(ctx context.Context) error {
	if _, err := b.db.Pool.Exec(ctx, `TRUNCATE subtasks, task_counters, task_changes, tasks CASCADE`); err != nil {
		return err
	}
	_, err := b.db.Pool.Exec(ctx, `VACUUM ANALYZE subtasks`)
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
