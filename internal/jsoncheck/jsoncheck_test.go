package jsoncheck

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 5) + `1` + strings.Repeat(`}`, 5)
	cases := []struct {
		in, path, reason string
	}{
		{`{"a":"b","c":[1,{"d":null}],"e":"\u00e9\ud83d\ude00\"\\"}`, "", ""},
		{"{\"a\":\"\xff\"}", "a", ReasonUTF8},
		{"{\"a\":[\"ok\",\"\xc3\"]}", "a[1]", ReasonUTF8},
		{`{"a":{"b":"x\u0000"}}`, "a.b", ReasonNUL},
		{`{"a":"\ud800"}`, "a", ReasonSurrogate},
		{`{"a":"\ud800x"}`, "a", ReasonSurrogate},
		{`{"a":"\ud800\u0041"}`, "a", ReasonSurrogate},
		{`{"a":"\udc00"}`, "a", ReasonSurrogate},
		{`{"\u0000":1}`, "", ReasonNUL},
		{`{"a":1,"b":{"c":1,"c":2}}`, "b.c", ReasonDuplicate},
		{`{"tasks":1,"\u0074asks":2}`, "tasks", ReasonDuplicate},
		{`[{"a":1},{"a":1}]`, "", ""},
		{deep, "a.a.a.a", ReasonDepth},
		{`{"a":`, "", ReasonSyntax},
		{` { "a" : [ 1 , 2 ] , "b" : { } } `, "", ""},
	}
	for _, tc := range cases {
		p := Check([]byte(tc.in), "", 4)
		switch {
		case tc.reason == "" && p != nil:
			t.Errorf("%q: %v", tc.in, p)
		case tc.reason != "" && (p == nil || p.Reason != tc.reason || p.Path != tc.path):
			t.Errorf("%q: got %v, want %s: %s", tc.in, p, tc.path, tc.reason)
		}
	}
	if p := Check([]byte(`{"x":"\u0000"}`), "jobDocument", 32); p == nil || p.Error() != "jobDocument.x: contains the character U+0000" {
		t.Fatal(p)
	}
}

func TestCheckString(t *testing.T) {
	if CheckString("name", "fine ✓") != nil || CheckString("name", "a\x00b") == nil || CheckString("name", "\xff") == nil {
		t.Fatal("CheckString")
	}
}

func TestMembers(t *testing.T) {
	m, err := Members([]byte(`{"id":"1","id":"2","p":{"a":1}}`))
	if err != nil || len(m) != 3 || m[0].Key != "id" || string(m[0].Value) != `"1"` || string(m[2].Value) != `{"a":1}` {
		t.Fatal(m, err)
	}
	if _, err := Members([]byte(`[1]`)); err == nil {
		t.Fatal("an array is not an object")
	}
}

func TestManyKeysDuplicate(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{`)
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"k7":0}`)
	if p := Check([]byte(b.String()), "", 2); p == nil || p.Path != "k7" || p.Reason != ReasonDuplicate {
		t.Fatal(p)
	}
}

func BenchmarkCheckDeviceList(b *testing.B) {
	var s strings.Builder
	s.WriteString(`{"name":"t","target":{"type":"DEVICE_LIST","devices":[`)
	for i := 0; i < 100_000; i++ {
		if i > 0 {
			s.WriteString(",")
		}
		fmt.Fprintf(&s, `{"productKey":"lamp","deviceName":"lamp-%d"}`, i)
	}
	s.WriteString(`]}}`)
	body := []byte(s.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if p := Check(body, "", 33); p != nil {
			b.Fatal(p)
		}
	}
}

func TestMembersValues(t *testing.T) {
	m, err := Members([]byte(` { "a" : "x\"}" , "b\u0041":[1,{"c":"]"}] ,"d":-1.5e3,"e":{},"f":true} `))
	want := []Member{{"a", []byte(`"x\"}"`)}, {"bA", []byte(`[1,{"c":"]"}]`)}, {"d", []byte(`-1.5e3`)}, {"e", []byte(`{}`)}, {"f", []byte(`true`)}}
	if err != nil || len(m) != len(want) {
		t.Fatal(m, err)
	}
	for i := range want {
		if m[i].Key != want[i].Key || string(m[i].Value) != string(want[i].Value) {
			t.Errorf("member %d: %q %s", i, m[i].Key, m[i].Value)
		}
	}
}
