package workers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"fleettasks/models"
	"fleettasks/protocol"
)

// Each device gets the job document with its own product key, device name
// and sub-task id in place of the variables, in its notify and in its get
// replies ($next and by id); the task keeps the template.
func TestDocumentVariablesOverMQTT(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	refs := s.devices(2)
	devs := []*rawDevice{newRawDevice(t, s.pk, "d1"), newRawDevice(t, s.pk, "d2")}
	template := `{"url":"https://fw.example/${productKey}/${deviceName}.bin?job=${subtaskId}&x=1","${deviceName}":"key",` +
		`"n":3.10,"list":[{"who":"\u0024{deviceName}","task":"${subtaskId}"}],"keep":"${version}"}`
	task := s.createTask(models.TaskInput{
		Target:      models.TargetInput{Type: "DEVICE_LIST", Devices: refs},
		JobDocument: json.RawMessage(template),
	})

	// want is the document device dn gets for sub-task sub.
	want := func(dn, sub string) string {
		return fmt.Sprintf(`{"url":"https://fw.example/%s/%s.bin?job=%s&x=1","${deviceName}":"key",`+
			`"n":3.10,"list":[{"who":"%s","task":"%s"}],"keep":"${version}"}`, s.pk, dn, sub, dn, sub)
	}
	check := func(what string, got []byte, dn, sub string) {
		t.Helper()
		if !equalJSON(got, []byte(want(dn, sub))) {
			t.Errorf("%s: jobDocument %s\nwant (as JSON) %s", what, got, want(dn, sub))
		}
	}
	eventually(t, 10*time.Second, "both devices notified", func() bool {
		return len(devs[0].notifies()) == 1 && len(devs[1].notifies()) == 1
	})
	for i, d := range devs {
		m := d.notifies()[0]
		_, nt := notifyTask(t, m)
		check(d.dn+" notify", nt.JobDocument, d.dn, nt.TaskID)
		if url := "/" + d.dn + ".bin?job=" + nt.TaskID + "&x=1"; !bytes.Contains(m.Payload(), []byte(url)) { // no \u0026
			t.Errorf("%s notify: %s without %s", d.dn, m.Payload(), url)
		}
		if i == 0 {
			next := detailTask(t, d.request(protocol.KindGet, map[string]string{"taskId": "$next"}))
			check(d.dn+" $next", next.JobDocument, d.dn, nt.TaskID)
		}
		byID := detailTask(t, d.request(protocol.KindGet, map[string]string{"taskId": nt.TaskID}))
		check(d.dn+" get by id", byID.JobDocument, d.dn, nt.TaskID)
	}
	stored, err := s.app.Tasks.Document(context.Background(), task.ID)
	if err != nil || string(stored) != template {
		t.Fatalf("the task's document is %s (%v), not the template", stored, err)
	}
}

// detailTask decodes the task of a $next or by-id reply.
func detailTask(t *testing.T, r *reply) protocol.Task {
	t.Helper()
	var data struct{ Task *protocol.Task }
	if err := json.Unmarshal(r.Data, &data); err != nil || r.Code != 200 || data.Task == nil {
		t.Fatalf("get reply %s (%v)", r.raw, err)
	}
	return *data.Task
}

// equalJSON reports whether a and b are the same JSON value, numbers
// compared by their text.
func equalJSON(a, b []byte) bool {
	var va, vb any
	for _, x := range []struct {
		b []byte
		v *any
	}{{a, &va}, {b, &vb}} {
		dec := json.NewDecoder(bytes.NewReader(x.b))
		dec.UseNumber()
		if dec.Decode(x.v) != nil {
			return false
		}
	}
	return reflect.DeepEqual(va, vb)
}
