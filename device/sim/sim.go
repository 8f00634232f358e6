// Package sim simulates a product's devices on top of package device: N
// devices (<prefix>1..<prefix>N) on a device.Fleet, each executing its
// sub-tasks one at a time, oldest first, with a chosen Behaviour. A device
// takes up a sub-task when a SENT notify arrives or when $list (at start
// and after a reconnect) shows it; a CANCELLED or REMOVED notify stops
// the work on it. "fleettasks simulate" and the benchmark use it:
//
//	stats, err := sim.Run(ctx, sim.Config{
//		BrokerURL: "tcp://127.0.0.1:1883", ProductKey: "pk1",
//		Devices: 1000, Behaviour: sim.Mixed, Work: 2 * time.Second,
//	}, 5*time.Second, func(s sim.Stats) { log.Print(s) })
//
// To drive it from a test: Start (returns once every device is
// subscribed), then Stats, then Close.
package sim

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"fleettasks/device"
)

// Config describes a simulation.
type Config struct {
	BrokerURL  string
	TLS        *tls.Config // as device.Config.TLS
	ProductKey string
	Devices    int           // devices <Prefix>1 .. <Prefix><Devices>
	Prefix     string        // default "d"
	Behaviour  Behaviour     // default Succeed
	Work       time.Duration // time spent "working" on each sub-task (succeed, fail); 0 for none
	Conns      int           // MQTT connections; default one per 1,000 devices
	// Secrets are device secrets by device name. A device with one has
	// its own MQTT connection and signs in with it, as a real device does
	// (device.Config.DeviceSecret); the others share the Conns
	// connections, which connect by client id alone.
	Secrets map[string]string

	QoS            byte
	RequestTimeout time.Duration
	Retries        int
	HTTPClient     *http.Client
	DownloadDir    string // default a temporary directory, removed by Close
	Logger         *slog.Logger
}

// Sim is a running simulation.
type Sim struct {
	cfg     Config
	fleet   *device.Fleet    // nil when every device has its own connection
	own     []*device.Client // the devices signed in on their own connections
	stats   counters
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	tempDir bool
	log     *slog.Logger
}

// DeviceName is the name of the i-th (1-based) simulated device.
func DeviceName(prefix string, i int) string { return prefix + strconv.Itoa(i) }

// Start connects the fleet and adds every device; each then asks $list and
// takes up what it finds. It returns once every device is listening.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	if cfg.Devices < 1 {
		return nil, fmt.Errorf("sim: %d devices: need at least one", cfg.Devices)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "d"
	}
	if cfg.Behaviour == "" {
		cfg.Behaviour = Succeed
	}
	if _, err := ParseBehaviour(string(cfg.Behaviour)); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	shared := cfg.Devices
	for i := 1; i <= cfg.Devices; i++ {
		if cfg.Secrets[DeviceName(cfg.Prefix, i)] != "" {
			shared--
		}
	}
	if cfg.Conns < 1 {
		cfg.Conns = (shared + 999) / 1000
	}
	s := &Sim{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.DownloadDir == "" {
		dir, err := os.MkdirTemp("", "fleettasks-sim-")
		if err != nil {
			return nil, fmt.Errorf("sim: download directory: %w", err)
		}
		s.cfg.DownloadDir, s.tempDir = dir, true
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if shared > 0 {
		fleet, err := device.NewFleet(ctx, device.FleetConfig{
			BrokerURL: cfg.BrokerURL, TLS: cfg.TLS, ProductKey: cfg.ProductKey, Conns: cfg.Conns,
			QoS: cfg.QoS, RequestTimeout: cfg.RequestTimeout, Retries: cfg.Retries,
			HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
		})
		if err != nil {
			s.cancel()
			s.removeTemp()
			return nil, fmt.Errorf("sim: %w", err)
		}
		s.fleet = fleet
	}
	var signed []*worker
	for i := 1; i <= cfg.Devices; i++ {
		dn := DeviceName(cfg.Prefix, i)
		w := &worker{sim: s, dn: dn, behaviour: cfg.Behaviour.For(dn), last: map[string]reported{}}
		if cfg.Secrets[dn] != "" {
			signed = append(signed, w)
			continue
		}
		c, err := s.fleet.Add(dn, device.Handlers{OnNotify: w.onNotify, OnResume: w.onResume})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sim: %w", err)
		}
		w.c = c
	}
	if err := s.connectSigned(ctx, signed); err != nil {
		s.Close()
		return nil, fmt.Errorf("sim: %w", err)
	}
	s.log.Info("simulator started", "product", cfg.ProductKey, "devices", cfg.Devices,
		"behaviour", cfg.Behaviour, "work", cfg.Work, "conns", cfg.Conns, "signed", len(signed))
	return s, nil
}

// connectSigned connects each of ws on its own connection, signed in with
// its secret, a few at a time.
func (s *Sim) connectSigned(ctx context.Context, ws []*worker) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		fail error
		sem  = make(chan struct{}, 32)
	)
	for _, w := range ws {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := device.Connect(ctx, device.Config{
				BrokerURL: s.cfg.BrokerURL, TLS: s.cfg.TLS, ProductKey: s.cfg.ProductKey, DeviceName: w.dn, DeviceSecret: s.cfg.Secrets[w.dn],
				QoS: s.cfg.QoS, RequestTimeout: s.cfg.RequestTimeout, Retries: s.cfg.Retries,
				HTTPClient: s.cfg.HTTPClient, Logger: s.cfg.Logger,
				OnNotify: w.onNotify, OnResume: w.onResume,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fail = cmp.Or(fail, err)
				return
			}
			w.c = c
			s.own = append(s.own, c)
		}()
	}
	wg.Wait()
	return fail
}

// Stats is what the devices did so far.
func (s *Sim) Stats() Stats { return s.stats.snapshot() }

// Close stops every device's work, disconnects and returns the final
// stats.
func (s *Sim) Close() Stats {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if s.fleet != nil {
		s.fleet.Close()
	}
	for _, c := range s.own {
		c.Close()
	}
	s.wg.Wait()
	s.removeTemp()
	return s.Stats()
}

// spawn runs f on its own goroutine unless the simulation is closing.
func (s *Sim) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

func (s *Sim) removeTemp() {
	if s.tempDir {
		os.RemoveAll(s.cfg.DownloadDir)
	}
}

// Run starts a simulation, calls report with the stats every interval
// (when report is not nil) and returns the final stats when ctx ends.
func Run(ctx context.Context, cfg Config, every time.Duration, report func(Stats)) (Stats, error) {
	s, err := Start(ctx, cfg)
	if err != nil {
		return Stats{}, err
	}
	var tick <-chan time.Time
	if report != nil && every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			report(s.Stats())
		case <-ctx.Done():
			return s.Close(), nil
		}
	}
}
