// Package assets holds the console's built static files (Tailwind CSS,
// htmx, console.js), embedded so that the binary needs no node, and
// serves them under content-hashed names (app.3f2a9c1e.css) so that they
// can be cached for a year.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
	"sync"
)

//go:embed static
var static embed.FS

// Prefix is the URL path the static files are served under.
const Prefix = "/static/"

// File is one embedded static file.
type File struct {
	Name        string // hashed name, e.g. app.3f2a9c1e.css
	ContentType string
	Body        []byte
}

var index = sync.OnceValue(func() map[string]*File {
	byName := map[string]*File{}
	entries, _ := fs.ReadDir(static, "static")
	for _, e := range entries {
		body, err := static.ReadFile("static/" + e.Name())
		if err != nil || e.IsDir() {
			continue
		}
		sum := sha256.Sum256(body)
		f := &File{Name: hashed(e.Name(), hex.EncodeToString(sum[:4])), Body: body,
			ContentType: mime.TypeByExtension(path.Ext(e.Name()))}
		if f.ContentType == "" {
			f.ContentType = "application/octet-stream"
		}
		byName[e.Name()], byName[f.Name] = f, f
	}
	return byName
})

// hashed inserts hash before the extension of name.
func hashed(name, hash string) string {
	i := strings.Index(name, ".")
	if i < 0 {
		return name + "." + hash
	}
	return name[:i] + "." + hash + name[i:]
}

// URL is the content-hashed URL of the static file name (e.g. "app.css");
// an unknown name gives the plain path so that the mistake shows as a 404.
func URL(name string) string {
	if f, ok := index()[name]; ok {
		return Prefix + f.Name
	}
	return Prefix + name
}

// Lookup returns the file of a hashed name (the part of the URL after
// Prefix); plain names are not served, so every URL is immutable.
func Lookup(hashedName string) (*File, bool) {
	f, ok := index()[hashedName]
	if !ok || f.Name != hashedName {
		return nil, false
	}
	return f, true
}
