package views

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"fleettasks/models"
)

// roleText says what a role may do, for the role pickers.
func roleText(r models.Role) string {
	switch r {
	case models.RoleAdmin:
		return "everything, including users, API tokens and the audit log"
	case models.RoleOperator:
		return "create and run tasks; manage products, devices and groups"
	case models.RoleSupport:
		return "view only"
	}
	return ""
}

// AuditActions are the actions the audit log records, by kind.
var AuditActions = []string{
	"task.create", "task.update", "task.cancel", "task.rerun", "task.pause", "task.resume", "task.approve_wave", "task.delete",
	"template.create", "template.update", "template.delete",
	"product.create",
	"device.create", "device.import", "device.delete", "device.rotate_secret",
	"group.create", "group.rename", "group.add_devices", "group.remove_devices",
	"file.upload", "file.delete",
	"user.create", "user.update", "user.reset_password",
	"token.create", "token.revoke",
	"webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.test", "webhook.delete",
	"auth.login", "auth.login_failed", "auth.logout",
}

// actionGroup is one kind of audit action: its prefix ("task.") and names.
type actionGroup struct {
	Kind    string
	Actions []string
}

// auditActionGroups groups AuditActions by kind, in their order.
func auditActionGroups() []actionGroup {
	var out []actionGroup
	for _, a := range AuditActions {
		kind, _, _ := strings.Cut(a, ".")
		if len(out) == 0 || out[len(out)-1].Kind != kind {
			out = append(out, actionGroup{Kind: kind})
		}
		out[len(out)-1].Actions = append(out[len(out)-1].Actions, a)
	}
	return out
}

// knownAction reports whether the action filter a is one of the select's
// options (an action or a kind's prefix).
func knownAction(a string) bool {
	if a == "" || slices.Contains(AuditActions, a) {
		return true
	}
	for _, g := range auditActionGroups() {
		if a == g.Kind+"." {
			return true
		}
	}
	return false
}

// changeLines writes an entry's changes as "field: before → after", by
// field name.
func changeLines(ch map[string]models.Change) []string {
	names := make([]string, 0, len(ch))
	for n := range ch {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, n+": "+changeValue(ch[n].Before)+" → "+changeValue(ch[n].After))
	}
	return out
}

// changeValue writes one value of a change (as decoded from JSON).
func changeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return `""`
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// orDash is s, or a dash when empty.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
