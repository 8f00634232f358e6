package signin

import (
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Reason says why a sign-in was refused. It never carries the secret.
type Reason string

const (
	ReasonUnknownDevice  Reason = "unknown device"
	ReasonNoSecret       Reason = "the device has no secret"
	ReasonBadSignature   Reason = "bad signature"
	ReasonMalformed      Reason = "malformed credentials"
	ReasonMismatch       Reason = "the user name and the client id name different devices"
	ReasonServerPassword Reason = "bad password of the server's user"
)

// Refusal is a sign-in refused for Reason; Detail says more (never the
// secret or the password).
type Refusal struct {
	Reason Reason
	Detail string
}

func (r *Refusal) Error() string {
	if r.Detail == "" {
		return "signin: " + string(r.Reason)
	}
	return "signin: " + string(r.Reason) + ": " + r.Detail
}

func refuse(r Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// AsRefusal returns the refusal in err, if any.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// Errors a SecretSource returns for a device that cannot sign in.
var (
	ErrUnknownDevice = errors.New("signin: no such device")
	ErrNoSecret      = errors.New("signin: the device has no secret")
)

// SecretSource finds a device's secret: ErrUnknownDevice (wrapped or not)
// when there is no such device, ErrNoSecret when it has none; any other
// error is a failure of the source (the sign-in cannot be decided).
type SecretSource interface {
	DeviceSecret(ctx context.Context, productKey, deviceName string) (string, error)
}

// Result is an accepted sign-in.
type Result struct {
	Server     bool // the server's own broker user (WithServer), not a device
	Device     Device
	Plain      bool   // the password was the secret itself
	SignMethod string // "" for a plain sign-in
	SecureMode string
	SDKVersion string
}

// Verifier checks the credentials of MQTT CONNECTs against the device
// secrets of a SecretSource.
type Verifier struct {
	secrets              SecretSource
	serverUser, serverPW string
}

// NewVerifier returns a verifier looking secrets up in src.
func NewVerifier(src SecretSource) *Verifier { return &Verifier{secrets: src} }

// WithServer returns v admitting also the server's own broker user with
// its password (an empty user admits none): every broker fleettasks
// answers for treats that user the same way.
func (v *Verifier) WithServer(user, password string) *Verifier {
	w := *v
	w.serverUser, w.serverPW = user, password
	return &w
}

// IsServer reports whether user is the server's own broker user.
func (v *Verifier) IsServer(user string) bool {
	return v.serverUser != "" && subtle.ConstantTimeCompare([]byte(user), []byte(v.serverUser)) == 1
}

// Verify checks c: a *Refusal when the sign-in is refused, another error
// when the secret could not be looked up.
func (v *Verifier) Verify(ctx context.Context, c Credentials) (Result, error) {
	if v.IsServer(c.Username) {
		if subtle.ConstantTimeCompare([]byte(c.Password), []byte(v.serverPW)) != 1 {
			return Result{}, refuse(ReasonServerPassword, "user %s", c.Username)
		}
		return Result{Server: true}, nil
	}
	id, d, err := parse(c)
	if err != nil {
		return Result{}, err
	}
	secret, err := v.secrets.DeviceSecret(ctx, d.ProductKey, d.DeviceName)
	switch {
	case errors.Is(err, ErrUnknownDevice):
		return Result{}, refuse(ReasonUnknownDevice, "no device %s", d)
	case errors.Is(err, ErrNoSecret):
		return Result{}, refuse(ReasonNoSecret, "device %s has no secret; rotate it to make one", d)
	case err != nil:
		return Result{}, fmt.Errorf("signin: look up the secret of %s: %w", d, err)
	}
	return check(id, d, c.Password, secret)
}

// Check verifies c against the secret of the device c names, without a
// look-up: the pure part of Verify.
func Check(c Credentials, secret string) (Result, error) {
	id, d, err := parse(c)
	if err != nil {
		return Result{}, err
	}
	return check(id, d, c.Password, secret)
}

// parse reads the user name and client id and checks they agree.
func parse(c Credentials) (ClientID, Device, error) {
	if len(c.Password) > MaxPassword {
		return ClientID{}, Device{}, refuse(ReasonMalformed, "the password is over %d bytes", MaxPassword)
	}
	d, err := ParseUsername(c.Username)
	if err != nil {
		return ClientID{}, Device{}, err
	}
	id, err := ParseClientID(c.ClientID)
	if err != nil {
		return ClientID{}, Device{}, err
	}
	if id.Signed && id.Device != d {
		return ClientID{}, Device{}, refuse(ReasonMismatch, "user name %s, client id %s", d, id.Device)
	}
	return id, d, nil
}

func check(id ClientID, d Device, password, secret string) (Result, error) {
	if secret == "" {
		return Result{}, refuse(ReasonNoSecret, "device %s has no secret", d)
	}
	if !id.Signed {
		if !hmac.Equal([]byte(password), []byte(secret)) {
			return Result{}, refuse(ReasonBadSignature, "the password is not the device secret of %s", d)
		}
		return Result{Device: d, Plain: true}, nil
	}
	got, err := hex.DecodeString(strings.ToLower(password))
	want, _ := hex.DecodeString(Password(id.SignMethod, secret, d, id.Timestamp))
	if err != nil || !hmac.Equal(got, want) {
		return Result{}, refuse(ReasonBadSignature, "the password is not the %s signature of %s", id.SignMethod, d)
	}
	return Result{Device: d, SignMethod: id.SignMethod, SecureMode: id.SecureMode, SDKVersion: id.SDKVersion}, nil
}
