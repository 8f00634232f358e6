package models

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// Transient reports whether err says the database could not be reached or
// could not do the work just now (connection lost or refused, server
// shutting down, too many connections, deadlock or serialization failure,
// lock or statement timeout, the caller's context ended) rather than that
// the statement or its data is wrong: the same work may succeed when
// retried. An error that never reached the server counts as transient.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return true
	}
	switch pe.Code[:2] {
	case "08", "40", "53", "55", "57", "58": // connection, rollback, resources, state, operator, system
		return true
	}
	return false
}

// DataError reports whether the database refused a value (class 22: data
// exception), e.g. text it cannot store.
func DataError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code[:2] == "22"
}
