package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ID is a database id. It travels in JSON as a decimal string (ids are
// opaque to clients) and is accepted as a string or a number.
type ID int64

// ParseID reads a decimal id; field names the input for the error.
func ParseID(field, s string) (ID, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, Invalid(field, "%q is not an id", s)
	}
	return ID(n), nil
}

func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

func (id ID) MarshalJSON() ([]byte, error) { return []byte(`"` + id.String() + `"`), nil }

func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*id = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("%s is not an id", b)
	}
	*id = ID(n)
	return nil
}

// Page is a page request: Number from 1, Size 1..200.
type Page struct {
	Number int
	Size   int
}

// Offset is the number of rows before this page.
func (p Page) Offset() int { return (p.Number - 1) * p.Size }

// List is one page of results and the total count.
type List[T any] struct {
	Items    []T   `json:"items"`
	Total    int64 `json:"total"`
	Page     int   `json:"page"`
	PageSize int   `json:"pageSize"`
}

// NewList builds a List, never with nil Items (JSON [] rather than null).
func NewList[T any](items []T, total int64, p Page) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Total: total, Page: p.Number, PageSize: p.Size}
}
