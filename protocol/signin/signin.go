// Package signin is how a device proves who it is when it opens an MQTT
// connection, the Alibaba IoT way (docs/protocol.md, Device identity).
// The device signs with its device secret; the server checks with the
// same secret. Both sides use this package: the device client builds its
// credentials with Sign, a broker hook or an HTTP auth endpoint checks
// them with a Verifier.
//
// Signed sign-in:
//
//	user name  {deviceName}&{productKey}
//	client id  {productKey}.{deviceName}|timestamp={ms},_v={sdk},securemode=3,signmethod=hmacsha256|
//	password   lowercase hex of HMAC(deviceSecret,
//	           "clientId{productKey}.{deviceName}deviceName{deviceName}productKey{productKey}timestamp{ms}")
//
// The "timestamp{ms}" part is left out when the client id carries no
// timestamp. Plain sign-in: the same user name and the device secret
// itself as the password (for simple clients, over TLS only).
package signin

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// Sign methods a client id may name.
const (
	HMACSHA256 = "hmacsha256"
	HMACSHA1   = "hmacsha1"
	HMACMD5    = "hmacmd5"
)

// Secure modes of the Alibaba client id: 3 is a direct TCP connection, 2
// a direct TLS connection. The verifier reads the mode and reports it; it
// does not enforce it (the broker's listener decides on TLS).
const (
	SecureModeTCP = "3"
	SecureModeTLS = "2"
)

// Limits on what a client may send; longer input is refused as malformed
// before any other work.
const (
	MaxClientID = 512
	MaxUsername = 130 // 64 + "&" + 64
	MaxPassword = 256
	maxName     = 64
	maxParam    = 64 // a parameter's value
	maxParams   = 16
)

// Device names a device: its product key and device name.
type Device struct {
	ProductKey string `json:"productKey"`
	DeviceName string `json:"deviceName"`
}

func (d Device) String() string { return d.ProductKey + "/" + d.DeviceName }

// hasher is the hash of a sign method, nil when the method is unknown.
func hasher(method string) func() hash.Hash {
	switch method {
	case HMACSHA256:
		return sha256.New
	case HMACSHA1:
		return sha1.New
	case HMACMD5:
		return md5.New
	}
	return nil
}

// Content is the string a device signs: clientId{pk}.{dn}deviceName{dn}
// productKey{pk} and, when timestamp is not empty, timestamp{timestamp}.
func Content(d Device, timestamp string) string {
	var b strings.Builder
	b.WriteString("clientId")
	b.WriteString(d.ProductKey + "." + d.DeviceName)
	b.WriteString("deviceName" + d.DeviceName)
	b.WriteString("productKey" + d.ProductKey)
	if timestamp != "" {
		b.WriteString("timestamp" + timestamp)
	}
	return b.String()
}

// Password is the signed password: lowercase hex of the HMAC of Content
// with secret by method ("" for an unknown method).
func Password(method, secret string, d Device, timestamp string) string {
	h := hasher(method)
	if h == nil {
		return ""
	}
	m := hmac.New(h, []byte(secret))
	m.Write([]byte(Content(d, timestamp)))
	return hex.EncodeToString(m.Sum(nil))
}
