package signin

import (
	"strings"
)

// ClientID is a parsed Alibaba client id.
type ClientID struct {
	Device Device
	// Signed is true when the client id carries parameters between bars;
	// a bare client id ({pk}.{dn} or anything else) is for plain sign-in.
	Signed     bool
	Timestamp  string // "" when absent
	SignMethod string // lowercase
	SecureMode string
	SDKVersion string // the _v parameter, or ver (iotkit-embedded 3.0) without one
}

// ParseClientID reads {productKey}.{deviceName}|k=v,k=v,...| . The
// parameters are in any order, may end with a comma and may include
// others (ignored). A client id without bars names its device by the same
// {productKey}.{deviceName} form when it can; Device is then zero
// otherwise. It refuses (with a Refusal of ReasonMalformed) a client id
// that is too long, has bad names or parameters, or an unknown signmethod.
func ParseClientID(s string) (ClientID, error) {
	var out ClientID
	if len(s) > MaxClientID {
		return out, refuse(ReasonMalformed, "the client id is over %d bytes", MaxClientID)
	}
	head, rest, barred := strings.Cut(s, "|")
	if !barred {
		if d, ok := splitDevice(head, "."); ok {
			out.Device = d
		}
		return out, nil
	}
	d, ok := splitDevice(head, ".")
	if !ok {
		return out, refuse(ReasonMalformed, "the client id does not start with {productKey}.{deviceName}")
	}
	out.Device, out.Signed = d, true
	params, tail, closed := strings.Cut(rest, "|")
	if !closed || tail != "" {
		return out, refuse(ReasonMalformed, "the client id's parameters must end with a single '|'")
	}
	n := 0
	var ver string
	for _, kv := range strings.Split(params, ",") {
		if kv == "" {
			continue
		}
		if n++; n > maxParams {
			return out, refuse(ReasonMalformed, "the client id has over %d parameters", maxParams)
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || len(v) > maxParam {
			return out, refuse(ReasonMalformed, "the client id has a bad parameter")
		}
		switch k {
		case "timestamp":
			if v == "" || len(v) > 20 || strings.Trim(v, "0123456789") != "" {
				return out, refuse(ReasonMalformed, "the client id's timestamp is not a number of milliseconds")
			}
			out.Timestamp = v
		case "signmethod":
			out.SignMethod = strings.ToLower(v)
			if hasher(out.SignMethod) == nil {
				return out, refuse(ReasonMalformed, "the client id's signmethod is not hmacsha256, hmacsha1 or hmacmd5")
			}
		case "securemode":
			out.SecureMode = v
		case "_v":
			out.SDKVersion = v
		case "ver":
			ver = v
		}
	}
	if out.SDKVersion == "" {
		out.SDKVersion = ver
	}
	if out.SignMethod == "" {
		return out, refuse(ReasonMalformed, "the client id has no signmethod")
	}
	return out, nil
}

// ParseUsername reads {deviceName}&{productKey}.
func ParseUsername(s string) (Device, error) {
	if len(s) > MaxUsername {
		return Device{}, refuse(ReasonMalformed, "the user name is over %d bytes", MaxUsername)
	}
	i := strings.LastIndexByte(s, '&')
	if i < 0 {
		return Device{}, refuse(ReasonMalformed, "the user name is not {deviceName}&{productKey}")
	}
	d := Device{ProductKey: s[i+1:], DeviceName: s[:i]}
	if !validName(d.ProductKey, false) || !validName(d.DeviceName, true) {
		return Device{}, refuse(ReasonMalformed, "the user name is not {deviceName}&{productKey}")
	}
	return d, nil
}

// splitDevice reads {productKey}{sep}{deviceName}: the product key has no
// '.', so the first sep splits.
func splitDevice(s, sep string) (Device, bool) {
	pk, dn, ok := strings.Cut(s, sep)
	d := Device{ProductKey: pk, DeviceName: dn}
	return d, ok && validName(pk, false) && validName(dn, true)
}

// validName follows the registry's naming rules: a product key is 1..64
// of [A-Za-z0-9_-], a device name 1..64 of [A-Za-z0-9_.:@-].
func validName(s string, device bool) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case device && (c == '.' || c == ':' || c == '@'):
		default:
			return false
		}
	}
	return true
}
