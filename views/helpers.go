package views

import (
	"fmt"
	"net/http"
	"strings"

	"fleettasks/models"
)

func errorTitle(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

func barLabel(s *models.Statistics) string {
	if s == nil || s.Total == 0 {
		return "no sub-tasks"
	}
	var parts []string
	for _, st := range models.SubtaskStatuses {
		if n := s.Of(st); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", StatusLabel(string(st)), n))
		}
	}
	return strings.Join(parts, ", ")
}

// describedBy joins the ids that describe a field (help, error).
func describedBy(help, errID, msg string) string {
	if msg != "" {
		return help + " " + errID
	}
	return help
}
