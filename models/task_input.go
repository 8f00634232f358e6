package models

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// TaskInput is the create request of docs/api.md.
type TaskInput struct {
	Name                     string          `json:"name"`
	Type                     string          `json:"type"`
	Description              string          `json:"description"`
	Target                   TargetInput     `json:"target"`
	JobDocument              json.RawMessage `json:"jobDocument"`
	RuleFileID               *ID             `json:"ruleFileId"`
	JobFile                  *JobFileInput   `json:"jobFile"`
	RolloutPerMinute         *int            `json:"rolloutPerMinute"`
	QoS                      *int            `json:"qos"`
	InProgressTimeoutMinutes *int            `json:"inProgressTimeoutMinutes"`
	ScheduledAt              *time.Time      `json:"scheduledAt"`
	Policy                   *Policy         `json:"policy"`
	// TemplateID names a template whose settings stand in for the fields
	// left out (CreateTask; docs/api.md, "Templates").
	TemplateID *ID `json:"templateId"`
	// Draft is the console's form the request completes (not in the API).
	Draft *DraftRef `json:"-"`
}

// TargetInput chooses the devices: a list, a product or a static group.
type TargetInput struct {
	Type       string      `json:"type"`
	Devices    []DeviceRef `json:"devices"`
	ProductKey string      `json:"productKey"`
	GroupID    ID          `json:"groupId"`
}

// JobFileInput attaches an uploaded firmware file to a task.
type JobFileInput struct {
	FileID     ID     `json:"fileId"`
	SignMethod string `json:"signMethod"`
}

// Target types.
const (
	TargetDeviceList = "DEVICE_LIST"
	TargetProduct    = "PRODUCT"
	TargetGroup      = "GROUP"
)

// taskPlan is a validated TaskInput with its defaults filled in.
type taskPlan struct {
	in         TaskInput
	document   []byte // compact JSON; filled when inline
	signMethod string
	rollout    int
	qos        int
	policy     *Policy // validated, defaults filled; nil without one
}

// validate checks every field that needs no database, in the order of the
// form, and fills the defaults. It reports every field error it finds
// (Errors), not only the first.
func (in TaskInput) validate(now time.Time) (*taskPlan, error) {
	p := &taskPlan{in: in, rollout: DefaultRolloutPerMin, qos: 1}
	var errs Errors
	p.in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(p.in.Name); n == 0 || n > MaxTaskNameLen {
		errs.add(Invalid("name", "must be 1 to %d characters (it has %d)", MaxTaskNameLen, n))
	} else {
		errs.add(checkStorable("name", p.in.Name))
	}
	switch strings.ToUpper(in.Type) {
	case "", "CUSTOM":
		p.in.Type = "CUSTOM"
	default:
		errs.add(Invalid("type", "must be CUSTOM, not %q", in.Type))
	}
	if n := utf8.RuneCountInString(in.Description); n > MaxTaskDescriptionLen {
		errs.add(Invalid("description", "must be at most %d characters (it has %d)", MaxTaskDescriptionLen, n))
	} else {
		errs.add(checkStorable("description", in.Description))
	}
	errs.add(p.in.Target.validate())
	hasDoc := len(in.JobDocument) > 0 && string(in.JobDocument) != "null"
	switch {
	case hasDoc && in.RuleFileID != nil:
		errs.add(Invalid("jobDocument", "give either jobDocument or ruleFileId, not both"))
	case !hasDoc && in.RuleFileID == nil:
		errs.add(Invalid("jobDocument", "is required: give the job document inline or a ruleFileId of an uploaded rule file"))
	case hasDoc:
		doc, err := CompactDocument("jobDocument", in.JobDocument)
		if err := errs.add(err); err != nil {
			return nil, err
		}
		p.document = doc
	}
	if in.JobFile != nil {
		if in.JobFile.FileID == 0 {
			errs.add(Invalid("jobFile.fileId", "is required when jobFile is given"))
		}
		switch strings.ToUpper(in.JobFile.SignMethod) {
		case "", "SHA256":
			p.signMethod = "SHA256"
		case "MD5":
			p.signMethod = "MD5"
		default:
			errs.add(Invalid("jobFile.signMethod", "must be MD5 or SHA256, not %q", in.JobFile.SignMethod))
		}
	}
	if v := in.RolloutPerMinute; v != nil {
		if *v < 1 || *v > MaxRolloutPerMin {
			errs.add(Invalid("rolloutPerMinute", "must be 1 to %d (it is %d)", MaxRolloutPerMin, *v))
		} else {
			p.rollout = *v
		}
	}
	if v := in.QoS; v != nil {
		if *v != 0 && *v != 1 {
			errs.add(Invalid("qos", "must be 0 (at most once) or 1 (at least once), not %d", *v))
		} else {
			p.qos = *v
		}
	}
	errs.add(validTimeout(in.InProgressTimeoutMinutes))
	if at := in.ScheduledAt; at != nil {
		if !at.After(now) {
			errs.add(Invalid("scheduledAt", "must be in the future (it is %s, now is %s)", at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		} else if at.Sub(now) > MaxScheduleAhead {
			errs.add(Invalid("scheduledAt", "must be at most 30 days ahead"))
		}
	}
	if in.Policy != nil {
		if err := errs.add(p.validPolicy(now)); err != nil {
			return nil, err
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// validPolicy checks the request's policy against the plan's rate and
// target, and fills p.policy.
func (p *taskPlan) validPolicy(now time.Time) error {
	in := p.in
	pol, err := in.Policy.clone()
	if err != nil {
		return err
	}
	if err := pol.validate(now, p.rollout); err != nil {
		return err
	}
	if pol.Continuous && in.Target.Type == TargetDeviceList {
		return Invalid("policy.continuous", "is for a PRODUCT or GROUP target, whose devices can join later; a device list is fixed")
	}
	if pol.EndAt != nil && in.ScheduledAt != nil && !pol.EndAt.After(*in.ScheduledAt) {
		return Invalid("policy.endAt", "must be after scheduledAt")
	}
	p.policy = pol
	return nil
}

func validTimeout(v *int) error {
	if v != nil && (*v < 1 || *v > MaxTimeoutMinutes) {
		return Invalid("inProgressTimeoutMinutes", "must be 1 to %d minutes (7 days), or absent for no timeout (it is %d)", MaxTimeoutMinutes, *v)
	}
	return nil
}

func (t *TargetInput) validate() error {
	t.Type = strings.ToUpper(t.Type)
	switch t.Type {
	case TargetDeviceList:
		if len(t.Devices) == 0 {
			return Invalid("target.devices", "is empty; list 1 to %d devices", MaxTaskDevices)
		}
		if len(t.Devices) > MaxTaskDevices {
			return Invalid("target.devices", "has %d devices; the limit is %d", len(t.Devices), MaxTaskDevices)
		}
		seen := make(map[DeviceRef]int, len(t.Devices))
		var errs Errors
		for i, d := range t.Devices {
			if len(errs) >= MaxListedErrors {
				break
			}
			field := fmt.Sprintf("target.devices[%d]", i)
			if err := checkProductKey(field+".productKey", d.ProductKey); err != nil {
				errs.add(err)
				continue
			}
			if err := checkDeviceName(field+".deviceName", d.DeviceName); err != nil {
				errs.add(err)
				continue
			}
			if j, dup := seen[d]; dup {
				errs.add(Invalid(field, "%s/%s is listed twice (also target.devices[%d])", d.ProductKey, d.DeviceName, j))
				continue
			}
			seen[d] = i
		}
		return errs.err()
	case TargetProduct:
		if err := checkProductKey("target.productKey", t.ProductKey); err != nil {
			return err
		}
	case TargetGroup:
		if t.GroupID == 0 {
			return Invalid("target.groupId", "is required for a GROUP target")
		}
	case "":
		return Invalid("target.type", "is required: DEVICE_LIST, PRODUCT or GROUP")
	default:
		return Invalid("target.type", "must be DEVICE_LIST, PRODUCT or GROUP, not %q", t.Type)
	}
	return nil
}

// MaxListedErrors is how many errors of one list (the devices of a target)
// are reported at once.
const MaxListedErrors = 20

// Validate checks the fields of a create request that need no database
// (the console checks the first step of its form with it); CreateTask
// checks them again and then the rest.
func (in TaskInput) Validate(now time.Time) error {
	_, err := in.validate(now)
	return err
}
