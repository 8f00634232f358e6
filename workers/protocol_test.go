package workers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"fleettasks/models"
	"fleettasks/protocol"
)

// The whole life of a task over the wire: notify with document and a signed
// file URL that downloads and verifies, notify_reply recorded, get in all
// three forms, updates through the state machine, COMPLETED at the end.
func TestTaskLifecycleOverMQTT(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	firmware := bytes.Repeat([]byte("firmware!"), 10_000)
	up, err := s.app.Files.Receive("fw.bin", bytes.NewReader(firmware), models.MaxFirmwareSize)
	if err != nil {
		t.Fatal(err)
	}
	file, err := s.app.Files.Create(context.Background(), "firmware", up)
	if err != nil {
		t.Fatal(err)
	}
	refs := s.devices(2)
	devs := []*rawDevice{newRawDevice(t, s.pk, "d1"), newRawDevice(t, s.pk, "d2")}
	timeout := 30
	task := s.createTask(models.TaskInput{
		Target:                   models.TargetInput{Type: "DEVICE_LIST", Devices: refs},
		JobFile:                  &models.JobFileInput{FileID: file.ID, SignMethod: "sha256"},
		InProgressTimeoutMinutes: &timeout,
	})

	eventually(t, 10*time.Second, "both devices notified", func() bool {
		return len(devs[0].notifies()) == 1 && len(devs[1].notifies()) == 1
	})
	var ids []string
	for _, d := range devs {
		m := d.notifies()[0]
		nid, nt := notifyTask(t, m)
		if m.Qos() != 1 || nt.Status != "SENT" || string(nt.JobDocument) != `{"\u0076ersion":"2.1","\u0073tatus":"not-ours"}` {
			t.Fatalf("notify %s (qos %d)", m.Payload(), m.Qos())
		}
		// the file comes before the user's document, whose keys cannot be
		// taken for the protocol's by a scanning client
		if strings.Index(string(m.Payload()), `"jobFile":`) > strings.Index(string(m.Payload()), `"jobDocument":`) ||
			strings.Contains(string(m.Payload()), `"status":"not-ours"`) {
			t.Fatalf("jobDocument before jobFile, or a protocol key unescaped inside it: %s", m.Payload())
		}
		var jf protocol.JobFile
		json.Unmarshal(nt.JobFile, &jf)
		sum := sha256.Sum256(firmware)
		if jf.SignMethod != "Sha256" || jf.Sign != hex.EncodeToString(sum[:]) {
			t.Fatalf("jobFile %s", nt.JobFile)
		}
		body := download(t, jf.FileURL)
		if got := sha256.Sum256(body); got != sum {
			t.Fatal("downloaded file does not match its sign")
		}
		ids = append(ids, nt.TaskID)
		d.publish(protocol.KindNotifyReply, 0, `{"id":"`+nid+`","code":200,"data":{}}`)
	}
	eventually(t, 5*time.Second, "deliveries recorded", func() bool {
		var n int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM subtasks WHERE delivered_at IS NOT NULL`).Scan(&n)
		return n == 2
	})
	// the device log shows the code each device answered its notify with
	eventually(t, 5*time.Second, "notify_reply codes logged", func() bool {
		var n int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM device_messages WHERE topic LIKE '%/notify_reply' AND code = 200`).Scan(&n)
		return n == 2
	})

	d := devs[0]
	list := d.request(protocol.KindGet, map[string]string{"taskId": "$list"})
	if list.Code != 200 || string(list.Data) != `{"taskId":"$list","task":[{"taskId":"`+ids[0]+`","status":"SENT"}],"tasks":[{"taskId":"`+ids[0]+`","status":"SENT"}]}` {
		t.Fatalf("$list: %s", list.raw)
	}
	next := d.request(protocol.KindGet, map[string]string{"taskId": "$next"})
	if next.Code != 200 || !strings.HasPrefix(string(next.Data), `{"taskId":"$next","task":{"taskId":"`+ids[0]+`","status":"SENT","jobFile":{`) ||
		!strings.Contains(string(next.Data), `"fileUrl":"`+s.app.Config.PublicURL) || !strings.HasSuffix(string(next.Data), `"jobDocument":{"\u0076ersion":"2.1","\u0073tatus":"not-ours"}}}`) {
		t.Fatalf("$next: %s", next.raw)
	}
	if r := d.update(ids[0], "IN_PROGRESS", map[string]any{"progress": 50, "statusDetails": map[string]string{"step": "downloading"}}); r.Code != 200 ||
		string(r.Data) != `{"taskId":"`+ids[0]+`","status":"IN_PROGRESS"}` {
		t.Fatalf("IN_PROGRESS: %s", r.raw)
	}
	if r := d.update(ids[0], "IN_PROGRESS", map[string]any{"progress": 80}); r.Code != 200 {
		t.Fatalf("progress report: %s", r.raw)
	}
	byID := d.request(protocol.KindGet, map[string]string{"taskId": ids[0]})
	if byID.Code != 200 || !strings.Contains(string(byID.Data), `"status":"IN_PROGRESS","progress":80`) ||
		!strings.HasSuffix(string(byID.Data), `"statusDetails":{"step":"downloading"}}`) {
		t.Fatalf("get by id: %s", byID.raw)
	}
	var timeoutAt *time.Time
	s.app.DB.Pool.QueryRow(context.Background(), `SELECT timeout_at FROM subtasks WHERE id = $1`, ids[0]).Scan(&timeoutAt)
	if timeoutAt == nil || time.Until(*timeoutAt) < 29*time.Minute {
		t.Fatalf("timeout_at = %v", timeoutAt)
	}
	if r := d.update(ids[0], "REJECTED", nil); r.Code != 409 || !strings.Contains(string(r.Data), `"status":"IN_PROGRESS"`) {
		t.Fatalf("REJECTED after start: %s", r.raw)
	}
	if r := d.update(ids[0], "SUCCEEDED", map[string]any{"progress": 100}); r.Code != 200 || !strings.Contains(string(r.Data), "SUCCEEDED") {
		t.Fatalf("SUCCEEDED: %s", r.raw)
	}
	if r := d.update(ids[0], "IN_PROGRESS", nil); r.Code != 409 || string(r.Data) != `{"taskId":"`+ids[0]+`","status":"SUCCEEDED"}` {
		t.Fatalf("update after the end: %s", r.raw)
	}
	if s.taskStatus(task.ID) != models.TaskInProgress {
		t.Fatal("task finished early")
	}
	// the other device rejects: every sub-task is terminal, the task completes
	if r := devs[1].update(ids[1], "REJECTED", nil); r.Code != 200 {
		t.Fatalf("REJECTED: %s", r.raw)
	}
	eventually(t, 5*time.Second, "task COMPLETED", func() bool { return s.taskStatus(task.ID) == models.TaskCompleted })
	st := s.stats(task.ID)
	if st.Succeeded != 1 || st.Rejected != 1 || st.Total != 2 {
		t.Fatalf("stats %+v", st)
	}
	empty := d.request(protocol.KindGet, map[string]string{"taskId": "$list"})
	if string(empty.Data) != `{"taskId":"$list","task":[],"tasks":[]}` {
		t.Fatalf("empty $list: %s", empty.raw)
	}
	if r := d.request(protocol.KindGet, map[string]string{"taskId": "$next"}); r.Code != 200 || string(r.Data) != `{"taskId":"$next"}` {
		t.Fatalf("empty $next: %s", r.raw)
	}
	// the message log has both directions, with ids, codes and sub-tasks
	eventually(t, 5*time.Second, "message log written", func() bool {
		var in, out int
		s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE direction = 'd2c'), count(*) FILTER (WHERE direction = 'c2d')
			FROM device_messages m JOIN devices d ON d.id = m.device_id WHERE d.device_name = 'd1'`).Scan(&in, &out)
		return in >= 9 && out >= 10
	})
}

func download(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("download %s: %d", url, resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	return b
}
