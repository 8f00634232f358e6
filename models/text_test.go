package models_test

import (
	"testing"
	"time"

	"fleettasks/models"
)

// TestFreeTextRefusesUnstorable: the input rules that need no database
// refuse a NUL or bytes that are not UTF-8 in every free-text field,
// naming it.
func TestFreeTextRefusesUnstorable(t *testing.T) {
	t.Parallel()
	device := []models.DeviceRef{{ProductKey: "p1", DeviceName: "d1"}}
	task := func(name, description string) error {
		return models.TaskInput{Name: name, Description: description, JobDocument: []byte(`{}`),
			Target: models.TargetInput{Type: models.TargetDeviceList, Devices: device}}.Validate(time.Now())
	}
	for _, bad := range []string{"a\x00b", "a\xffb"} {
		_, groupErr := models.GroupInput{Name: bad, Kind: models.GroupStatic}.Validate()
		_, emailErr := models.NormalizeEmail("email", "a@example.com"+bad)
		for _, c := range []struct {
			field string
			err   error
		}{
			{"name", task(bad, "")},
			{"description", task("t", bad)},
			{"name", models.ProductInput{ProductKey: "p1", Name: bad}.Validate()},
			{"description", models.ProductInput{ProductKey: "p1", Description: bad}.Validate()},
			{"name", groupErr},
			{"email", emailErr},
			{"topic", models.MessageFilter{Topic: bad}.Validate()},
		} {
			if me, ok := models.AsError(c.err); !ok || me.Kind != models.KindInvalid || me.Field != c.field {
				t.Errorf("%s %q: %v", c.field, bad, c.err)
			}
		}
	}
	if err := task("lampes ✓ été", "¡hola! 🙂"); err != nil {
		t.Errorf("UTF-8 text: %v", err)
	}
}
