package browser_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/config"
	"fleettasks/device/sim"
	"fleettasks/handlers"
	"fleettasks/internal/app"
	"fleettasks/internal/testenv"
	"fleettasks/models"
	"fleettasks/workers"
)

// stack is the whole server on this test's own database, Redis database
// and product, listening on a free port.
type stack struct {
	t   *testing.T
	app *app.App
	url string
	pk  string
}

// newStack starts the stack; env adds NAME=value settings.
func newStack(t *testing.T, env ...string) *stack {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	cfg, err := config.Load(testenv.Env(t, testenv.DatabaseURL(t), append([]string{"FLEETTASKS_REDIS_URL=" + testenv.RedisDB(t),
		"FLEETTASKS_MQTT_CLIENT_ID=ft-" + testenv.ID(), "FLEETTASKS_PUBLIC_URL=" + base,
		"FLEETTASKS_WEBHOOK_ALLOW_PRIVATE=true"}, env...)...)) // the tests' webhook receivers listen on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("FLEETTASKS_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a, err := app.Open(context.Background(), cfg, log, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	web := handlers.New(a.HandlerDeps())
	go web.Listener(l)
	t.Cleanup(func() { web.Shutdown() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := workers.Run(ctx, a.WorkerDeps()); err != nil {
			t.Errorf("workers: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("workers did not stop")
		}
	})
	return &stack{t: t, app: a, url: base, pk: testenv.Prefix(t)}
}

// devices registers the product with devices <prefix>1..<prefix>n.
func (s *stack) devices(prefix string, n int) {
	s.t.Helper()
	ctx := context.Background()
	if _, err := s.app.Registry.GetProduct(ctx, s.pk); models.IsNotFound(err) {
		if _, err := s.app.Registry.CreateProduct(ctx, models.ProductInput{ProductKey: s.pk, Name: "lamps"}); err != nil {
			s.t.Fatal(err)
		}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = sim.DeviceName(prefix, i+1)
	}
	if _, err := s.app.Registry.CreateDevices(ctx, s.pk, names); err != nil {
		s.t.Fatal(err)
	}
}

// simulate starts simulated devices <prefix>1..<prefix>n with behaviour b.
func (s *stack) simulate(prefix string, n int, b sim.Behaviour) *sim.Sim {
	s.t.Helper()
	fleet, err := sim.Start(context.Background(), sim.Config{BrokerURL: s.app.Config.MQTTURL, ProductKey: s.pk,
		Devices: n, Prefix: prefix, Behaviour: b})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { fleet.Close() })
	return fleet
}

// task creates a task through the service layer.
func (s *stack) task(name string, devices []models.DeviceRef, at *time.Time) *models.Task {
	s.t.Helper()
	task, err := s.app.Tasks.CreateTask(context.Background(), models.TaskInput{Name: name,
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: devices}, JobDocument: []byte(`{"k":"v"}`), ScheduledAt: at})
	if err != nil {
		s.t.Fatal(err)
	}
	return task
}

// signIn creates a user of role and signs in through the sign-in page,
// the way a person does; the browser keeps the session cookie.
func (s *stack) signIn(ctx context.Context, role models.Role) {
	s.t.Helper()
	const password = "browser-test-password"
	email := string(role) + "@" + s.pk + ".example.com"
	if _, err := s.app.Accounts.CreateUser(context.Background(), models.UserInput{Email: email, Role: string(role), Password: password}); err != nil {
		s.t.Fatal(err)
	}
	run(s.t, ctx, "sign in as "+string(role),
		chromedp.Navigate(s.url+"/tasks"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#login-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#login-password`), password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signed-in"]`)),
	)
}
