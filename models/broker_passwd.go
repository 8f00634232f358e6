package models

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Mosquitto 2.0's password hash ($7$): PBKDF2-SHA512 over a 12-byte salt,
// 101 iterations by default, written $7$iterations$base64(salt)$base64(hash).
const (
	mosquittoSaltLen    = 12
	mosquittoIterations = 101
)

// MosquittoHash hashes password as mosquitto_passwd does (Mosquitto 2.0).
func MosquittoHash(password string) (string, error) {
	salt := make([]byte, mosquittoSaltLen)
	rand.Read(salt)
	sum, err := pbkdf2.Key(sha512.New, password, salt, mosquittoIterations, sha512.Size)
	if err != nil {
		return "", fmt.Errorf("models: mosquitto hash: %w", err)
	}
	return "$7$" + strconv.Itoa(mosquittoIterations) + "$" + base64.StdEncoding.EncodeToString(salt) + "$" +
		base64.StdEncoding.EncodeToString(sum), nil
}

// BrokerPasswd writes Mosquitto password files of the registered devices:
// user {dn}&{pk}, the device secret as password (Mosquitto checks a plain
// sign-in only). Hashing is slow by design, so it keeps each user's line
// from the previous write and hashes again only the users whose password
// changed, known by a digest keyed with a key of this process (never
// written anywhere).
type BrokerPasswd struct {
	reg   *Registry
	key   []byte
	lines map[string]passwdLine
}

type passwdLine struct {
	digest [sha256.Size]byte
	line   string
}

// PasswdStats says what one write did.
type PasswdStats struct {
	Users  int // lines written
	Hashed int // of which hashed anew
}

// NewBrokerPasswd returns a writer of password files for the devices of reg.
func NewBrokerPasswd(reg *Registry) *BrokerPasswd {
	key := make([]byte, 32)
	rand.Read(key)
	return &BrokerPasswd{reg: reg, key: key, lines: map[string]passwdLine{}}
}

// Write writes the whole file to w: the users of extra (user → password,
// e.g. the server's) first, then every device with a secret. Devices are
// streamed in (product key, device name) order.
func (p *BrokerPasswd) Write(ctx context.Context, w io.Writer, extra map[string]string) (PasswdStats, error) {
	var st PasswdStats
	next := make(map[string]passwdLine, len(p.lines))
	put := func(user, password string) error {
		m := hmac.New(sha256.New, p.key)
		m.Write([]byte(user + "\x00" + password))
		var d [sha256.Size]byte
		copy(d[:], m.Sum(nil))
		l, ok := p.lines[user]
		if !ok || l.digest != d {
			h, err := MosquittoHash(password)
			if err != nil {
				return err
			}
			l = passwdLine{digest: d, line: user + ":" + h + "\n"}
			st.Hashed++
		}
		next[user] = l
		st.Users++
		_, err := io.WriteString(w, l.line)
		return err
	}
	for user, pw := range extra {
		if err := put(user, pw); err != nil {
			return st, err
		}
	}
	err := p.reg.EachDeviceSecret(ctx, func(pk, dn, secret string) error {
		return put(DeviceUsername(pk, dn), secret)
	})
	if err != nil {
		return st, err
	}
	p.lines = next
	return st, nil
}

// EachDeviceSecret calls fn with each device that has a secret, in
// (product key, device name) order, streaming: the secrets are opened one
// at a time and never kept.
func (r *Registry) EachDeviceSecret(ctx context.Context, fn func(pk, dn, secret string) error) error {
	rows, err := r.db.Pool.Query(ctx, `SELECT product_key, device_name, secret_enc FROM devices
		WHERE secret_enc IS NOT NULL ORDER BY product_key, device_name`)
	if err != nil {
		return fmt.Errorf("models: device secrets: %w", err)
	}
	var pk, dn string
	var sealed []byte
	_, err = pgx.ForEachRow(rows, []any{&pk, &dn, &sealed}, func() error {
		secret, err := r.openSecret(pk, dn, sealed)
		if err != nil {
			return err
		}
		return fn(pk, dn, secret)
	})
	if err != nil {
		return fmt.Errorf("models: device secrets: %w", err)
	}
	return nil
}
