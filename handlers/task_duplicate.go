package handlers

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
	"fleettasks/views"
)

// duplicate fills the create form's values in from task s (GET
// /tasks/new?duplicate=ID): its name as "Copy of …", description, target,
// job document or rule file, task file, push message type, timeout, rate
// and rollout policy. The start is left at "now": a duplicate is not
// scheduled. It returns false, with the form's error set, when there is
// no such task.
func (h *console) duplicate(c *fiber.Ctx, f *views.TaskForm, s string) (bool, error) {
	id, err := models.ParseID("duplicate", s)
	var task *models.Task
	if err == nil {
		task, err = h.tasks.GetTask(c.UserContext(), id)
	}
	if _, ok := models.AsError(err); err != nil && !ok {
		return false, err
	}
	if task == nil { // not an id, or no such task
		f.Errors[""] = "There is no task " + s + " to duplicate (it may have been deleted): fill in the form."
		c.Status(fiber.StatusNotFound)
		return false, nil
	}
	v := f.Values
	v["name"], v["description"], v["targetType"] = models.CopyName(task.Name), task.Description, task.Target.Type
	switch task.Target.Type {
	case models.TargetDeviceList:
		refs, err := h.tasks.TaskDevices(c.UserContext(), task.ID)
		if err != nil {
			return false, err
		}
		var b strings.Builder
		for _, r := range refs {
			b.WriteString(r.ProductKey + "," + r.DeviceName + "\n")
		}
		v["devices"] = b.String()
	case models.TargetProduct:
		if task.Target.ProductKey != nil {
			v["productKey"] = *task.Target.ProductKey
		}
	case models.TargetGroup:
		if task.Target.GroupID != nil {
			v["groupId"] = task.Target.GroupID.String()
		}
	}
	if task.RuleFileID != nil {
		v["ruleSource"], v["ruleFilePick"] = "pick", task.RuleFileID.String()
	} else {
		v["ruleSource"], v["jobDocument"] = "inline", views.PrettyJSON(task.JobDocument)
	}
	if jf := task.JobFile; jf != nil {
		v["jobFileId"], v["jobFileName"], v["signMethod"] = jf.FileID.String(), jf.Name, jf.SignMethod
	} else if task.JobFileDeleted() {
		f.Errors["jobFile"] = "The task file of “" + task.Name + "” has been deleted: choose another, or create the task without one."
	}
	v["qos"], v["rolloutPerMinute"] = strconv.Itoa(task.QoS), strconv.Itoa(task.RolloutPerMinute)
	if m := task.InProgressTimeoutMinutes; m != nil {
		v["inProgressTimeoutMinutes"] = strconv.Itoa(*m)
	}
	if task.Policy != nil {
		b, _ := json.Marshal(task.Policy) // a Policy always marshals
		v["policyPreset"], v["policy"] = "custom", string(b)
	}
	return true, nil
}
