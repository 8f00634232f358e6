package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"fleettasks/protocol/signin"
)

// DeviceSecretLength is the length of a device secret: 32 characters of
// [A-Za-z0-9] (about 190 bits), the shape of an Alibaba IoT device secret,
// safe in CSV files, shells and C strings.
const DeviceSecretLength = 32

// deviceSecretInfo is the HKDF info label of the device secrets' key: the
// same FLEETTASKS_SECRET gives other keys to other uses.
const deviceSecretInfo = "fleettasks device secrets v1"

// sealVersion is the first byte of a sealed secret: version, then the
// 12-byte nonce, then the AES-256-GCM ciphertext and tag.
const sealVersion = 1

// ErrSecretUnreadable is a stored device secret that does not decrypt:
// FLEETTASKS_SECRET is not the one it was sealed with.
var ErrSecretUnreadable = errors.New("models: a device secret does not decrypt; was FLEETTASKS_SECRET changed?")

// errNoSecretKey is a registry built without WithDeviceSecretKey asked to
// make or read a device secret.
var errNoSecretKey = errors.New("models: the registry has no key for device secrets (WithDeviceSecretKey)")

// WithDeviceSecretKey derives the key that seals device secrets from the
// server secret (FLEETTASKS_SECRET) with HKDF-SHA256. Without it, the
// registry cannot register devices nor read their secrets.
func WithDeviceSecretKey(serverSecret []byte) RegistryOption {
	return func(r *Registry) {
		if len(serverSecret) == 0 {
			return
		}
		key, err := hkdf.Key(sha256.New, serverSecret, nil, deviceSecretInfo, 32)
		if err != nil {
			panic(err) // only for a length over 255 * 32
		}
		block, _ := aes.NewCipher(key) // a 32-byte key is always valid
		r.secretKey, _ = cipher.NewGCM(block)
	}
}

// NewDeviceSecret makes a random device secret.
func NewDeviceSecret() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, DeviceSecretLength)
	buf := make([]byte, 64)
	for len(out) < DeviceSecretLength {
		rand.Read(buf) // never fails on supported platforms
		for _, b := range buf {
			if b < 248 && len(out) < DeviceSecretLength { // 248 = 4*62: no bias
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out)
}

// sealSecret encrypts the secret of device pk/dn; the device's identity is
// the additional data, so a sealed secret copied to another row does not
// open.
func (r *Registry) sealSecret(pk, dn, secret string) ([]byte, error) {
	if r.secretKey == nil {
		return nil, errNoSecretKey
	}
	nonce := make([]byte, r.secretKey.NonceSize())
	rand.Read(nonce)
	out := append([]byte{sealVersion}, nonce...)
	return r.secretKey.Seal(out, nonce, []byte(secret), []byte(pk+"/"+dn)), nil
}

// openSecret decrypts a sealed secret of device pk/dn.
func (r *Registry) openSecret(pk, dn string, sealed []byte) (string, error) {
	if r.secretKey == nil {
		return "", errNoSecretKey
	}
	n := r.secretKey.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return "", ErrSecretUnreadable
	}
	plain, err := r.secretKey.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(pk+"/"+dn))
	if err != nil {
		return "", ErrSecretUnreadable
	}
	return string(plain), nil
}

// newSecrets makes and seals a secret for each device name of pk.
func (r *Registry) newSecrets(pk string, names []string) (plain []string, sealed [][]byte, err error) {
	plain, sealed = make([]string, len(names)), make([][]byte, len(names))
	for i, dn := range names {
		plain[i] = NewDeviceSecret()
		if sealed[i], err = r.sealSecret(pk, dn, plain[i]); err != nil {
			return nil, nil, err
		}
	}
	return plain, sealed, nil
}

// DeviceSecret is the secret of device pk/dn, for checking its sign-in
// (one look-up by the devices' unique index): signin.ErrUnknownDevice when
// there is no such device, signin.ErrNoSecret when it has none (registered
// before secrets existed and never rotated), ErrSecretUnreadable when it
// does not decrypt.
func (r *Registry) DeviceSecret(ctx context.Context, pk, dn string) (string, error) {
	ref := DeviceRef{ProductKey: pk, DeviceName: dn}
	found, err := r.DeviceSecrets(ctx, []DeviceRef{ref})
	if err != nil {
		return "", err
	}
	return found[ref].Secret, found[ref].Err
}

// SecretLookup is one device's answer of DeviceSecrets: its secret, or
// the error DeviceSecret would give.
type SecretLookup struct {
	Secret string
	Err    error
}

// DeviceSecrets looks up the secrets of several devices in one query, for
// sign-ins arriving together (the embedded broker batches them). Each ref
// is answered as DeviceSecret would answer it; err is set only when the
// query failed.
func (r *Registry) DeviceSecrets(ctx context.Context, refs []DeviceRef) (map[DeviceRef]SecretLookup, error) {
	out := make(map[DeviceRef]SecretLookup, len(refs))
	var pks, dns []string
	for _, ref := range refs {
		out[ref] = SecretLookup{Err: signin.ErrUnknownDevice} // until found
		if ref.Registrable() {
			pks, dns = append(pks, ref.ProductKey), append(dns, ref.DeviceName)
		}
	}
	if len(pks) == 0 {
		return out, nil
	}
	rows, err := r.db.Pool.Query(ctx, `SELECT d.product_key, d.device_name, d.secret_enc
		FROM unnest($1::text[], $2::text[]) AS w(pk, dn)
		JOIN devices d ON d.product_key = w.pk AND d.device_name = w.dn`, pks, dns)
	if err != nil {
		return nil, fmt.Errorf("models: secrets of %d devices: %w", len(pks), err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref DeviceRef
		var sealed []byte
		if err := rows.Scan(&ref.ProductKey, &ref.DeviceName, &sealed); err != nil {
			return nil, fmt.Errorf("models: secrets of %d devices: %w", len(pks), err)
		}
		if sealed == nil {
			out[ref] = SecretLookup{Err: signin.ErrNoSecret}
			continue
		}
		secret, err := r.openSecret(ref.ProductKey, ref.DeviceName, sealed)
		out[ref] = SecretLookup{Secret: secret, Err: err}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: secrets of %d devices: %w", len(pks), err)
	}
	return out, nil
}

// RotateDeviceSecret gives device pk/dn a new secret and returns it: the
// one time it is shown. The old secret signs in no more.
func (r *Registry) RotateDeviceSecret(ctx context.Context, pk, dn string) (string, error) {
	if !(DeviceRef{ProductKey: pk, DeviceName: dn}).Registrable() {
		return "", NotFound("no device %s/%s", pk, dn)
	}
	secret := NewDeviceSecret()
	sealed, err := r.sealSecret(pk, dn, secret)
	if err != nil {
		return "", err
	}
	tag, err := r.db.Pool.Exec(ctx, `UPDATE devices SET secret_enc = $3 WHERE product_key = $1 AND device_name = $2`, pk, dn, sealed)
	if err != nil {
		return "", fmt.Errorf("models: rotate the secret of device %s/%s: %w", pk, dn, err)
	}
	if tag.RowsAffected() == 0 {
		return "", NotFound("no device %s/%s", pk, dn)
	}
	return secret, nil
}
