package models

import (
	"errors"
	"fmt"
)

// Kind says how an error is to be reported to a user or a client.
type Kind string

const (
	KindInvalid       Kind = "invalid_argument"       // 400: malformed input
	KindUnprocessable Kind = "failed_precondition"    // 422: well-formed but not acceptable
	KindNotFound      Kind = "not_found"              // 404
	KindConflict      Kind = "conflict"               // 409: not allowed in the current state
	KindTooLarge      Kind = "payload_too_large"      // 413
	KindUnsupported   Kind = "unsupported_media_type" // 415
	KindUnauthorized  Kind = "unauthenticated"        // 401: no or bad credentials
	KindForbidden     Kind = "permission_denied"      // 403: the role may not
	KindTooMany       Kind = "resource_exhausted"     // 429: try again later
)

// Error is a business-rule error: what kind, which field, and why. Every
// layer reports "not found", bad input and conflicts with it, so the
// handlers map it to a status and the JSON error shape in one place.
type Error struct {
	Kind    Kind
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Invalid is a 400 error on field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unprocessable is a 422 error on field.
func Unprocessable(field, format string, args ...any) *Error {
	return &Error{Kind: KindUnprocessable, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound says that the named thing does not exist.
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflict says that the action is not allowed in the current state.
func Conflict(format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated says that the caller must sign in (again).
func Unauthenticated(format string, args ...any) *Error {
	return &Error{Kind: KindUnauthorized, Message: fmt.Sprintf(format, args...)}
}

// Forbidden says that the caller's role may not do this.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Message: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err says that something does not exist.
func IsNotFound(err error) bool {
	e, ok := AsError(err)
	return ok && e.Kind == KindNotFound
}

// Errors is every field error of one request, in the order of its fields.
// It stands for its first error (AsError, Error), so a caller that reports
// one error reports that one; AllErrors gives them all.
type Errors []*Error

func (es Errors) Error() string { return es[0].Error() }

// As makes errors.As find the first error.
func (es Errors) As(target any) bool {
	if p, ok := target.(**Error); ok && len(es) > 0 {
		*p = es[0]
		return true
	}
	return false
}

// add appends err's errors (an *Error or Errors); other errors are
// returned for the caller to report as they are.
func (es *Errors) add(err error) error {
	var all Errors
	switch {
	case err == nil:
	case errors.As(err, &all):
		*es = append(*es, all...)
	default:
		if e, ok := err.(*Error); ok {
			*es = append(*es, e)
		} else {
			return err
		}
	}
	return nil
}

// err is es as an error: nil when empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// AllErrors is every field error in err: those of an Errors, or the one
// *Error; nil for other errors.
func AllErrors(err error) []*Error {
	var all Errors
	if errors.As(err, &all) {
		return all
	}
	if e, ok := AsError(err); ok {
		return []*Error{e}
	}
	return nil
}
