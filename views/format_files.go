package views

import "fleettasks/models"

// fileKindLabel names a kind of file for people.
func fileKindLabel(kind string) string {
	if kind == models.FileRule {
		return "Rule file"
	}
	return "Firmware"
}

// fileUseLabel says how a task uses a file.
func fileUseLabel(use string) string {
	if use == models.FileRule {
		return "rule file"
	}
	return "task file"
}

// fileBusy reports whether an unfinished task is among the file's users.
func fileBusy(u *models.FileUsage) bool {
	if u == nil {
		return false
	}
	for _, t := range u.Tasks {
		if t.Unfinished() {
			return true
		}
	}
	return false
}

// PrettyJSON indents a JSON document for reading; anything else is shown
// as it is.
func PrettyJSON(raw []byte) string { return pretty(raw) }
