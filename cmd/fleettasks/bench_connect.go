package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"fleettasks/config"
	"fleettasks/protocol"
	"fleettasks/protocol/signin"
)

// benchConnect is the hidden `bench-connect` command, the load generator
// of the bench's (k): it signs in the devices read from stdin (one
// "pk,dn,secret" line each, then a "." line) to the MQTT broker at -addr,
// each on its own TCP connection, at -rate a second (at most -inflight
// waiting for the broker's answer), and keeps them
// connected with PINGREQs. A connection is a socket and one reading
// goroutine, not a full MQTT client, so that one process holds thousands.
//
// It prints one line when every device has tried once:
// "connected N refused R failed F seconds S", then answers "count" on
// stdin with "received N" (the notifies its devices got, each
// acknowledged) until stdin closes, when it disconnects and exits.
func benchConnect(ctx context.Context, _ *config.Config, _ *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench-connect", flag.ContinueOnError)
	addr := fs.String("addr", "", "broker host:port")
	rate := fs.Int("rate", 500, "connects a second")
	inflight := fs.Int("inflight", 100, "sign-ins at most waiting for their CONNACK")
	keepalive := fs.Int("keepalive", 60, "MQTT keep-alive in seconds (PINGREQ every half of it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *rate < 1 || *inflight < 1 || *keepalive < 2 {
		return errors.New("bench-connect: -addr is required; -rate ≥ 1, -inflight ≥ 1, -keepalive ≥ 2")
	}
	return connectLoad(ctx, os.Stdin, os.Stdout, *addr, *rate, *inflight, uint16(*keepalive))
}

// connectLoad is bench-connect reading in and writing out.
func connectLoad(ctx context.Context, r io.Reader, out io.Writer, addr string, rate, inflight int, keepalive uint16) error {
	in := bufio.NewScanner(r)
	var devices []connectDevice
	for in.Scan() && in.Text() != "." {
		f := strings.Split(in.Text(), ",")
		if len(f) != 3 {
			return fmt.Errorf("bench-connect: want pk,dn,secret lines, got %d fields", len(f))
		}
		devices = append(devices, connectDevice{signin.Device{ProductKey: f[0], DeviceName: f[1]}, f[2]})
	}

	l := &loadConns{keepalive: keepalive}
	stop := make(chan struct{})
	go l.ping(stop)
	start := time.Now()
	var wg sync.WaitGroup
	step := 10 * time.Millisecond
	perStep := max(rate*int(step)/int(time.Second), 1)
	// at most -inflight sign-ins waiting for their CONNACK: a broker
	// that falls behind slows the pace rather than piling up sign-ins
	// that time out
	sem := make(chan struct{}, inflight)
	tick := time.NewTicker(step)
	for i := 0; i < len(devices); i += perStep {
		<-tick.C
		for _, d := range devices[i:min(i+perStep, len(devices))] {
			sem <- struct{}{}
			wg.Add(1)
			go func() { defer wg.Done(); l.connect(addr, d); <-sem }()
		}
	}
	tick.Stop()
	wg.Wait()
	fmt.Fprintf(out, "connected %d refused %d failed %d seconds %.3f\n", len(l.conns), l.refused.Load(), l.failed.Load(), time.Since(start).Seconds())
	if msg := l.firstErr.Load(); msg != nil {
		fmt.Fprintln(os.Stderr, "bench-connect: first failure:", msg)
	}

	for in.Scan() {
		if in.Text() == "count" {
			fmt.Fprintf(out, "received %d\n", l.received.Load())
		}
	}
	close(stop)
	l.mu.Lock()
	for _, c := range l.conns {
		c.Write([]byte{packets.Disconnect << 4, 0})
		c.Close()
	}
	l.mu.Unlock()
	return ctx.Err()
}

type connectDevice struct {
	device signin.Device
	secret string
}

// loadConns are the connections of one bench-connect process.
type loadConns struct {
	keepalive uint16
	mu        sync.Mutex
	conns     []net.Conn
	refused   atomic.Int64 // CONNACK with a refusal
	failed    atomic.Int64 // no CONNACK: dial, write or read errors
	received  atomic.Int64 // notifies received
	firstErr  atomic.Value
}

// connect signs device d in on a connection of its own and, once the
// broker accepted it, leaves a goroutine reading its packets until the
// connection ends.
func (l *loadConns) connect(addr string, d connectDevice) {
	creds := signin.Sign(d.device, d.secret, signin.SignOptions{})
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: l.keepalive,
			ClientIdentifier: creds.ClientID, UsernameFlag: true, Username: []byte(creds.Username),
			PasswordFlag: true, Password: []byte(creds.Password)}}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		l.fail(&l.failed, d, err)
		return
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		l.fail(&l.failed, d, err)
		return
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 512)
	if _, err := c.Write(buf.Bytes()); err != nil {
		c.Close()
		l.fail(&l.failed, d, err)
		return
	}
	typ, body, err := readPacket(r)
	if err != nil || typ != packets.Connack || len(body) < 3 {
		c.Close()
		l.fail(&l.failed, d, fmt.Errorf("no CONNACK: type %d, %v", typ, err))
		return
	}
	if body[2] != 0 { // body[0] is the flags, body[1] the session present flag
		c.Close()
		l.fail(&l.refused, d, fmt.Errorf("CONNACK return code %d", body[2]))
		return
	}
	c.SetDeadline(time.Time{})
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	go l.read(c, r)
}

// read takes a connection's packets until it ends: it counts the
// notifies and acknowledges QoS 1 publishes.
func (l *loadConns) read(c net.Conn, r *bufio.Reader) {
	for {
		typ, body, err := readPacket(r)
		if err != nil {
			return
		}
		if typ != packets.Publish {
			continue
		}
		// a notify: acknowledge it (QoS 1) and count it
		fh := packets.FixedHeader{}
		fh.Decode(packets.Publish<<4 | body[0])
		p := packets.Packet{FixedHeader: fh, ProtocolVersion: 4}
		if p.PublishDecode(body[1:]) != nil {
			continue
		}
		if _, _, kind, ok := protocol.ParseTopic(p.TopicName); ok && kind == protocol.KindNotify {
			l.received.Add(1)
		}
		if p.FixedHeader.Qos > 0 {
			c.Write([]byte{packets.Puback << 4, 2, byte(p.PacketID >> 8), byte(p.PacketID)})
		}
	}
}

func (l *loadConns) fail(counter *atomic.Int64, d connectDevice, err error) {
	counter.Add(1)
	l.firstErr.CompareAndSwap(nil, d.device.String()+": "+err.Error())
}

// ping sends every connection a PINGREQ once per half keep-alive, spread
// over that time, until stop.
func (l *loadConns) ping(stop chan struct{}) {
	half := time.Duration(l.keepalive) * time.Second / 2
	for {
		l.mu.Lock()
		conns := l.conns
		l.mu.Unlock()
		gap := half / time.Duration(max(len(conns), 1))
		for _, c := range conns {
			select {
			case <-stop:
				return
			case <-time.After(gap):
			}
			c.Write([]byte{packets.Pingreq << 4, 0})
		}
		if len(conns) == 0 {
			select {
			case <-stop:
				return
			case <-time.After(half):
			}
		}
	}
}

// readPacket reads one MQTT packet: its type and its body, the first byte
// of which is the fixed header's flags (low four bits).
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	h, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 {
			return 0, nil, errors.New("malformed remaining length")
		}
	}
	body := make([]byte, 1+n)
	body[0] = h & 0x0f
	if _, err := io.ReadFull(r, body[1:]); err != nil {
		return 0, nil, err
	}
	return h >> 4, body, nil
}
