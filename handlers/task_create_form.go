package handlers

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// formValues reads an application/x-www-form-urlencoded body (the app
// streams request bodies, so it is read here with a limit).
func formValues(c *fiber.Ctx) (url.Values, error) {
	body, err := readBody(c, maxJSONBody)
	if err != nil {
		return nil, err
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, models.Invalid("", "the form is malformed: %v", err)
	}
	return v, nil
}

// createFormValues are the values of both steps by form name, with the
// defaults of a new form under them.
func createFormValues(v url.Values) map[string]string {
	m := map[string]string{"targetType": models.TargetDeviceList, "ruleSource": "upload", "signMethod": "SHA256",
		"rolloutPerMinute": strconv.Itoa(models.DefaultRolloutPerMin), "qos": "1", "start": "now", "policyPreset": "none"}
	for _, n := range append(append([]string{}, views.Step1Fields...), views.Step2Fields...) {
		if _, ok := v[n]; ok {
			m[n] = v.Get(n)
		}
	}
	return m
}

// taskInput turns the form into a create request. Values that cannot even
// be read (a number that is not one, a device line without a comma) come
// back as errors by form name; everything else is left to the model's
// validation. lines maps a target.devices index to its line number.
func taskInput(v map[string]string, withSchedule bool) (in models.TaskInput, lines []int, errs map[string]string) {
	errs = map[string]string{}
	in = models.TaskInput{Name: v["name"], Type: "CUSTOM", Description: v["description"]}
	in.Target.Type = v["targetType"]
	switch in.Target.Type {
	case models.TargetDeviceList:
		for i, line := range strings.Split(v["devices"], "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			pk, dn, ok := strings.Cut(line, ",")
			if !ok {
				pk, dn, ok = strings.Cut(line, "/")
			}
			if !ok {
				addFormError(errs, "devices", fmt.Sprintf("line %d: %q is not productKey,deviceName", i+1, line))
				continue
			}
			in.Target.Devices = append(in.Target.Devices, models.DeviceRef{ProductKey: strings.TrimSpace(pk), DeviceName: strings.TrimSpace(dn)})
			lines = append(lines, i+1)
		}
	case models.TargetProduct:
		in.Target.ProductKey = v["productKey"]
	case models.TargetGroup:
		if s := v["groupId"]; s != "" {
			id, err := models.ParseID("groupId", s)
			if err != nil {
				addFormError(errs, "groupId", "choose a static group")
			}
			in.Target.GroupID = id
		}
	}
	ruleID := map[string]string{"upload": v["ruleFileUpload"], "pick": v["ruleFilePick"]}[v["ruleSource"]]
	if v["ruleSource"] == "inline" && strings.TrimSpace(v["jobDocument"]) != "" {
		in.JobDocument = []byte(v["jobDocument"])
	} else if ruleID != "" {
		if id, err := models.ParseID("ruleFileId", ruleID); err == nil {
			in.RuleFileID = &id
		}
	}
	if s := v["jobFileId"]; s != "" {
		if id, err := models.ParseID("jobFileId", s); err == nil {
			in.JobFile = &models.JobFileInput{FileID: id, SignMethod: v["signMethod"]}
		}
	}
	if !withSchedule {
		return in, lines, errs
	}
	var err error
	if in.RolloutPerMinute, err = formInt(v, "rolloutPerMinute", true); err != nil {
		addFormError(errs, "rolloutPerMinute", err.Error())
	}
	if in.QoS, err = formInt(v, "qos", false); err != nil {
		addFormError(errs, "qos", err.Error())
	}
	if in.InProgressTimeoutMinutes, err = formInt(v, "inProgressTimeoutMinutes", false); err != nil {
		addFormError(errs, "inProgressTimeoutMinutes", err.Error())
	}
	switch preset := v["policyPreset"]; preset {
	case "", "none":
	case "custom":
		if in.Policy, err = models.ParsePolicy([]byte(v["policy"])); err != nil {
			me, _ := models.AsError(err)
			addFormError(errs, "policy", me.Message)
		}
	default:
		p := models.PresetPolicy(preset)
		if p == nil {
			addFormError(errs, "policy", fmt.Sprintf("%q is not one of the presets", preset))
		} else if in.Policy, err = models.ParsePolicy([]byte(p.JSON)); err != nil {
			addFormError(errs, "policy", err.Error())
		}
	}
	if v["start"] == "at" {
		s := v["scheduledAt"]
		at, err := time.ParseInLocation("2006-01-02T15:04", s, time.UTC)
		if err != nil {
			at, err = time.ParseInLocation("2006-01-02T15:04:05", s, time.UTC)
		}
		if s == "" {
			addFormError(errs, "scheduledAt", "is required to start at a date and time")
		} else if err != nil {
			addFormError(errs, "scheduledAt", fmt.Sprintf("%q is not a date and time (YYYY-MM-DDTHH:MM)", s))
		} else {
			in.ScheduledAt = &at
		}
	}
	return in, lines, errs
}

// stepOf is the step of the form that shows field name.
func stepOf(name string) int {
	for _, n := range views.Step2Fields {
		if n == name {
			return 2
		}
	}
	return 1
}

// POST /tasks/new/policy — the create form's custom policy in words as it
// is typed, or why it cannot work.
func (h *console) policyPreview(c *fiber.Ctx) error {
	v, err := formValues(c)
	if err != nil {
		return err
	}
	raw := strings.TrimSpace(v.Get("policy"))
	if raw == "" {
		return render(c, "Policy", views.PolicyPreview("Write the policy as a JSON object.", ""))
	}
	p, err := models.ParsePolicy([]byte(raw))
	if err == nil {
		err = p.Validate(time.Now(), models.MaxRolloutPerMin)
	}
	if me, ok := models.AsError(err); ok {
		problem := me.Message
		if me.Field != "" && me.Field != "policy" {
			problem = strings.TrimPrefix(me.Field, "policy.") + " " + problem
		}
		return render(c, "Policy", views.PolicyPreview("", problem))
	} else if err != nil {
		return err
	}
	return render(c, "Policy", views.PolicyPreview(views.PolicyText(p), ""))
}

// draftValues are the values kept in a draft, with the defaults of a new
// form under them.
func draftValues(kept map[string]string) map[string]string {
	m := createFormValues(nil)
	for _, n := range append(append([]string{}, views.Step1Fields...), views.Step2Fields...) {
		if v, ok := kept[n]; ok {
			m[n] = v
		}
	}
	return m
}
