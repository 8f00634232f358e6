package handlers

import "net/url"

// localPath is next when a browser can read it only as a path of this
// site, else fallback. It is checked as the exact bytes that go into the
// Location header, after every decoding: it must start with one "/" not
// followed by "/" or "\" (which browsers read as another host), and hold
// only printable ASCII without "\" — no control character (browsers drop
// tabs and newlines, so "/\t/evil.com" is "//evil.com"), no DEL, nothing
// beyond ASCII (no Unicode slash or dot look-alikes). Percent escapes
// stay escapes: "/%09/evil.com" is a path of this site.
func localPath(next, fallback string) string {
	if len(next) == 0 || next[0] != '/' || len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return fallback
	}
	for i := 0; i < len(next); i++ {
		if b := next[i]; b < 0x21 || b > 0x7e || b == '\\' {
			return fallback
		}
	}
	return next
}

// sameOriginPath is the path and query of raw (a next parameter, or a
// Referer of this site) as sent, escapes kept, when localPath accepts
// them; else "".
func sameOriginPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil {
		return ""
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	if u.Scheme == "" && u.Host == "" && p != raw {
		return "" // a path that does not survive parsing as it is
	}
	return localPath(p, "")
}
