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
	SignMethod string    // default HMACSHA256
	SecureMode string    // default SecureModeTCP
	SDKVersion string    // the _v parameter; default "fleettasks-go"
	Time       time.Time // the timestamp; default now
}

// Sign builds the credentials of device d signing in with its secret: the
// client id {pk}.{dn}|timestamp=..,_ss=1,_v=..,securemode=..,signmethod=..,ext=3,|,
// the user name {dn}&{pk} and the signed password.
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
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	ts := strconv.FormatInt(o.Time.UnixMilli(), 10)
	return Credentials{
		ClientID: d.ProductKey + "." + d.DeviceName + "|timestamp=" + ts + ",_ss=1,_v=" + o.SDKVersion +
			",securemode=" + o.SecureMode + ",signmethod=" + o.SignMethod + ",ext=3,|",
		Username: Username(d),
		Password: Password(o.SignMethod, secret, d, ts),
	}
}

// Username is the user name of device d: {deviceName}&{productKey}.
func Username(d Device) string { return d.DeviceName + "&" + d.ProductKey }
