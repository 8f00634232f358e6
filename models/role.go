package models

// Role is what a user may do: the rows of the permission matrix.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleSupport  Role = "support"
)

// Roles lists the roles, most powerful first.
var Roles = []Role{RoleAdmin, RoleOperator, RoleSupport}

// Permission is one column of the matrix: a kind of action.
type Permission string

const (
	PermView          Permission = "view"           // tasks, statistics, sub-tasks, devices, logs, groups, files
	PermTasksWrite    Permission = "tasks.write"    // create, edit, cancel, rerun tasks; export results
	PermTasksDelete   Permission = "tasks.delete"   // delete tasks
	PermRegistryWrite Permission = "registry.write" // manage products, devices, groups
	PermFilesWrite    Permission = "files.write"    // upload and delete rule files and firmware
	PermAdmin         Permission = "admin"          // manage users and tokens; read the audit log
)

// permissions is the permission matrix; every check in the console, the API
// and the views asks it through Role.Can.
var permissions = map[Role][]Permission{
	RoleAdmin:    {PermView, PermTasksWrite, PermTasksDelete, PermRegistryWrite, PermFilesWrite, PermAdmin},
	RoleOperator: {PermView, PermTasksWrite, PermRegistryWrite},
	RoleSupport:  {PermView},
}

// Can reports whether role r may do what p names.
func (r Role) Can(p Permission) bool {
	for _, q := range permissions[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	_, ok := permissions[r]
	return ok
}

// ParseRole checks a role name given in field.
func ParseRole(field, s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", Invalid(field, "must be admin, operator or support (it is %q)", s)
}
