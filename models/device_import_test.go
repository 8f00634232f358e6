package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"fleettasks/models"
)

// importErr fails unless err is an import report; it returns "line:reason" lines.
func importErr(t *testing.T, err error) []string {
	t.Helper()
	var ie *models.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("want an import report, got %v", err)
	}
	var out []string
	for _, p := range ie.Problems {
		out = append(out, fmt.Sprintf("%d:%s", p.Line, p.Reason))
	}
	return out
}

func TestImportDevicesReport(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1", "old")
	cases := []struct {
		name, csv string
		want      []string // line:reason prefixes
	}{
		{"bad header", "pk,dn\np1,a\n", []string{"1:the header must be"}},
		{"empty", "productKey,deviceName\n", []string{"1:the file has no devices"}},
		{"bad characters", "productKey,deviceName\np1,a b\np.1,c\n", []string{"2:deviceName \"a b\" has a character", "3:productKey \"p.1\" has a character"}},
		{"duplicates and taken", "productKey,deviceName\np1,a\np1,a\np1,old\n", []string{"3:is given twice in the file, also on line 2"}},
		{"unknown product and taken", "productKey,deviceName\np9,a\np1,old\np1,new\n", []string{"2:no product \"p9\"", "3:the device is already registered"}},
		{"fields", "productKey,deviceName\np1\n", []string{"2:has 1 fields"}},
		{"not utf-8", "productKey,deviceName\np1,ok\np1,caf\xe9\n", []string{"3:is not UTF-8 text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.ImportDevices(ctx, strings.NewReader(tc.csv))
			got := importErr(t, err)
			if res.Created != 0 || len(got) != len(tc.want) {
				t.Fatalf("got %d, %q; want %q", res.Created, got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("problem %d: %q, want %q...", i, got[i], tc.want[i])
				}
			}
		})
	}
	_, total, _ := r.ListDevices(ctx, models.DeviceFilter{}, models.Page{})
	if total != 1 {
		t.Fatalf("%d devices after refused imports, want 1 (nothing half-written)", total)
	}
}

func TestImportDevicesBulk(t *testing.T) {
	_, r := newRegistry(t)
	ctx := context.Background()
	regProduct(t, r, "p1")
	regProduct(t, r, "p2")
	var b strings.Builder
	b.WriteString("\xef\xbb\xbfproductKey,deviceName\r\n")
	for i := range models.MaxImportRows {
		fmt.Fprintf(&b, "p%d,dev-%06d\r\n", i%2+1, i)
	}
	res, err := r.ImportDevices(ctx, strings.NewReader(b.String()))
	if err != nil || res.Created != models.MaxImportRows || len(res.Hints) != 0 {
		t.Fatalf("import of %d: %d (%d hints), %v", models.MaxImportRows, res.Created, len(res.Hints), err)
	}
	b.WriteString("p1,one-too-many\n")
	_, err = r.ImportDevices(ctx, strings.NewReader(b.String()))
	got := importErr(t, err)
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], fmt.Sprintf("%d:too many rows", models.MaxImportRows+2)) {
		t.Fatalf("too many rows: %q...", got[len(got)-1])
	}
	// every line of the first import is now taken: the report stops at 1000
	_, err = r.ImportDevices(ctx, strings.NewReader(strings.TrimSuffix(b.String(), "p1,one-too-many\n")))
	var ie *models.ImportError
	errors.As(err, &ie)
	if len(ie.Problems) != 1000 || ie.More != models.MaxImportRows-1000 {
		t.Fatalf("the report is bounded: %d problems, %d more", len(ie.Problems), ie.More)
	}
}
