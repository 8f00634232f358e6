package models

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"fleettasks/internal/jsoncheck"
)

// The kinds of file in the library.
const (
	FileRule     = "rule"
	FileFirmware = "firmware"
)

// firmwareExts are the accepted firmware file name extensions.
var firmwareExts = []string{".tar.gz", ".bin", ".apk", ".tar", ".gz", ".zip", ".gzip"}

// maxNameLen bounds the stored original file name, in characters.
const maxNameLen = 255

// SignedURLLifetime is how long a signed download URL stays valid.
const SignedURLLifetime = time.Hour

// ErrSignature says that a signed download URL is missing, tampered with
// or expired.
var ErrSignature = errors.New("the download link is invalid or has expired")

// File is an uploaded rule file or firmware image. The bytes live under
// the data directory by StorageName, never by the user's name.
type File struct {
	ID          ID        `gorm:"column:id;primaryKey" json:"id"`
	Kind        string    `gorm:"column:kind" json:"kind"`
	Name        string    `gorm:"column:name" json:"name"`
	Size        int64     `gorm:"column:size" json:"size"`
	MD5         string    `gorm:"column:md5" json:"md5"`
	SHA256      string    `gorm:"column:sha256" json:"sha256"`
	StorageName string    `gorm:"column:storage_name" json:"-"`
	CreatedAt   time.Time `gorm:"column:created_at" json:"createdAt"`
}

// TableName is the table of File.
func (File) TableName() string { return "files" }

// AfterFind keeps times in UTC whatever the session's time zone.
func (f *File) AfterFind(*gorm.DB) error {
	f.CreatedAt = f.CreatedAt.UTC()
	return nil
}

// ContentType is the media type the file is served as.
func (f *File) ContentType() string {
	if f.Kind == FileRule {
		return "application/json"
	}
	return "application/octet-stream"
}

// Files is the service for the file library: rule files and firmware,
// stored under the data directory by generated names, downloaded by
// devices through signed URLs.
type Files struct {
	db          *DB
	dir         string
	secret      []byte
	publicURL   string
	now         func() time.Time
	maxFirmware int64
}

// FilesOption configures a Files.
type FilesOption func(*Files)

// WithMaxFirmwareSize is the firmware size limit; MaxFirmwareSize unless
// given (tests exercise the limit with small bodies).
func WithMaxFirmwareSize(n int64) FilesOption {
	return func(f *Files) { f.maxFirmware = n }
}

// NewFiles returns the file service storing under dir; signed URLs are
// built on publicURL and signed with secret.
func NewFiles(db *DB, dir string, secret []byte, publicURL string, opts ...FilesOption) *Files {
	f := &Files{db: db, dir: dir, secret: secret, publicURL: strings.TrimRight(publicURL, "/"),
		now: time.Now, maxFirmware: MaxFirmwareSize}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Limit is the largest file accepted for kind; an unknown kind (not yet
// read from the form) gets the largest limit, checked again once known.
func (f *Files) Limit(kind string) int64 {
	if kind == FileRule {
		return MaxRuleSize
	}
	return f.maxFirmware
}

// CheckKind reports whether kind names a kind of file.
func CheckKind(kind string) error {
	switch kind {
	case FileRule, FileFirmware:
		return nil
	case "":
		return Invalid("kind", "is required: rule or firmware")
	}
	return Invalid("kind", "%q is not a kind of file; use rule or firmware", kind)
}

// Get returns the file id.
func (f *Files) Get(ctx context.Context, id ID) (*File, error) {
	var file File
	err := f.db.Gorm.WithContext(ctx).Where("id = ?", id).Take(&file).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("file %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("models: get file %s: %w", id, err)
	}
	return &file, nil
}

// List returns one page of files, newest first, of one kind or ("") all.
func (f *Files) List(ctx context.Context, kind string, p Page) (List[File], error) {
	q := f.db.Gorm.WithContext(ctx).Model(&File{})
	if kind != "" {
		if err := CheckKind(kind); err != nil {
			return List[File]{}, err
		}
		q = q.Where("kind = ?", kind)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return List[File]{}, fmt.Errorf("models: count files: %w", err)
	}
	var items []File
	if err := q.Order("id DESC").Offset(p.Offset()).Limit(p.Size).Find(&items).Error; err != nil {
		return List[File]{}, fmt.Errorf("models: list files: %w", err)
	}
	return NewList(items, total, p), nil
}

// Open returns the file id and its content, open for reading; the caller
// closes it.
func (f *Files) Open(ctx context.Context, id ID) (*File, *os.File, error) {
	file, err := f.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	r, err := os.Open(f.storagePath(file.StorageName))
	if err != nil {
		return nil, nil, fmt.Errorf("models: open content of file %s: %w", id, err)
	}
	return file, r, nil
}

// RuleDocument returns the compacted JSON of rule file id, as a task's
// job document.
func (f *Files) RuleDocument(ctx context.Context, id ID) ([]byte, error) {
	if file, err := f.Get(ctx, id); err != nil {
		return nil, err
	} else if file.Kind != FileRule {
		return nil, Unprocessable("ruleFileId", "file %s is %s, not a rule file", id, file.Kind)
	}
	_, r, err := f.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	raw, err := io.ReadAll(io.LimitReader(r, MaxRuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("models: read rule file %s: %w", id, err)
	}
	return CompactDocument("ruleFileId", raw)
}

// SignedURL is the URL a device downloads file id from without a token,
// valid for SignedURLLifetime from now.
func (f *Files) SignedURL(id ID, now time.Time) string {
	expires := strconv.FormatInt(now.Add(SignedURLLifetime).Unix(), 10)
	return fmt.Sprintf("%s/download/files/%s?expires=%s&signature=%s", f.publicURL, id, expires, f.sign(id, expires))
}

// Verify checks the expires and signature query parameters of a signed
// URL of file id at time now; the error wraps ErrSignature.
func (f *Files) Verify(id ID, expires, signature string, now time.Time) error {
	if len(f.secret) == 0 {
		return fmt.Errorf("%w: the server has no signing secret", ErrSignature)
	}
	if expires == "" || signature == "" {
		return fmt.Errorf("%w: expires and signature are required", ErrSignature)
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: expires %q is not a Unix time", ErrSignature, expires)
	}
	if subtle.ConstantTimeCompare([]byte(signature), []byte(f.sign(id, expires))) != 1 {
		return fmt.Errorf("%w: the signature does not match", ErrSignature)
	}
	if now.Unix() > exp {
		return fmt.Errorf("%w: it expired at %s", ErrSignature, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

func (f *Files) sign(id ID, expires string) string {
	mac := hmac.New(sha256.New, f.secret)
	mac.Write([]byte(id.String() + ":" + expires))
	return hex.EncodeToString(mac.Sum(nil))
}

// Upload is a file being received: spooled into a temporary file under
// the data directory while its size and digests are computed.
type Upload struct {
	Name   string // sanitized original name
	Size   int64
	MD5    string
	SHA256 string
	path   string
}

// Discard removes the temporary file; it is safe to call more than once
// and after Create.
func (u *Upload) Discard() {
	if u != nil && u.path != "" {
		os.Remove(u.path)
		u.path = ""
	}
}

// Receive streams r into a temporary file, computing MD5 and SHA-256, and
// stops with a 413 error as soon as more than limit bytes arrive. name is
// the client's file name, kept only (sanitized) as the display name; a
// name with U+0000 or bytes that are not UTF-8 is refused rather than
// silently changed, since the file would not be recognisable by it.
func (f *Files) Receive(name string, r io.Reader, limit int64) (*Upload, error) {
	if p := jsoncheck.CheckString("file", name); p != nil {
		return nil, Invalid("file", "the file name %s", p.Reason)
	}
	tmpDir := filepath.Join(f.dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return nil, fmt.Errorf("models: receive file: %w", err)
	}
	tmp, err := os.CreateTemp(tmpDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("models: receive file: %w", err)
	}
	up := &Upload{Name: SanitizeFileName(name), path: tmp.Name()}
	md5h, sha := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, md5h, sha), io.LimitReader(r, limit+1))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		up.Discard()
		return nil, fmt.Errorf("models: receive file %q: %w", up.Name, err)
	case n > limit:
		up.Discard()
		return nil, tooLarge("file", "is larger than the limit of %s", sizeText(limit))
	}
	up.Size, up.MD5, up.SHA256 = n, hexSum(md5h), hexSum(sha)
	return up, nil
}

// Create checks a received upload against the rules of kind, moves it
// into storage and records it. The upload is consumed: on failure its
// temporary file is removed.
func (f *Files) Create(ctx context.Context, kind string, up *Upload) (*File, error) {
	defer up.Discard()
	if err := f.check(kind, up); err != nil {
		return nil, err
	}
	storage, err := randomName()
	if err != nil {
		return nil, err
	}
	dst := f.storagePath(storage)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return nil, fmt.Errorf("models: store file %q: %w", up.Name, err)
	}
	if err := os.Rename(up.path, dst); err != nil {
		return nil, fmt.Errorf("models: store file %q: %w", up.Name, err)
	}
	up.path = ""
	file := &File{Kind: kind, Name: up.Name, Size: up.Size, MD5: up.MD5, SHA256: up.SHA256,
		StorageName: storage, CreatedAt: f.now().UTC().Truncate(time.Microsecond)}
	if file.Name == "" && kind == FileRule {
		file.Name = "rule.json"
	}
	if err := f.db.Gorm.WithContext(ctx).Create(file).Error; err != nil {
		os.Remove(dst)
		return nil, fmt.Errorf("models: record file %q: %w", up.Name, err)
	}
	return file, nil
}

// check applies the rules of kind to a received upload.
func (f *Files) check(kind string, up *Upload) error {
	if err := CheckKind(kind); err != nil {
		return err
	}
	if up == nil {
		return Invalid("file", "is required: send the file as the multipart part \"file\"")
	}
	if up.Size == 0 {
		return Invalid("file", "is empty")
	}
	if up.Size > f.Limit(kind) {
		return tooLarge("file", "is %d bytes; the limit of a %s file is %s", up.Size, kind, sizeText(f.Limit(kind)))
	}
	if kind == FileFirmware {
		if !hasFirmwareExt(up.Name) {
			return &Error{Kind: KindUnsupported, Field: "file", Message: fmt.Sprintf(
				"%q is not a firmware file; the name must end in one of %s", up.Name, strings.Join(firmwareExts, " "))}
		}
		return nil
	}
	raw, err := os.ReadFile(up.path)
	if err != nil {
		return fmt.Errorf("models: read rule file %q: %w", up.Name, err)
	}
	_, err = CompactDocument("file", raw)
	return err
}

func (f *Files) storagePath(storageName string) string {
	return filepath.Join(f.dir, "files", storageName)
}

// SanitizeFileName keeps the last element of a client's file name, without
// control characters, at most 255 characters (keeping the extension).
func SanitizeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	if utf8.RuneCountInString(name) <= maxNameLen {
		return name
	}
	ext := fileExt(name)
	if utf8.RuneCountInString(ext) > 16 {
		ext = ""
	}
	stem := []rune(strings.TrimSuffix(name, ext))
	return string(stem[:maxNameLen-utf8.RuneCountInString(ext)]) + ext
}

// fileExt is the extension of name, ".tar.gz" counting as one.
func fileExt(name string) string {
	const tarGz = ".tar.gz"
	if len(name) >= len(tarGz) && strings.EqualFold(name[len(name)-len(tarGz):], tarGz) {
		return name[len(name)-len(tarGz):]
	}
	return filepath.Ext(name)
}

func hasFirmwareExt(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range firmwareExts {
		if strings.HasSuffix(lower, ext) && len(lower) > len(ext) {
			return true
		}
	}
	return false
}

func randomName() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("models: storage name: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func tooLarge(field, format string, args ...any) *Error {
	return &Error{Kind: KindTooLarge, Field: field, Message: fmt.Sprintf(format, args...)}
}

// sizeText writes a byte count the way docs/api.md states limits.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}
