package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// csdkNames are a 40-byte product key and two device names of it: one at
// the Alibaba C SDK's limit (98 bytes together), one a byte over it.
func csdkNames(t *testing.T) (pk, fits, over string) {
	pk = testenv.Prefix(t)
	pk += strings.Repeat("p", 40-len(pk))
	fits = strings.Repeat("f", models.MaxCSDKNameBytes-len(pk))
	over = strings.Repeat("o", models.MaxCSDKNameBytes+1-len(pk))
	return pk, fits, over
}

func TestAPIDeviceCreateCSDKWarning(t *testing.T) {
	s := newTestServer(t)
	pk, fits, over := csdkNames(t)
	s.do("POST", "/api/v1/products", map[string]string{"productKey": pk}, nil)

	var got struct {
		Devices  []models.Device       `json:"devices"`
		Warnings []models.FieldWarning `json:"warnings"`
	}
	st, raw := s.do("POST", "/api/v1/products/"+pk+"/devices", devicesBody("d1", fits, over), &got)
	if st != http.StatusCreated || len(got.Devices) != 3 {
		t.Fatalf("create: %d %s", st, raw)
	}
	if len(got.Warnings) != 1 || got.Warnings[0].Field != "devices[2].deviceName" ||
		!strings.HasPrefix(got.Warnings[0].Message, pk+"/"+over+": ") ||
		!strings.Contains(got.Warnings[0].Message, "together are 99 bytes") ||
		!strings.Contains(got.Warnings[0].Message, "at most 98") ||
		!strings.Contains(got.Warnings[0].Message, "docs/protocol.md") {
		t.Fatalf("warnings: %s", raw)
	}

	st, raw = s.do("POST", "/api/v1/products/"+pk+"/devices", devicesBody("d2"), nil)
	if st != http.StatusCreated || strings.Contains(string(raw), "warnings") {
		t.Fatalf("no warning wanted: %d %s", st, raw)
	}
}

func TestConsoleDeviceCreateCSDKHint(t *testing.T) {
	s := newTestServer(t)
	pk, fits, over := csdkNames(t)
	s.do("POST", "/api/v1/products", map[string]string{"productKey": pk}, nil)

	resp, frag := s.page("POST", "/devices", url.Values{"productKey": {pk}, "deviceName": {fits}}, true)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(testid(frag, "device-added").Text(), "Registered the device") ||
		testid(frag, "device-added-hint").Length() != 0 {
		t.Fatalf("98 bytes: %d %q", resp.StatusCode, frag.Text())
	}
	// the answer that shows the secret shows the hint too
	resp, frag = s.page("POST", "/devices", url.Values{"productKey": {pk}, "deviceName": {over}}, true)
	msg := testid(frag, "device-added-hint").Text()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(testid(frag, "device-added").Text(), "Registered the device "+pk+"/"+over+".") ||
		!strings.Contains(msg, "together are 99 bytes") || !strings.Contains(msg, "docs/protocol.md") || testid(frag, "device-secret-value").Text() == "" {
		t.Fatalf("99 bytes: %d %q", resp.StatusCode, frag.Text())
	}
}

func TestConsoleDeviceImportCSDKHints(t *testing.T) {
	s := newTestServer(t)
	pk, fits, over := csdkNames(t)
	s.do("POST", "/api/v1/products", map[string]string{"productKey": pk}, nil)

	resp, doc := s.importCSV("productKey,deviceName\n" + pk + ",a\n" + pk + "," + fits + "\n" + pk + "," + over + "\n")
	hints := testid(doc, "import-hint")
	if resp.StatusCode != 200 || !strings.Contains(testid(doc, "import-done").Text(), "Imported 3 devices") ||
		hints.Length() != 1 || hints.AttrOr("data-line", "") != "4" ||
		!strings.Contains(hints.Text(), pk+","+over) || !strings.Contains(hints.Text(), "together are 99 bytes") {
		t.Fatalf("import: %d, %d hints %q", resp.StatusCode, hints.Length(), hints.Text())
	}
	if testid(doc, "import-report").Length() != 0 {
		t.Fatal("a done import shows a problem report")
	}
	var list models.List[models.Device]
	if st, raw := s.do("GET", "/api/v1/devices?productKey="+pk, nil, &list); st != 200 || list.Total != 3 {
		t.Fatalf("devices after the import: %d %s", st, raw)
	}

	if testid(doc, "import-secrets-download").Length() != 1 {
		t.Fatal("a done import with hints offers no secrets")
	}
	resp, doc = s.importCSV("productKey,deviceName\n" + pk + ",b\n")
	if resp.StatusCode != http.StatusOK || !strings.Contains(testid(doc, "import-done").Text(), "Imported 1 devices") || testid(doc, "import-hint").Length() != 0 {
		t.Fatalf("import without hints: %d %q", resp.StatusCode, doc.Text())
	}
}
