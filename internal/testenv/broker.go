package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Broker is a private Mosquitto for tests that stop and restart it.
type Broker struct {
	t    testing.TB
	Port int
	conf string
	cmd  *exec.Cmd
}

// NewBroker starts a Mosquitto of the test's own on a free port.
func NewBroker(t testing.TB) *Broker { return NewBrokerWith(t, "allow_anonymous true\n") }

// NewBrokerWith is NewBroker with more configuration lines (e.g. password
// and ACL files).
func NewBrokerWith(t testing.TB, extra string) *Broker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	// user root: as root, Mosquitto would otherwise switch to its own user,
	// who cannot read the test's private temporary files
	body := fmt.Sprintf("listener %d 127.0.0.1\nuser root\npersistence false\nmax_queued_messages 100000\n%s", port, extra)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Broker{t: t, Port: port, conf: conf}
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// URL is the broker's address for paho.
func (b *Broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.Port) }

// Start starts the broker and waits until it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	b.cmd = exec.Command(bin, "-c", b.conf)
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("testenv: start mosquitto: %v", err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatal("testenv: mosquitto did not start")
}

// Stop stops the broker (its sessions and queued messages are lost).
func (b *Broker) Stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Kill()
		b.cmd.Wait()
		b.cmd = nil
	}
}

// Pause stops the broker process (SIGSTOP): connections stay open but
// nothing is read or answered, as with a broker stalled on its disk.
func (b *Broker) Pause() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

// Resume lets a paused broker go on (SIGCONT).
func (b *Broker) Resume() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(syscall.SIGCONT)
	}
}
