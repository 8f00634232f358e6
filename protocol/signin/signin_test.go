package signin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fleettasks/protocol/signin"
)

var a1d1 = signin.Device{ProductKey: "a1", DeviceName: "d1"}

// The expected passwords were computed with openssl, not with this code:
//
//	printf '%s' 'clientIda1.d1deviceNamed1productKeya1timestamp1700000000000' | openssl dgst -sha256 -hmac 'secret'
//	printf '%s' 'clientIda1.d1deviceNamed1productKeya1' | openssl dgst -sha256 -hmac 'secret'
//	(and the same with -sha1 and -md5)
func TestPasswordVectors(t *testing.T) {
	for _, tc := range []struct {
		method, timestamp, want string
	}{
		{signin.HMACSHA256, "1700000000000", "6ab2158acc1c4882f36c52979a4e8b7ee32ebb351cafdcc01fa9c3cd37c40a54"},
		{signin.HMACSHA256, "", "d5e36eeafe686d599dc13ff25324a0cee4d9b098746b0d0936fb65668fda464c"},
		{signin.HMACSHA1, "1700000000000", "5a14b6460aaffbdd78a932690b32ff2ef7c96af2"},
		{signin.HMACSHA1, "", "ca8e8a4fa58f72d9300892e2bec48cf9f1bb90f4"},
		{signin.HMACMD5, "1700000000000", "9f08ec89723e2a221ca151fd9f1ad451"},
		{signin.HMACMD5, "", "0c3ef983b01d75a322492e745e3ad2d2"},
	} {
		if got := signin.Password(tc.method, "secret", a1d1, tc.timestamp); got != tc.want {
			t.Errorf("%s timestamp %q: %s, want %s", tc.method, tc.timestamp, got, tc.want)
		}
		params := "securemode=3,signmethod=" + tc.method + ",_v=sdk-4.1,"
		if tc.timestamp != "" {
			params = "timestamp=" + tc.timestamp + "," + params
		}
		c := signin.Credentials{ClientID: "a1.d1|" + params + "|", Username: "d1&a1", Password: tc.want}
		res, err := signin.Check(c, "secret")
		if err != nil || res.Device != a1d1 || res.SDKVersion != "sdk-4.1" || res.SignMethod != tc.method || res.SecureMode != "3" || res.Plain {
			t.Errorf("%s timestamp %q: check %+v %v", tc.method, tc.timestamp, res, err)
		}
		c.Password = strings.ToUpper(tc.want) // some SDKs send upper case hex
		if _, err := signin.Check(c, "secret"); err != nil {
			t.Errorf("%s upper case: %v", tc.method, err)
		}
	}
}

// The client ids the Alibaba C SDKs send, byte for byte in their layout:
// Link SDK 4 (a fixed timestamp in 2050, a trailing extension list), the
// older iotkit-embedded 3 (lan, gw, ext) and iotkit-embedded 3.0.0 as it
// signed in to the embedded broker (ver instead of _v, the password in
// upper case), with their passwords from
//
//	printf '%s' 'clientIda1.d1deviceNamed1productKeya1timestamp2524608000000' | openssl dgst -sha256 -hmac 'secret'
//	printf '%s' 'clientIda1.d1deviceNamed1productKeya1timestamp2524608000000' | openssl dgst -sha1 -hmac 'secret'
func TestCSDKClientIDs(t *testing.T) {
	for _, tc := range []struct{ clientID, password, sdk, mode string }{
		{"a1.d1|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=2,signmethod=hmacsha256,ext=3,_conn=tcp|",
			"76496f7cc12fd4b6d4ac91ec379278fe6cafefc2d89b34593e4af85a592ce0a5", "sdk-c-4.1.0", "2"},
		{"a1.d1|timestamp=2524608000000,_v=sdk-c-3.0.1,securemode=3,signmethod=hmacsha1,lan=C,gw=0,ext=0|",
			"1a3ae49436cc0fbaaafc89dea7e1255bbe831de2", "sdk-c-3.0.1", "3"},
		{"a1.d1|securemode=3,timestamp=2524608000000,signmethod=hmacsha256,gw=0,ext=0,ver=c-sdk-3.0.0|",
			"76496F7CC12FD4B6D4AC91EC379278FE6CAFEFC2D89B34593E4AF85A592CE0A5", "c-sdk-3.0.0", "3"},
	} {
		res, err := signin.Check(signin.Credentials{ClientID: tc.clientID, Username: "d1&a1", Password: tc.password}, "secret")
		if err != nil || res.Device != a1d1 || res.SDKVersion != tc.sdk || res.SecureMode != tc.mode {
			t.Errorf("%s: %+v %v", tc.clientID, res, err)
		}
	}
}

func reason(err error) signin.Reason {
	if r, ok := signin.AsRefusal(err); ok {
		return r.Reason
	}
	return ""
}

func TestCheckRefusals(t *testing.T) {
	good := signin.Sign(a1d1, "secret", signin.SignOptions{Time: time.UnixMilli(1700000000000)})
	if good.ClientID != "a1.d1|timestamp=1700000000000,_ss=1,_v=fleettasks-go,securemode=3,signmethod=hmacsha256,ext=3,|" ||
		good.Username != "d1&a1" || good.Password != "6ab2158acc1c4882f36c52979a4e8b7ee32ebb351cafdcc01fa9c3cd37c40a54" {
		t.Fatalf("Sign: %+v", good)
	}
	with := func(f func(*signin.Credentials)) signin.Credentials { c := good; f(&c); return c }
	for name, tc := range map[string]struct {
		c      signin.Credentials
		secret string
		want   signin.Reason
	}{
		"wrong secret":        {good, "other", signin.ReasonBadSignature},
		"no secret":           {good, "", signin.ReasonNoSecret},
		"one bit off":         {with(func(c *signin.Credentials) { c.Password = "7" + c.Password[1:] }), "secret", signin.ReasonBadSignature},
		"password not hex":    {with(func(c *signin.Credentials) { c.Password = "zz" }), "secret", signin.ReasonBadSignature},
		"other timestamp":     {with(func(c *signin.Credentials) { c.ClientID = strings.Replace(c.ClientID, "17", "18", 1) }), "secret", signin.ReasonBadSignature},
		"other method":        {with(func(c *signin.Credentials) { c.ClientID = strings.Replace(c.ClientID, "hmacsha256", "hmacsha1", 1) }), "secret", signin.ReasonBadSignature},
		"user name other dev": {with(func(c *signin.Credentials) { c.Username = "d2&a1" }), "secret", signin.ReasonMismatch},
		"user name other pk":  {with(func(c *signin.Credentials) { c.Username = "d1&a2" }), "secret", signin.ReasonMismatch},
		"user name slash":     {with(func(c *signin.Credentials) { c.Username = "a1/d1" }), "secret", signin.ReasonMalformed},
		"unknown method":      {with(func(c *signin.Credentials) { c.ClientID = "a1.d1|signmethod=hmacsha512|" }), "secret", signin.ReasonMalformed},
		"no method":           {with(func(c *signin.Credentials) { c.ClientID = "a1.d1|timestamp=1|" }), "secret", signin.ReasonMalformed},
		"unclosed":            {with(func(c *signin.Credentials) { c.ClientID = "a1.d1|signmethod=hmacsha1" }), "secret", signin.ReasonMalformed},
		"bad timestamp":       {with(func(c *signin.Credentials) { c.ClientID = "a1.d1|timestamp=12a,signmethod=hmacsha1|" }), "secret", signin.ReasonMalformed},
		"long client id":      {with(func(c *signin.Credentials) { c.ClientID += strings.Repeat("x", 600) }), "secret", signin.ReasonMalformed},
		"long password":       {with(func(c *signin.Credentials) { c.Password = strings.Repeat("a", 300) }), "secret", signin.ReasonMalformed},
		"plain wrong":         {signin.Credentials{ClientID: "anything", Username: "d1&a1", Password: "Zq9-plain-keY"}, "Zq9-plain-key", signin.ReasonBadSignature},
		"empty":               {signin.Credentials{}, "secret", signin.ReasonMalformed},
	} {
		_, err := signin.Check(tc.c, tc.secret)
		if reason(err) != tc.want {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if err != nil && len(tc.c.Password) > 4 && strings.Contains(err.Error(), tc.c.Password) {
			t.Errorf("%s: the refusal %q shows the password", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "Zq9") {
			t.Errorf("%s: the refusal %q shows the secret", name, err)
		}
	}
	res, err := signin.Check(signin.Credentials{ClientID: "sensor-1", Username: "d1&a1", Password: "secret"}, "secret")
	if err != nil || !res.Plain || res.Device != a1d1 {
		t.Fatalf("plain: %+v %v", res, err)
	}
}

// secrets is a SecretSource over a map; "pk/dn" → secret, "" for none.
type secrets map[string]string

func (s secrets) DeviceSecret(_ context.Context, pk, dn string) (string, error) {
	v, ok := s[pk+"/"+dn]
	switch {
	case !ok:
		return "", signin.ErrUnknownDevice
	case v == "":
		return "", signin.ErrNoSecret
	}
	return v, nil
}

type failing struct{}

func (failing) DeviceSecret(context.Context, string, string) (string, error) {
	return "", errors.New("database down")
}

func TestVerifier(t *testing.T) {
	ctx := context.Background()
	src := secrets{"a1/d1": "secret", "a1/d2": ""}
	v := signin.NewVerifier(src)
	good := signin.Sign(a1d1, "secret", signin.SignOptions{SDKVersion: "c-4.0"})
	res, err := v.Verify(ctx, good)
	if err != nil || res.Device != a1d1 || res.SDKVersion != "c-4.0" {
		t.Fatalf("verify: %+v %v", res, err)
	}
	if _, err := v.Verify(ctx, signin.Sign(signin.Device{ProductKey: "a1", DeviceName: "d3"}, "secret", signin.SignOptions{})); reason(err) != signin.ReasonUnknownDevice {
		t.Errorf("unknown device: %v", err)
	}
	if _, err := v.Verify(ctx, signin.Sign(signin.Device{ProductKey: "a1", DeviceName: "d2"}, "secret", signin.SignOptions{})); reason(err) != signin.ReasonNoSecret {
		t.Errorf("no secret: %v", err)
	}
	src["a1/d1"] = "rotated" // the old secret is refused after a rotation
	if _, err := v.Verify(ctx, good); reason(err) != signin.ReasonBadSignature {
		t.Errorf("rotated: %v", err)
	}
	if _, err := signin.NewVerifier(failing{}).Verify(ctx, good); err == nil || reason(err) != "" {
		t.Errorf("failing source: %v", err)
	}
}
