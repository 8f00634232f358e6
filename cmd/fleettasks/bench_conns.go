package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"fleettasks/models"
)

// benchSecret is the bench's own server secret and FLEETTASKS_SECRET of
// the servers it runs with the embedded broker: the bench registers
// devices with secrets sealed with it, and the server opens them to check
// the devices' sign-ins.
const benchSecret = "bench-secret-0123456789"

// embeddedEnv is the server environment of a run on the embedded broker:
// serve listens for MQTT on a free loopback port and its own connections
// sign in as a user of the bench's, whose URL (with the password) it
// returns for the bench's own clients.
func (b *benchRun) embeddedEnv() ([]string, string, error) {
	addr, err := listenAddr()
	if err != nil {
		return nil, "", err
	}
	u := url.URL{Scheme: "tcp", Host: addr, User: url.UserPassword("bench-server", "bench-password-"+strconv.FormatInt(time.Now().UnixNano(), 36))}
	env := append(append([]string(nil), b.env...),
		"FLEETTASKS_BROKER=embedded",
		"FLEETTASKS_BROKER_ADDR="+addr,
		"FLEETTASKS_MQTT_URL="+u.String(),
		"FLEETTASKS_SECRET="+benchSecret)
	return env, u.String(), nil
}

// (k) signed-in device connections held by serve's embedded broker: N
// devices registered with secrets, each signing in the Alibaba way on a
// connection of its own from a few `bench-connect` processes, paced;
// then the broker's count of them, serve's RSS, and a task for a sample
// of them to show they are live.
func (b *benchRun) connections(ctx context.Context) error {
	const pk, perProcess, headroom = "bench-k", 7000, 100
	b.stopRollout()
	env, _, err := b.embeddedEnv()
	if err != nil {
		return err
	}
	n := b.conns
	secrets, err := b.registerWithSecrets(ctx, pk, n)
	if err != nil {
		return err
	}
	server, err := b.startCommandEnv(ctx, "serve", env)
	if err != nil {
		return err
	}
	defer stopServer(server)
	pid := server.Process.Pid
	time.Sleep(2 * time.Second) // settled: bridge subscribed, pools open
	baseRSS := procStatus(pid, "VmRSS")
	own, err := b.brokerConnected()
	if err != nil {
		return err
	}
	limit, open := openFilesLimit(pid), openFiles(pid)
	if fit := limit - open - headroom; n > fit {
		fmt.Printf("(k) serve may open %d files (RLIMIT_NOFILE) and has %d open: %d device connections do not fit with %d to spare; measuring %d\n",
			limit, open, n, headroom, fit)
		n = fit
	}
	procs := max(2, (n+perProcess-1)/perProcess)
	addr := strings.TrimPrefix(envFunc(env)("FLEETTASKS_BROKER_ADDR"), "tcp://")
	start := time.Now()
	loads := make([]*loadProcess, procs)
	for k := range loads {
		from, to := k*n/procs, (k+1)*n/procs
		rate := max(b.connsRate/procs, 1)
		if loads[k], err = startLoad(ctx, addr, rate, secrets[from:to]); err != nil {
			return err
		}
		defer loads[k].stop()
	}
	var connected, refused, failed int
	for _, l := range loads {
		c, r, f, err := l.result()
		if err != nil {
			return err
		}
		connected, refused, failed = connected+c, refused+r, failed+f
	}
	took := time.Since(start)
	time.Sleep(5 * time.Second) // at rest
	restRSS := procStatus(pid, "VmRSS")
	counted, err := b.brokerConnected()
	if err != nil {
		return err
	}
	fmt.Printf("(k) %d devices signing in on their own connections from %d processes at %d/s: %d connected in %.1f s (%.0f/s), sign-ins refused %d, other failures %d  target refused 0\n",
		n, procs, b.connsRate, connected, took.Seconds(), float64(connected)/took.Seconds(), refused, failed)
	fmt.Printf("(k) the broker counts %d connected clients: %d devices and the server's own %d\n", counted, counted-own, own)

	// live: a task for a sample of them, every notify counted by its device
	sample := min(1000, connected)
	refs := make([]models.DeviceRef, 0, sample)
	for i := 0; i < sample; i++ {
		refs = append(refs, models.DeviceRef{ProductKey: pk, DeviceName: "d" + strconv.Itoa(1+i*n/sample)})
	}
	per := 100_000
	sent := time.Now()
	if _, err := b.tasks.CreateTask(ctx, models.TaskInput{Name: "connections", Target: models.TargetInput{Type: "DEVICE_LIST", Devices: refs},
		JobDocument: json.RawMessage(`{"k":"v"}`), RolloutPerMinute: &per}); err != nil {
		return err
	}
	got := 0
	for deadline := time.Now().Add(time.Minute); got < sample && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = 0
		for _, l := range loads {
			c, err := l.count()
			if err != nil {
				return err
			}
			got += c
		}
	}
	fmt.Printf("(k) a task for %d of them: %d notifies received in %.1f s\n", sample, got, time.Since(sent).Seconds())
	fmt.Printf("(k) serve's RSS: %.0f MB with no devices, %.0f MB at rest with %d connected, peak %.0f MB  target peak ≤ 400 MB\n",
		float64(baseRSS)/1024, float64(restRSS)/1024, connected, float64(procStatus(pid, "VmHWM"))/1024)
	if got < sample {
		return fmt.Errorf("(k) %d of %d notifies received", got, sample)
	}
	return b.resetTasks(ctx)
}

// registerWithSecrets registers product pk with n devices d1..dn and
// returns each one's "pk,dn,secret" line, in order.
func (b *benchRun) registerWithSecrets(ctx context.Context, pk string, n int) ([]string, error) {
	reg := models.NewRegistry(b.db, models.WithDeviceSecretKey([]byte(benchSecret)))
	if _, err := reg.CreateProduct(ctx, models.ProductInput{ProductKey: pk, Name: pk}); err != nil {
		return nil, err
	}
	lines := make([]string, 0, n)
	for from := 0; from < n; from += models.MaxDevicesPerCall {
		names := make([]string, 0, models.MaxDevicesPerCall)
		for i := from; i < min(from+models.MaxDevicesPerCall, n); i++ {
			names = append(names, "d"+strconv.Itoa(i+1))
		}
		ds, err := reg.CreateDevices(ctx, pk, names)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			lines = append(lines, pk+","+d.DeviceName+","+d.Secret)
		}
	}
	return lines, nil
}

// brokerConnected reads fleettasks_broker_connected_clients from serve's
// /metrics.
func (b *benchRun) brokerConnected() (int, error) {
	resp, err := http.Get("http://" + b.cfg.HTTPAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "fleettasks_broker_connected_clients "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("/metrics has no fleettasks_broker_connected_clients")
}

// loadProcess is one `fleettasks bench-connect` child.
type loadProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startLoad runs a bench-connect child that signs in the devices of
// lines, at rate a second, to the broker at addr.
func startLoad(ctx context.Context, addr string, rate int, lines []string) (*loadProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "bench-connect", "-addr", addr, "-rate", strconv.Itoa(rate))
	cmd.Env = append(os.Environ(), "FLEETTASKS_TEST_MAIN=")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	l := &loadProcess{cmd: cmd, stdin: stdin, lines: make(chan string, 4)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	go func() {
		w := bufio.NewWriter(stdin)
		for _, line := range lines {
			w.WriteString(line + "\n")
		}
		w.WriteString(".\n")
		w.Flush()
	}()
	return l, nil
}

// result waits for the child's "connected" line.
func (l *loadProcess) result() (connected, refused, failed int, err error) {
	line, ok := <-l.lines
	if !ok {
		return 0, 0, 0, fmt.Errorf("bench-connect ended: %v", l.cmd.Wait())
	}
	var secs float64
	if _, err := fmt.Sscanf(line, "connected %d refused %d failed %d seconds %g", &connected, &refused, &failed, &secs); err != nil {
		return 0, 0, 0, fmt.Errorf("bench-connect said %q", line)
	}
	return connected, refused, failed, nil
}

// count asks the child how many notifies its devices received.
func (l *loadProcess) count() (int, error) {
	if _, err := io.WriteString(l.stdin, "count\n"); err != nil {
		return 0, err
	}
	line, ok := <-l.lines
	n, err := strconv.Atoi(strings.TrimPrefix(line, "received "))
	if !ok || err != nil {
		return 0, fmt.Errorf("bench-connect said %q", line)
	}
	return n, nil
}

// stop closes the child's stdin, which disconnects its devices, and
// waits for it.
func (l *loadProcess) stop() {
	l.stdin.Close()
	done := make(chan struct{})
	go func() { l.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		l.cmd.Process.Kill()
		<-done
	}
}

// procStatus reads a field of /proc/PID/status given in kB (VmRSS,
// VmHWM), in KiB; 0 when unreadable.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// openFilesLimit is the soft RLIMIT_NOFILE of process pid (Go raises the
// soft limit to the hard one at start).
func openFilesLimit(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Max open files"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// openFiles is how many files process pid has open.
func openFiles(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es)
}
