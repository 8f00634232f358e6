package views

import (
	"time"

	"fleettasks/models"
)

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

// ago says how long before now t was, roughly: "3 days ago".
func ago(t, now time.Time) string {
	d := now.Sub(t)
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one + " ago"
		}
		return itoa(n) + " " + one + "s ago"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return unit(int(d/time.Hour), "hour")
	}
	return unit(int(d/(24*time.Hour)), "day")
}

// DuplicateText says that an upload's content is already there as f.
func DuplicateText(f *models.File, now time.Time) string {
	return "This file is already uploaded as “" + f.Name + "” (file " + f.ID.String() + ", " + ago(f.CreatedAt, now) + ")."
}

// pickLabel is a firmware file as the create form's picker lists it: name,
// size, digest prefix and when it was uploaded.
func pickLabel(f models.File) string {
	return f.Name + " · " + size(f.Size) + " · SHA256 " + f.SHA256[:min(12, len(f.SHA256))] + "… · MD5 " +
		f.MD5[:min(8, len(f.MD5))] + "… · uploaded " + when(f.CreatedAt)
}
