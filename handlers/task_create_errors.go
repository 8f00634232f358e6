package handlers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"fleettasks/models"
	"fleettasks/views"
)

// addFormError puts msg on the create form's field name in the form's
// words, "Label: msg" ("Devices, line 4: msg" for a device line), after
// the messages the field has already.
func addFormError(errs map[string]string, name, msg string) {
	text := msg
	if label := views.CreateFieldLabels[name]; label != "" {
		sep := ": "
		if strings.HasPrefix(msg, "line ") {
			sep = ", "
		}
		text = label + sep + msg
	}
	if errs[name] != "" {
		text = errs[name] + "\n" + text
	}
	errs[name] = text
}

var (
	deviceField  = regexp.MustCompile(`^target\.devices\[(\d+)\](?:\.(productKey|deviceName))?$`)
	listedTwice  = regexp.MustCompile(`^\S+/(\S+) is listed twice \(also target\.devices\[(\d+)\]\)$`)
	notListed    = regexp.MustCompile(`^not registered: (\S+)/(\S+)$`)
	atByte       = regexp.MustCompile(` \(at byte (\d+)\)$`)
	apiFieldName = strings.NewReplacer("scheduledAt", "the start date and time", "a PRODUCT or GROUP target", "a Product or Group destination",
		"rolloutPerMinute", "the jobs executed per minute", "absent for no timeout", "empty for no timeout")
)

// formError puts a model error on its form field in the form's words:
// the label of the field instead of the API's name, a device list entry by
// its line number. v are the form's values.
func formError(errs map[string]string, err *models.Error, v map[string]string, lines []int) {
	f, msg := err.Field, err.Message
	lineOf := func(i string) int {
		n, _ := strconv.Atoi(i)
		if n < len(lines) {
			return lines[n]
		}
		return n + 1
	}
	switch {
	case f == "name" || f == "description" || f == "rolloutPerMinute" || f == "qos" || f == "type":
		addFormError(errs, f, msg)
	case f == "inProgressTimeoutMinutes":
		addFormError(errs, f, apiFieldName.Replace(msg))
	case f == "scheduledAt":
		if strings.HasPrefix(msg, "must be in the future") {
			msg = "must be in the future (times are in UTC)"
		}
		addFormError(errs, f, msg)
	case f == "target.type":
		addFormError(errs, "targetType", "choose Devices, Product or Group")
	case f == "target.devices":
		if strings.HasPrefix(msg, "is empty") {
			msg = "list at least one device, one productKey,deviceName per line"
		}
		addFormError(errs, "devices", msg)
	case deviceField.MatchString(f):
		m := deviceField.FindStringSubmatch(f)
		line := lineOf(m[1])
		switch {
		case m[2] == "productKey":
			msg = "the product key " + msg
		case m[2] == "deviceName":
			msg = "the device name " + msg
		case listedTwice.MatchString(msg):
			d := listedTwice.FindStringSubmatch(msg)
			msg = fmt.Sprintf("%s is listed twice (also on line %d)", d[1], lineOf(d[2]))
		case notListed.MatchString(msg):
			d := notListed.FindStringSubmatch(msg)
			msg = fmt.Sprintf("no device %s/%s in product %s", d[1], d[2], d[1])
		}
		addFormError(errs, "devices", fmt.Sprintf("line %d: %s", line, msg))
	case f == "target.productKey":
		switch {
		case msg == "is required":
			msg = "choose a product"
		case strings.HasSuffix(msg, "does not exist"):
			msg = fmt.Sprintf("there is no product %s (it may have been deleted); choose another", v["productKey"])
		}
		addFormError(errs, "productKey", msg)
	case f == "target.groupId":
		switch {
		case strings.HasPrefix(msg, "is required"):
			msg = "choose a static group"
		case strings.HasSuffix(msg, "does not exist"):
			msg = "the group no longer exists; choose another"
		case strings.Contains(msg, "is a dynamic group"):
			msg = "the group is dynamic, and dynamic groups cannot be task targets: choose a static group"
		}
		addFormError(errs, "groupId", msg)
	case (f == "jobDocument" || f == "ruleFileId") && strings.HasPrefix(msg, "is required"):
		switch v["ruleSource"] {
		case "inline":
			addFormError(errs, "jobDocument", "is required: write the job document as a JSON object")
		case "pick":
			addFormError(errs, "ruleFile", "is required: choose an uploaded rule file")
		default:
			addFormError(errs, "ruleFile", "is required: upload a .json rule file")
		}
	case f == "jobDocument" && v["ruleSource"] == "inline":
		if m := atByte.FindStringSubmatch(msg); m != nil {
			off, _ := strconv.Atoi(m[1])
			doc := v["jobDocument"]
			off += len(doc) - len(strings.TrimLeft(doc, " \t\r\n"))
			line, col := lineColumn(v["jobDocument"], off)
			msg = strings.TrimSuffix(msg, m[0]) + fmt.Sprintf(" (line %d, column %d)", line, col)
		}
		addFormError(errs, "jobDocument", msg)
	case f == "jobDocument" || f == "ruleFileId":
		if strings.HasSuffix(msg, "does not exist") {
			msg = "the rule file no longer exists (it may have been deleted); choose another"
		}
		addFormError(errs, "ruleFile", msg)
	case f == "jobFile.fileId":
		switch {
		case strings.HasSuffix(msg, "does not exist"):
			msg = "the file no longer exists (it may have been deleted); choose another"
		case strings.Contains(msg, "file; the task file must be"):
			msg = "the file is not a firmware/data file; choose one of the uploaded firmware"
		}
		addFormError(errs, "jobFile", msg)
	case f == "jobFile.signMethod":
		addFormError(errs, "signMethod", msg)
	case f == "policy":
		addFormError(errs, "policy", msg)
	case strings.HasPrefix(f, "policy."):
		addFormError(errs, "policy", apiFieldName.Replace(strings.TrimPrefix(f, "policy.")+" "+msg))
	case f == "templateId":
		addFormError(errs, "", "the template no longer exists; choose another, or fill in the form")
	case f == "":
		addFormError(errs, "", msg)
	default:
		addFormError(errs, "", f+": "+msg)
	}
}

// lineColumn is the line and column (from 1, in characters) of byte
// offset off of s; encoding/json counts the offset of a syntax error as
// the bytes read, the bad one included.
func lineColumn(s string, off int) (line, col int) {
	if off > len(s) {
		off = len(s)
	}
	if off > 0 {
		off--
	}
	before := s[:off]
	line = strings.Count(before, "\n") + 1
	col = len([]rune(before[strings.LastIndex(before, "\n")+1:])) + 1
	return line, col
}
