package models_test

import (
	"strings"
	"testing"

	"fleettasks/models"
)

// nested is a document of depth nested objects ({"a":{"a":{}}} is 3).
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}

func TestCompactDocumentDepth(t *testing.T) {
	t.Parallel()
	deepest := nested(models.MaxDocumentDepth)
	if got, err := models.CompactDocument("jobDocument", []byte(deepest)); err != nil || string(got) != deepest {
		t.Fatalf("%d levels: %v", models.MaxDocumentDepth, err)
	}
	arrays := `{"a":` + strings.Repeat("[", models.MaxDocumentDepth-1) + strings.Repeat("]", models.MaxDocumentDepth-1) + `}`
	if _, err := models.CompactDocument("jobDocument", []byte(arrays)); err != nil {
		t.Fatalf("%d levels of arrays: %v", models.MaxDocumentDepth, err)
	}
	for _, doc := range []string{nested(models.MaxDocumentDepth + 1), `{"a":` + strings.Repeat("[", models.MaxDocumentDepth) + strings.Repeat("]", models.MaxDocumentDepth) + `}`} {
		_, err := models.CompactDocument("jobDocument", []byte(doc))
		me, ok := models.AsError(err)
		if !ok || me.Kind != models.KindInvalid || me.Field != "jobDocument" || !strings.Contains(me.Message, "more than 32 levels") {
			t.Errorf("%d levels: %v", models.MaxDocumentDepth+1, err)
		}
	}
}

func TestCompactDocumentText(t *testing.T) {
	t.Parallel()
	cases := []struct{ doc, want string }{
		{`{"cmd":"a\u0000b"}`, "cmd contains the character U+0000"},
		{`{"x":["ok",{"cmd":"\ud800"}]}`, "x[1].cmd contains a lone surrogate escape"},
		{"{\"cmd\":\"\xff\"}", "cmd is not valid UTF-8"},
		{`{"cmd":1,"cmd":2}`, "cmd is a duplicate key"},
		{`{"\u0000":1}`, "contains the character U+0000"},
	}
	for _, c := range cases {
		_, err := models.CompactDocument("file", []byte(c.doc))
		if me, ok := models.AsError(err); !ok || me.Field != "file" || !strings.HasPrefix(me.Message, c.want) {
			t.Errorf("%q: %v, want file: %s", c.doc, err, c.want)
		}
	}
	if _, err := models.CompactDocument("jobDocument", []byte(`{"emoji":"\ud83d\ude00","é":"\u00e9"}`)); err != nil {
		t.Errorf("a surrogate pair and UTF-8: %v", err)
	}
}
