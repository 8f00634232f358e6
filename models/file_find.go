package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Search lists up to limit files of kind, newest first, whose name holds
// q (any case) or whose MD5 or SHA-256 digest starts with it; all of them
// when q is empty.
func (f *Files) Search(ctx context.Context, kind, q string, limit int) ([]File, error) {
	if err := CheckKind(kind); err != nil {
		return nil, err
	}
	db := f.db.Gorm.WithContext(ctx).Where("kind = ?", kind)
	if q = strings.TrimSpace(q); q != "" {
		like := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q)
		digest := strings.ToLower(like) + "%"
		db = db.Where("name ILIKE ? OR md5 LIKE ? OR sha256 LIKE ?", "%"+like+"%", digest, digest)
	}
	var items []File
	if err := db.Order("id DESC").Limit(limit).Find(&items).Error; err != nil {
		return nil, fmt.Errorf("models: search files: %w", err)
	}
	return items, nil
}

// SameContent is the newest file of kind with the SHA-256 digest sha256
// (an upload of a file that is already there); nil when there is none.
func (f *Files) SameContent(ctx context.Context, kind, sha256 string) (*File, error) {
	var file File
	err := f.db.Gorm.WithContext(ctx).Where("kind = ? AND sha256 = ?", kind, sha256).Order("id DESC").First(&file).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("models: find file by digest: %w", err)
	}
	return &file, nil
}
