package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"fleettasks/internal/scanner"
)

// Documents written to trip a first-match scanner: protocol keys inside the
// document, braces and brackets inside strings, escaped keys already.
var trapDocuments = []string{
	`{"version":"8.1","jobFile":{"url":"http://other.example/"}}`,
	`{"tasks":[{"taskId":"x","status":"SUCCEEDED"}],"status":"FAILED","taskId":"evil","progress":100}`,
	`{"cmd":"echo \"}\""}`,
	`{"a":"[","b":"]}}}","c":{"d":"{{{"},"e":["}",{"f":"]"}]}`,
	`{"task":{"taskId":"0","jobDocument":{}},"id":"1","code":500,"data":{},"message":"x"}`,
	`{"\u0074asks":1,"fileUrl":"http://evil.example/","sign":"00","signMethod":"Md5"}`,
	`{"k{":"v}","quote\"status\":":"\"status\":\"FAILED\"","url":"\\"}`,
	`{"unicode":"é😀\u2028","n":[1.5e3,-0,true,null],"deep":{"statusDetails":{"tasks":[]}}}`,
}

func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s does not parse: %v", what, got, err)
	}
	json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: read %s, want %s", what, got, want)
	}
}

// Every message kind the server sends, with every trap document, is read
// right both by a JSON parser and by a first-match scanner.
func TestScannerReadsEveryReplyKind(t *testing.T) {
	file := Marshal(JobFile{SignMethod: "Sha256", Sign: "abc123", FileURL: "http://files.example/d?sig=1&exp=2"})
	for _, doc := range trapDocuments {
		task := Task{TaskID: "42", Status: "IN_PROGRESS", JobFile: file, JobDocument: UserJSON(doc)}
		notify := Marshal(Notify{ID: "7", Version: Version, Params: NotifyParams{Task: task}})
		detail := Marshal(Reply{ID: "8", Code: CodeOK, Data: DetailData{TaskID: Next, Task: &task, StatusDetails: UserJSON(doc)}})
		for name, payload := range map[string][]byte{"notify": notify, "detail": detail} {
			if strings.ContainsAny(string(payload), " \n") && !strings.Contains(doc, " ") {
				t.Fatalf("%s not compact: %s", name, payload)
			}
			if !strings.HasPrefix(string(payload), `{"id":"`) {
				t.Fatalf("%s: id not first: %s", name, payload)
			}
			got := scanner.ReadTask(payload)
			if got.IsList || got.TaskID != "42" || got.Status != "IN_PROGRESS" || got.FileURL != "http://files.example/d?sig=1&exp=2" ||
				got.Sign != "abc123" || got.SignMethod != "Sha256" {
				t.Fatalf("%s with %s: scanner read %+v from %s", name, doc, got, payload)
			}
			sameJSON(t, name+": scanned jobDocument", got.JobDocument, doc)
			var full struct {
				Params struct {
					Task struct{ JobDocument json.RawMessage }
				}
				Data struct {
					Task          struct{ JobDocument json.RawMessage }
					StatusDetails json.RawMessage
				}
			}
			if err := json.Unmarshal(payload, &full); err != nil {
				t.Fatal(err)
			}
			if name == "notify" {
				sameJSON(t, "parsed jobDocument", full.Params.Task.JobDocument, doc)
			} else {
				sameJSON(t, "parsed jobDocument", full.Data.Task.JobDocument, doc)
				sameJSON(t, "parsed statusDetails", full.Data.StatusDetails, doc)
			}
		}
		// an update reply echoing a hostile taskId, and an error reply
		// echoing a hostile id
		for _, id := range []string{`x","status":"SUCCEEDED`, `{"tasks":[`, `}]}`} {
			up := Marshal(Reply{ID: "9", Code: CodeConflict, Data: UpdateData{TaskID: id, Status: "FAILED"}, Message: "m"})
			if s, _ := scanner.String(up, "status"); s != "FAILED" {
				t.Fatalf("update reply %s: status read as %q", up, s)
			}
			if _, list := scanner.Value(up, "tasks"); list {
				t.Fatalf("update reply %s reads as a list", up)
			}
			bad := Marshal(Reply{ID: id, Code: CodeBadRequest, Data: Empty, Message: "m"})
			if c, _ := scanner.Value(bad, "code"); string(c) != "400" {
				t.Fatalf("error reply %s: code read as %q", bad, c)
			}
			var r ReplyMessage
			if json.Unmarshal(bad, &r); r.ID != id {
				t.Fatalf("id %q read back as %q", id, r.ID)
			}
		}
	}
	// a $list reply is a list, and its items read flat
	list := Marshal(Reply{ID: "10", Code: CodeOK, Data: ListData{TaskID: List,
		Task: []ListItem{{TaskID: "1", Status: "SENT"}}, Tasks: []ListItem{{TaskID: "1", Status: "SENT"}}}})
	if !scanner.ReadTask(list).IsList {
		t.Fatalf("$list not read as a list: %s", list)
	}
	if items, _ := scanner.Value(list, "tasks"); string(items) != `[{"taskId":"1","status":"SENT"}]` {
		t.Fatalf("$list items: %s", items)
	}
}

func TestEscapeBrackets(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":[1,{"b":"{x}"}]}`:  `{"a":[1,{"b":"\u007bx\u007d"}]}`,
		`{"a":"\"[\\"}`:          `{"a":"\"\u005b\\"}`,
		`{"a\\":"]","b":"\\\\"}`: `{"a\\":"\u005d","b":"\\\\"}`,
		`[]`:                     `[]`,
	} {
		if got := string(escapeBrackets([]byte(in))); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}
