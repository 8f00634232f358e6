package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseTopic(t *testing.T) {
	pk, dn, kind, ok := ParseTopic("/sys/p1/d-1.x/thing/job/update")
	if !ok || pk != "p1" || dn != "d-1.x" || kind != "update" {
		t.Fatal(pk, dn, kind, ok)
	}
	for _, bad := range []string{"sys/p/d/thing/job/get", "/sys/p/d/thing/job", "/sys//d/thing/job/get", "/sys/p/d/thing/jobs/get", "/sys/p/d/x/thing/job/get"} {
		if _, _, _, ok := ParseTopic(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if got := SharedFilter("g", KindUpdate); got != "$share/g//sys/+/+/thing/job/update" {
		t.Fatal(got)
	}
}

func TestParseRequest(t *testing.T) {
	cases := []struct {
		payload, id string
		ok          bool
	}{
		{`{"id":"123","version":"1.0","params":{"taskId":"$list"}}`, "123", true},
		{`{"id":"4294967295","version":"1.0.0","params":{}}`, "4294967295", true},
		{`{"id":4,"version":"1.0","params":{}}`, "4", true},
		{`{"id":"4294967296","version":"1.0","params":{}}`, "4294967296", false},
		{`{"id":4294967296,"version":"1.0","params":{}}`, "4294967296", false},
		{`{"id":"-1","version":"1.0","params":{}}`, "-1", false},
		{`{"id":"01","version":"1.0","params":{}}`, "01", false},
		{`{"id":"abc","version":"1.0","params":{}}`, "abc", false},
		{`{"id":"","version":"1.0","params":{}}`, "", false},
		{`{"id":"abc","version":"1.0","params":{`, "abc", false},
		{`{"version":"1.0","params":{}}`, "", false},
		{`[{"id":"1"}]`, "", false},
		// bad bytes: a 400 for this request alone, with its id
		{"{\"id\":\"11\",\"version\":\"1.0\",\"params\":{\"taskId\":\"\xff\"}}", "11", false},
		{`{"id":"12","version":"1.0","params":{"taskId":"1","statusDetails":{"a":"\u0000"}}}`, "12", false},
		{`{"id":"13","version":"1.0","params":{"taskId":"1","statusDetails":{"a":"\ud800"}}}`, "13", false},
		{`{"id":"14","version":"1.0","params":{"taskId":"1","taskId":"2"}}`, "14", false},
		{`{"id":"15","id":"16","version":"1.0","params":{}}`, "15", false},
		{`{"id":"17","version":"1.0","params":{"statusDetails":` + strings.Repeat(`{"a":`, 17) + `1` + strings.Repeat(`}`, 17) + `}}`, "17", false},
		{`{"id":"18","version":"1.0","params":{"statusDetails":` + strings.Repeat(`{"a":`, 16) + `1` + strings.Repeat(`}`, 16) + `}}`, "18", true},
		{`{"id":"19","version":"1.0","params":{"taskId":"\ud83d\ude00"}}`, "19", true},
		{`{"id":"7","version":"2.0","params":{}}`, "7", false},
		{`{"id":"7","params":{}}`, "7", false},
		{`{"id":"7","version":"1.0","params":[]}`, "7", false},
		{`{"id":"8","version":"1.0","params":{`, "8", false},
		{`not json at all`, "", false},
		{`{"id":"9","version":"1.0","params":{"x":"` + strings.Repeat("a", MaxPayload) + `"}}`, "9", false},
	}
	for _, tc := range cases {
		req, id, err := ParseRequest([]byte(tc.payload))
		short := tc.payload
		if len(short) > 60 {
			short = short[:60]
		}
		if (err == nil) != tc.ok || id != tc.id {
			t.Errorf("%s: id %q err %v; want id %q ok %v", short, id, err, tc.id, tc.ok)
		}
		if err != nil && err.Code != CodeBadRequest {
			t.Errorf("%s: code %d", short, err.Code)
		}
		if tc.ok && req.ID != tc.id {
			t.Errorf("%s: req.ID %q", short, req.ID)
		}
	}
}

func TestParseUpdate(t *testing.T) {
	good := `{"taskId":"5","status":"IN_PROGRESS","statusDetails":{ "step" : "dl" },"progress":50}`
	p, err := ParseUpdate(json.RawMessage(good))
	if err != nil || p.TaskID != "5" || *p.Progress != 50 || string(p.StatusDetails) != `{"step":"dl"}` {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{
		`{"status":"IN_PROGRESS"}`,
		`{"taskId":"5","status":"DONE"}`,
		`{"taskId":"5","status":"QUEUED"}`,
		`{"taskId":"5","status":"IN_PROGRESS","progress":101}`,
		`{"taskId":"5","status":"IN_PROGRESS","progress":-1}`,
		`{"taskId":"5","status":"IN_PROGRESS","progress":5.5}`,
		`{"taskId":"5","status":"IN_PROGRESS","progress":"5"}`,
		`{"taskId":"5","status":"IN_PROGRESS","statusDetails":"x"}`,
		`{"taskId":"5","status":"IN_PROGRESS","statusDetails":[1]}`,
		`{"taskId":"5","status":"IN_PROGRESS","statusDetails":{"k":"` + strings.Repeat("a", MaxStatusDetails) + `"}}`,
		`{"taskId":5,"status":"IN_PROGRESS"}`,
	} {
		if _, err := ParseUpdate(json.RawMessage(bad)); err == nil || err.Code != CodeBadRequest {
			t.Errorf("%.70s: err %v", bad, err)
		}
	}
}

func TestMarshalKeyOrderAndCompact(t *testing.T) {
	n := Notify{ID: "1", Version: Version, Params: NotifyParams{Task: Task{
		TaskID: "9", Status: "SENT",
		JobDocument: UserJSON(`{"status": "x", "a": [1, 2], "s": "{[x]}"}`),
		JobFile:     Marshal(JobFile{SignMethod: "Md5", Sign: "ab", FileURL: "http://h/d?a=1&b=2"}),
	}}}
	got := string(Marshal(n))
	want := `{"id":"1","version":"1.0","params":{"task":{"taskId":"9","status":"SENT","jobFile":{"signMethod":"Md5","sign":"ab","fileUrl":"http://h/d?a=1&b=2"},` +
		`"jobDocument":{"\u0073tatus":"x","a":[1,2],"s":"\u007b\u005bx\u005d\u007d"}}}}`
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	r := Marshal(Reply{ID: "3", Code: 200, Data: ListData{TaskID: List, Task: []ListItem{}, Tasks: []ListItem{}}})
	if string(r) != `{"id":"3","code":200,"data":{"taskId":"$list","task":[],"tasks":[]}}` {
		t.Fatal(string(r))
	}
}
