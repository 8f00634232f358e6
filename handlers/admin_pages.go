package handlers

// adminPages is the admin's console: users, their API tokens, the audit log.
type adminPages struct {
	users userAdmin
	audit auditReader
}

func newAdminPages(u userAdmin, a auditReader) *adminPages { return &adminPages{users: u, audit: a} }
