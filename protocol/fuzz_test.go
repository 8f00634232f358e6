package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"fleettasks/internal/scanner"
)

// The decoder never panics, accepts only what the server can store and
// answer, and recovers an id to answer with whenever one was sent. The seed
// corpus (testdata/fuzz/FuzzParseRequest) holds the hostile payloads seen in
// the field: restarted ids, bad bytes, duplicate keys, deep nesting.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"id":"1","version":"1.0.0","params":{"taskId":"$list"}}`))
	f.Add([]byte(`{"id":"2","version":"1.0","params":{"taskId":"5","status":"SUCCEEDED","progress":100,"statusDetails":{"tasks":"1 of 2"}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, id, perr := ParseRequest(payload)
		if perr != nil {
			if req != nil || perr.Code != CodeBadRequest {
				t.Fatalf("refusal %v with request %v", perr, req)
			}
			if id != "" {
				var back ReplyMessage
				if err := json.Unmarshal(Marshal(Reply{ID: id, Code: perr.Code, Data: Empty, Message: perr.Message}), &back); err != nil {
					t.Fatalf("reply to id %q does not parse: %v", id, err)
				}
			}
			return
		}
		if !json.Valid(payload) || !utf8.Valid(payload) || !ValidID(req.ID) || req.ID != id {
			t.Fatalf("accepted %q (id %q)", payload, id)
		}
		if p, perr := ParseUpdate(req.Params); perr == nil && len(p.StatusDetails) > 0 {
			if len(p.StatusDetails) > MaxStatusDetails || p.StatusDetails[0] != '{' || !json.Valid(p.StatusDetails) {
				t.Fatalf("statusDetails %q", p.StatusDetails)
			}
		}
		ParseGet(req.Params)
	})
}

// Any job document a user may write reaches a JSON parser unchanged and a
// first-match scanner unmisled.
func FuzzUserJSON(f *testing.F) {
	for _, d := range trapDocuments {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var want any
		if json.Unmarshal(doc, &want) != nil || !utf8.Valid(doc) {
			return
		}
		if _, ok := want.(map[string]any); !ok {
			return
		}
		task := Task{TaskID: "42", Status: "SENT", JobDocument: UserJSON(doc)}
		payload := Marshal(Notify{ID: "1", Version: Version, Params: NotifyParams{Task: task}})
		var got struct {
			Params struct{ Task struct{ JobDocument any } }
		}
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("%s does not parse: %v", payload, err)
		}
		if !reflect.DeepEqual(got.Params.Task.JobDocument, want) {
			t.Fatalf("document %s read back as %v", doc, got.Params.Task.JobDocument)
		}
		s := scanner.ReadTask(payload)
		if s.IsList || s.TaskID != "42" || s.Status != "SENT" || s.FileURL != "" {
			t.Fatalf("scanner read %+v from %s", s, payload)
		}
		var scanned any
		if err := json.Unmarshal(s.JobDocument, &scanned); err != nil || !reflect.DeepEqual(scanned, want) {
			t.Fatalf("scanner cut the document %s to %s", doc, s.JobDocument)
		}
	})
}
