package signin_test

import (
	"strings"
	"testing"

	"fleettasks/protocol/signin"
)

// ParseClientID never panics, and what it accepts as signed names a
// device by the registry's rules and a known sign method.
func FuzzParseClientID(f *testing.F) {
	f.Add("a1.d1|timestamp=1700000000000,_ss=1,_v=sdk-4.1,securemode=3,signmethod=hmacsha256,ext=3,|")
	f.Add("a1.d1|signmethod=hmacmd5|")
	f.Add("a1.d.1.x|securemode=2,signmethod=HMACSHA1,|")
	f.Add("a1.d1||")
	f.Add("a1.d1|signmethod=hmacsha1||")
	f.Add("|||")
	f.Add("a1.d1|=,=,=|")
	f.Add("plain-client")
	f.Add(strings.Repeat("a", 600))
	f.Fuzz(func(t *testing.T, s string) {
		id, err := signin.ParseClientID(s)
		if err != nil {
			if _, ok := signin.AsRefusal(err); !ok {
				t.Fatalf("%q: error %v is not a refusal", s, err)
			}
			return
		}
		if len(s) > signin.MaxClientID {
			t.Fatalf("accepted %d bytes", len(s))
		}
		if id.Signed {
			if id.Device.ProductKey == "" || id.Device.DeviceName == "" || strings.ContainsAny(id.Device.ProductKey, ".|&") {
				t.Fatalf("%q: device %+v", s, id.Device)
			}
			if signin.Password(id.SignMethod, "k", id.Device, id.Timestamp) == "" {
				t.Fatalf("%q: sign method %q", s, id.SignMethod)
			}
		}
	})
}
