package models

import (
	"bytes"
	"database/sql/driver"
	"fmt"
)

// RawJSON is a JSON value kept as its bytes, in the database (json/jsonb)
// and on the wire. Empty means absent (SQL NULL, JSON null).
type RawJSON []byte

func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

func (r *RawJSON) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*r = nil
		return nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

func (r RawJSON) Value() (driver.Value, error) {
	if len(r) == 0 {
		return nil, nil
	}
	return string(r), nil
}

func (r *RawJSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*r = nil
	case []byte:
		*r = append(RawJSON(nil), v...)
	case string:
		*r = RawJSON(v)
	default:
		return fmt.Errorf("models: cannot scan %T into RawJSON", src)
	}
	return nil
}
