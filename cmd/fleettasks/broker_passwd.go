package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"fleettasks/config"
	"fleettasks/models"
)

// brokerPasswd is `fleettasks broker passwd`: it writes a Mosquitto
// password file of the registered devices and the server's user (and,
// with --acl-out, the ACL file); with --watch it keeps both current as
// devices are registered, rotated or deleted and has Mosquitto reload
// them (SIGHUP).
func brokerPasswd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("broker passwd", flag.ContinueOnError)
	out := fs.String("out", "", "the password file to write (required)")
	aclOut := fs.String("acl-out", "", "the ACL file to write as well")
	watch := fs.Bool("watch", false, "keep the files current until stopped")
	pidFile := fs.String("pid-file", "", "with --watch: Mosquitto's pid file, to send it SIGHUP after each change")
	pid := fs.Int("signal-pid", 0, "with --watch: the process to send SIGHUP after each change")
	resync := fs.Duration("resync", 5*time.Minute, "with --watch: rewrite the files this often even without a change")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("broker passwd: --out is required\n%s", brokerUsage)
	}
	user, password := cfg.MQTTCredentials()
	if user == "" || password == "" {
		return fmt.Errorf("broker passwd: FLEETTASKS_MQTT_URL has no user and password (tcp://user:password@host:1883) for the server's own connections")
	}
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	w := &brokerFiles{
		db: db, passwd: models.NewBrokerPasswd(models.NewRegistry(db, models.WithDeviceSecretKey(cfg.Secret))),
		out: *out, aclOut: *aclOut, user: user, password: password,
		reload: reloader(*pidFile, *pid), log: log,
	}
	if !*watch {
		_, err := w.writeAndReload(ctx)
		return err
	}
	return w.watch(ctx, *resync)
}

// brokerFiles writes the password and ACL files of one Mosquitto.
type brokerFiles struct {
	db             *models.DB
	passwd         *models.BrokerPasswd
	out, aclOut    string
	user, password string
	reload         func() error
	log            *slog.Logger
	last           [2][]byte // the files as last written
}

// watch rewrites the files at each change of the devices' credentials
// (heard at commit) and every resync, and reloads Mosquitto when they
// changed, until ctx ends.
func (w *brokerFiles) watch(ctx context.Context, resync time.Duration) error {
	for ctx.Err() == nil {
		l, err := w.db.ListenDeviceCredentials(ctx)
		if err != nil {
			w.log.Warn("broker passwd: cannot listen for device changes; retrying", "err", err)
			sleep(ctx, 5*time.Second)
			continue
		}
		for err == nil {
			if _, err = w.writeAndReload(ctx); err != nil {
				break
			}
			_, err = l.Wait(ctx, resync)
		}
		l.Close()
		if errors.Is(err, models.ErrSecretUnreadable) {
			return err // retrying will not help: the wrong FLEETTASKS_SECRET
		}
		if ctx.Err() == nil {
			w.log.Warn("broker passwd: retrying", "err", err)
			sleep(ctx, 5*time.Second)
		}
	}
	return nil
}

func (w *brokerFiles) writeAndReload(ctx context.Context) (bool, error) {
	changed, err := w.write(ctx)
	if err != nil || !changed {
		return changed, err
	}
	if err := w.reload(); err != nil {
		w.log.Warn("broker passwd: cannot signal Mosquitto", "err", err)
	}
	return true, nil
}

// write writes both files (atomically, each by a rename) when their
// content changed, and reports whether it did.
func (w *brokerFiles) write(ctx context.Context) (bool, error) {
	start := time.Now()
	var pw, acl bytes.Buffer
	st, err := w.passwd.Write(ctx, &pw, map[string]string{w.user: w.password})
	if err != nil {
		return false, err
	}
	if w.aclOut != "" {
		if err := w.db.WriteBrokerACL(ctx, &acl, w.user); err != nil {
			return false, err
		}
	}
	if bytes.Equal(pw.Bytes(), w.last[0]) && bytes.Equal(acl.Bytes(), w.last[1]) {
		return false, nil
	}
	// the ACL first: a new device's rules are in place when its user is
	if w.aclOut != "" {
		if err := writeAtomic(w.aclOut, acl.Bytes()); err != nil {
			return false, err
		}
	}
	if err := writeAtomic(w.out, pw.Bytes()); err != nil {
		return false, err
	}
	w.last = [2][]byte{pw.Bytes(), acl.Bytes()}
	w.log.Info("broker passwd: files written", "users", st.Users, "hashed", st.Hashed, "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// writeAtomic replaces path by data through a temporary file and a
// rename, keeping the mode and owner of the file it replaces (Mosquitto
// reads it as its own user).
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("broker passwd: %w", err)
	}
	defer os.Remove(f.Name())
	mode := os.FileMode(0o640)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.Chown(int(st.Uid), int(st.Gid)) // best effort: only root may give a file away
		}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("broker passwd: write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("broker passwd: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("broker passwd: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("broker passwd: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("broker passwd: %w", err)
	}
	return nil
}

// reloader sends SIGHUP to the process of pidFile (read at each reload:
// Mosquitto may have restarted) or to pid; without either it does nothing.
func reloader(pidFile string, pid int) func() error {
	return func() error {
		p := pid
		if pidFile != "" {
			raw, err := os.ReadFile(pidFile)
			if err != nil {
				return err
			}
			if p, err = strconv.Atoi(strings.TrimSpace(string(raw))); err != nil {
				return fmt.Errorf("pid file %s: %w", pidFile, err)
			}
		}
		if p <= 0 {
			return nil
		}
		if err := syscall.Kill(p, syscall.SIGHUP); err != nil {
			return fmt.Errorf("SIGHUP to %d: %w", p, err)
		}
		return nil
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
