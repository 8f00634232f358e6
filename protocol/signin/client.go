package signin

import (
	"strconv"
	"time"
)

// Credentials are what an MQTT CONNECT carries to sign in.
type Credentials struct {
	ClientID string
	Username string
	Password string
}

// SignOptions are the choices of a signing device; zero values take the
// defaults.
type SignOptions struct {
	SignMethod string // default HMACSHA256
	SecureMode string // default SecureModeTCP
	SDKVersion string // the _v parameter; default "fleettasks-go"
	// Time is the signed timestamp; the zero time signs none, which keeps
	// the client id the same at every connect (a broker keys a persistent
	// session by it).
	Time time.Time
}

// Sign builds the credentials of device d signing in with its secret: the
// client id {pk}.{dn}|timestamp=..,_ss=1,_v=..,securemode=..,signmethod=..,ext=3,|
// (no timestamp for a zero o.Time), the user name {dn}&{pk} and the signed
// password.
func Sign(d Device, secret string, o SignOptions) Credentials {
	if o.SignMethod == "" {
		o.SignMethod = HMACSHA256
	}
	if o.SecureMode == "" {
		o.SecureMode = SecureModeTCP
	}
	if o.SDKVersion == "" {
		o.SDKVersion = "fleettasks-go"
	}
	ts, param := "", ""
	if !o.Time.IsZero() {
		ts = strconv.FormatInt(o.Time.UnixMilli(), 10)
		param = "timestamp=" + ts + ","
	}
	return Credentials{
		ClientID: d.ProductKey + "." + d.DeviceName + "|" + param + "_ss=1,_v=" + o.SDKVersion +
			",securemode=" + o.SecureMode + ",signmethod=" + o.SignMethod + ",ext=3,|",
		Username: Username(d),
		Password: Password(o.SignMethod, secret, d, ts),
	}
}

// Username is the user name of device d: {deviceName}&{productKey}.
func Username(d Device) string { return d.DeviceName + "&" + d.ProductKey }
