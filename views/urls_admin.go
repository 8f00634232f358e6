package views

import (
	"strconv"

	"fleettasks/models"
)

// UserPasswordURL sets a user's new password (POST).
func UserPasswordURL(id models.ID) string { return UserURL(id) + "/password" }

// UsersPageURL is page n of the user list.
func UsersPageURL(n int) string { return pageURL(UsersURL(), n) }

// AuditDefaultPageSize is the audit log's page size unless pageSize says
// otherwise.
const AuditDefaultPageSize = 50

// AuditQueryURL is the audit log with the filters of q, on page n of size
// entries (both left out when they are the defaults).
func AuditQueryURL(q AuditQuery, n, size int) string {
	p, s := "", ""
	if n > 1 {
		p = strconv.Itoa(n)
	}
	if size > 0 && size != AuditDefaultPageSize {
		s = strconv.Itoa(size)
	}
	return withQuery("/audit", "user", q.User, "action", q.Action, "target", q.Target, "from", q.From, "to", q.To,
		"page", p, "pageSize", s)
}
