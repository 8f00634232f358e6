package views

import (
	"encoding/json"
	"fmt"
	"strings"

	"fleettasks/models"
)

// templateDocument says where a template's job document comes from.
func templateDocument(t *models.Template) string {
	if t.RuleFileID != nil {
		return fmt.Sprintf("rule file %s (file %s)", t.RuleFileName, t.RuleFileID)
	}
	return fmt.Sprintf("inline JSON, %s", size(int64(len(t.JobDocument))))
}

// templateFile is a template's task file, or "none".
func templateFile(f *models.JobFile) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("%s · %s · %s", f.Name, size(f.Size), f.SignMethod)
}

// policySummary says in a few words what a rollout policy holds.
func policySummary(p *models.Policy) string {
	if p == nil {
		return "none"
	}
	var parts []string
	if n := len(p.Waves); n > 0 {
		parts = append(parts, count(int64(n), "wave", "waves"))
	}
	if p.ExponentialRate != nil {
		parts = append(parts, "exponential rate")
	}
	if n := len(p.Abort); n > 0 {
		parts = append(parts, count(int64(n), "abort criterion", "abort criteria"))
	}
	if n := len(p.Retry); n > 0 {
		parts = append(parts, count(int64(n), "retry rule", "retry rules"))
	}
	if n := len(p.MaintenanceWindows); n > 0 {
		parts = append(parts, count(int64(n), "maintenance window", "maintenance windows"))
	}
	if p.EndAt != nil {
		parts = append(parts, "ends "+when(*p.EndAt))
	}
	if len(parts) == 0 {
		return "set, empty"
	}
	return strings.Join(parts, ", ")
}

// mustJSON is v as JSON (v always marshals).
func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
