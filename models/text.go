package models

import "fleettasks/internal/jsoncheck"

// checkStorable refuses a string PostgreSQL cannot take: one with U+0000
// or bytes that are not UTF-8. PostgreSQL refuses both in a text column
// and as a query parameter alike, so every free-text input that is stored
// or searched for is checked with this where it enters, and comes back as
// a 400 naming its field instead of failing in the database.
func checkStorable(field, s string) error {
	if p := jsoncheck.CheckString(field, s); p != nil {
		return Invalid(field, "%s", p.Reason)
	}
	return nil
}

// checkAllStorable is checkStorable over name, value pairs, in order.
func checkAllStorable(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkStorable(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}
