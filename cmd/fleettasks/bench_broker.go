package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"
)

// brokerSettings is the Mosquitto configuration the README recommends for
// production ("The broker"); the bench runs its own broker with it, so that
// its figures do not depend on how the machine's broker is configured.
var brokerSettings = []string{
	"max_inflight_messages 1000",
	"max_queued_messages 100000",
	"set_tcp_nodelay true",
	"persistence true",
	"persistent_client_expiration 1h",
}

// benchBroker is a Mosquitto started by the bench on a free loopback port.
type benchBroker struct {
	URL     string
	Version string
	cmd     *exec.Cmd
	dir     string
}

// mosquittoBinary is the broker the bench starts: FLEETTASKS_BENCH_MOSQUITTO,
// else mosquitto on PATH, else Debian's /usr/sbin/mosquitto.
func mosquittoBinary() (string, error) {
	if p := os.Getenv("FLEETTASKS_BENCH_MOSQUITTO"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto", nil
	}
	return "", fmt.Errorf("no mosquitto binary (run scripts/services.sh mosquitto, or pass -broker URL)")
}

// startBroker runs Mosquitto with brokerSettings, persistence in a
// temporary directory, and waits until it accepts connections.
func startBroker() (*benchBroker, error) {
	bin, err := mosquittoBinary()
	if err != nil {
		return nil, err
	}
	addr, err := listenAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "fleettasks-bench-broker-")
	if err != nil {
		return nil, err
	}
	logDest := "log_dest none"
	if os.Getenv("FLEETTASKS_BENCH_LOG") != "" {
		logDest = "log_dest stderr"
	}
	conf := []string{"listener " + port + " " + host, "allow_anonymous true", "persistence_location " + dir + "/", logDest}
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		conf = append(conf, "user root") // else Mosquitto drops to a user that cannot write dir
	}
	conf = append(conf, brokerSettings...)
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	b := &benchBroker{URL: "tcp://" + addr, Version: mosquittoVersion(bin), dir: dir}
	b.cmd = exec.Command(bin, "-c", path)
	if os.Getenv("FLEETTASKS_BENCH_LOG") != "" {
		b.cmd.Stderr = os.Stderr
	}
	if err := b.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return b, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Stop()
	return nil, fmt.Errorf("%s did not listen on %s", bin, addr)
}

// mosquittoVersion is the first line of `mosquitto -h`, with the path.
func mosquittoVersion(bin string) string {
	out, _ := exec.Command(bin, "-h").Output() // exits non-zero after the help
	line, _, _ := bytes.Cut(out, []byte("\n"))
	return bin + " (" + strings.TrimSpace(string(line)) + ")"
}

// Stop ends the broker and removes its directory.
func (b *benchBroker) Stop() {
	if b == nil {
		return
	}
	stopServer(b.cmd)
	os.RemoveAll(b.dir)
}
