package models_test

import (
	"encoding/json"
	"testing"

	"fleettasks/models"
)

func TestDeviceDocument(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, doc, want string }{
		{"example", `{"url":"https://x/fw/${productKey}/${deviceName}.bin","id":"${subtaskId}","n":3}`,
			`{"url":"https://x/fw/lamp/lamp-01.bin","id":"42","n":3}`},
		{"keys untouched", `{"${deviceName}":"${deviceName}","a":{"${productKey}" :1}}`,
			`{"${deviceName}":"lamp-01","a":{"${productKey}" :1}}`},
		{"numbers untouched", `{"big":123456789012345678901234567890,"f":1.50,"e":1E+400,"neg":-0.0,"s":"${subtaskId}"}`,
			`{"big":123456789012345678901234567890,"f":1.50,"e":1E+400,"neg":-0.0,"s":"42"}`},
		{"unknown names kept", `{"a":"${version} ${ deviceName} ${deviceName ${DeviceName} $${deviceName}}","b":"${}"}`,
			`{"a":"${version} ${ deviceName} ${deviceName ${DeviceName} $lamp-01}","b":"${}"}`},
		{"nested", `{"a":{"b":["${productKey}",{"c":"${deviceName}"},[["${subtaskId}"]]],"d":[1,true,null,"x${subtaskId}y"]},"e":[]}`,
			`{"a":{"b":["lamp",{"c":"lamp-01"},[["42"]]],"d":[1,true,null,"x42y"]},"e":[]}`},
		{"every occurrence", `{"a":"${deviceName}${deviceName}/${deviceName}"}`, `{"a":"lamp-01lamp-01/lamp-01"}`},
		// variables are found in the decoded string; a string without one
		// keeps its escapes, one with one is written anew
		{"escaped variables", `{"a":"\u0024{deviceName}","b":"$\u007BproductKey\u007d","c":"\\u0024{deviceName}","d":"\u00e9\/${subtaskId}"}`,
			`{"a":"lamp-01","b":"lamp","c":"\\u0024{deviceName}","d":"é/42"}`},
		{"others keep their bytes", `{"a":"\u00e9\/\"","b":"${subtaskId}","c":"$5 {x}"}`, `{"a":"\u00e9\/\"","b":"42","c":"$5 {x}"}`},
		{"whitespace kept", "{\n  \"k\" : \"${deviceName}\" ,\n  \"n\" : [ 1 , \"${productKey}\" ]\n}",
			"{\n  \"k\" : \"lamp-01\" ,\n  \"n\" : [ 1 , \"lamp\" ]\n}"},
	}
	for _, c := range cases {
		got := models.DeviceDocument([]byte(c.doc), "lamp", "lamp-01", 42)
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: not JSON: %s", c.name, got)
		}
	}
}

// Values are encoded by the rules of encoding/json whatever they hold, and
// are not searched for variables in their turn.
func TestDeviceDocumentEscaping(t *testing.T) {
	t.Parallel()
	name := "a\"b\\c</d>&e\n\tf\x01é\u2028${productKey}"
	got := models.DeviceDocument([]byte(`{"a":"[${deviceName}]","n":1}`), "p", name, 7)
	want := `{"a":"[a\"b\\c</d>&e\n\tf\u0001é\u2028${productKey}]","n":1}`
	if string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	var v struct{ A string }
	if err := json.Unmarshal(got, &v); err != nil || v.A != "["+name+"]" {
		t.Fatalf("decoded %q (%v)", v.A, err)
	}
}

// A document without variables is returned as is: the same slice, without
// an allocation, when it has no "${" at all. (Not parallel: AllocsPerRun.)
func TestDeviceDocumentWithoutVariables(t *testing.T) {
	for _, doc := range []string{`{}`, `{"version":"2.1","url":"https://x/fw.bin","n":[1,2]}`, `{"a":"${version}","$":"$ {x}"}`, `{"${deviceName}":1}`} {
		b := []byte(doc)
		got := models.DeviceDocument(b, "lamp", "lamp-01", 42)
		if len(got) != len(b) || &got[0] != &b[0] {
			t.Errorf("%s: a copy (%s), not the document", doc, got)
		}
		if models.DocumentHasVariables(b) {
			t.Errorf("%s: has variables?", doc)
		}
	}
	plain := []byte(`{"version":"2.1","url":"https://x/fw.bin","price":"$5","n":[1,2]}`)
	if n := testing.AllocsPerRun(100, func() { models.DeviceDocument(plain, "lamp", "lamp-01", 42) }); n != 0 {
		t.Errorf("%v allocations for a document without variables", n)
	}
	for _, doc := range []string{`{"a":"${deviceName}"}`, `{"a":[{"b":"x${subtaskId}"}]}`, `{"a":"\u0024{productKey}"}`} {
		if !models.DocumentHasVariables([]byte(doc)) {
			t.Errorf("%s: no variables?", doc)
		}
	}
}

// BenchmarkDeviceDocument measures a device's copy of a typical document,
// without variables (the fast path) and with them.
func BenchmarkDeviceDocument(b *testing.B) {
	for _, c := range []struct{ name, doc string }{
		{"no-variables", `{"version":"2.1.0","url":"https://fw.example.com/lamp/2.1.0/lamp.bin","reboot":true,"retries":3,"window":{"start":"02:00","end":"04:00"}}`},
		{"variables", `{"version":"2.1.0","url":"https://fw.example.com/${productKey}/2.1.0/${deviceName}.bin","reboot":true,"retries":3,"window":{"start":"02:00","end":"04:00"},"job":"${subtaskId}"}`},
	} {
		doc := []byte(c.doc)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				models.DeviceDocument(doc, "lamp", "lamp-01", 4711)
			}
		})
	}
}
