package models

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// MaxImportRows bounds one CSV import of devices.
const MaxImportRows = 100_000

// MaxImportBytes bounds the size of one CSV import: 100,000 rows of the
// longest names fit.
const MaxImportBytes = 16 << 20

// maxImportProblems bounds the error report of one import.
const maxImportProblems = 1000

// ImportProblem is one line of an import's error report.
type ImportProblem struct {
	Line   int    // line of the file, from 1 (the header)
	Value  string // the offending text
	Reason string
}

// ImportError is an import refused as a whole, with every problem found
// (up to a bound; More says how many were left out).
type ImportError struct {
	Problems []ImportProblem
	More     int
}

func (e *ImportError) Error() string {
	n := len(e.Problems) + e.More
	if n == 1 {
		return "the import has 1 problem; nothing was imported"
	}
	return fmt.Sprintf("the import has %d problems; nothing was imported", n)
}

func (e *ImportError) add(line int, value, reason string) {
	if len(e.Problems) >= maxImportProblems {
		e.More++
		return
	}
	e.Problems = append(e.Problems, ImportProblem{Line: line, Value: value, Reason: reason})
}

func (e *ImportError) orNil() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

// importRow is a device of the file and its line.
type importRow struct {
	ref  DeviceRef
	line int
}

// parseDeviceCSV reads a device import: the header productKey,deviceName
// and one device per line, at most MaxImportRows, UTF-8 (a BOM is
// skipped). Every problem is reported, not just the first.
func parseDeviceCSV(r io.Reader) ([]importRow, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("models: read device CSV: %w", err)
	}
	report := &ImportError{}
	if len(raw) > MaxImportBytes {
		report.add(0, "", fmt.Sprintf("the file is over %d MB", MaxImportBytes>>20))
		return nil, report
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(raw) {
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 0, 64<<10), MaxImportBytes)
		for line := 1; sc.Scan(); line++ {
			if !utf8.Valid(sc.Bytes()) {
				report.add(line, strings.ToValidUTF8(sc.Text(), "�"), "is not UTF-8 text; save the file as UTF-8")
			}
		}
		return nil, report
	}
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var rows []importRow
	seen := map[DeviceRef]int{}
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			report.add(pe.StartLine, "", "is not valid CSV: "+pe.Err.Error())
			break
		} else if err != nil {
			return nil, fmt.Errorf("models: read device CSV: %w", err)
		}
		if n == 0 {
			if len(rec) != 2 || !strings.EqualFold(strings.TrimSpace(rec[0]), "productKey") || !strings.EqualFold(strings.TrimSpace(rec[1]), "deviceName") {
				report.add(line, strings.Join(rec, ","), "the header must be productKey,deviceName")
				return nil, report
			}
			continue
		}
		if n > MaxImportRows {
			report.add(line, strings.Join(rec, ","), fmt.Sprintf("too many rows; the limit is %d devices per import", MaxImportRows))
			break
		}
		if len(rec) != 2 {
			report.add(line, strings.Join(rec, ","), fmt.Sprintf("has %d fields; want productKey,deviceName", len(rec)))
			continue
		}
		ref := DeviceRef{ProductKey: strings.TrimSpace(rec[0]), DeviceName: strings.TrimSpace(rec[1])}
		if err := checkProductKey("productKey", ref.ProductKey); err != nil {
			report.add(line, ref.ProductKey, "productKey "+err.(*Error).Message)
			continue
		}
		if err := checkDeviceName("deviceName", ref.DeviceName); err != nil {
			report.add(line, ref.DeviceName, "deviceName "+err.(*Error).Message)
			continue
		}
		if first, dup := seen[ref]; dup {
			report.add(line, ref.ProductKey+","+ref.DeviceName, fmt.Sprintf("is given twice in the file, also on line %d", first))
			continue
		}
		seen[ref] = line
		rows = append(rows, importRow{ref: ref, line: line})
	}
	if err := report.orNil(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		report.add(1, "", "the file has no devices; add one line productKey,deviceName per device")
		return nil, report
	}
	return rows, nil
}

// ImportResult is a done import: how many devices were registered and, as
// hints rather than problems, the lines whose names are too long for the
// Alibaba C SDK (TopicTooLongForCSDK), up to the bound of a report.
type ImportResult struct {
	Created int
	// Devices are the devices registered, in the file's order, with
	// their new secrets (Device.Secret; ID and times are not set): the
	// one time they are shown.
	Devices   []Device
	Hints     []ImportProblem
	MoreHints int // hints left out
}

// csdkHints are the hints of the imported rows.
func csdkHints(rows []importRow) ([]ImportProblem, int) {
	var hints []ImportProblem
	more := 0
	for _, row := range rows {
		pk, dn := row.ref.ProductKey, row.ref.DeviceName
		switch {
		case !TopicTooLongForCSDK(pk, dn):
		case len(hints) < maxImportProblems:
			hints = append(hints, ImportProblem{Line: row.line, Value: pk + "," + dn, Reason: CSDKTopicHint(pk, dn)})
		default:
			more++
		}
	}
	return hints, more
}

// ImportDevices registers every device of a CSV file (see parseDeviceCSV)
// in one transaction: all or nothing. Unknown products and devices already
// registered are reported by line, with every other problem of the file.
func (r *Registry) ImportDevices(ctx context.Context, csvFile io.Reader) (ImportResult, error) {
	rows, err := parseDeviceCSV(csvFile)
	if err != nil {
		return ImportResult{}, err
	}
	pks, dns := make([]string, len(rows)), make([]string, len(rows))
	for i, row := range rows {
		pks[i], dns[i] = row.ref.ProductKey, row.ref.DeviceName
	}
	devices, sealed := make([]Device, len(rows)), make([][]byte, len(rows))
	for i, row := range rows {
		secret := NewDeviceSecret()
		if sealed[i], err = r.sealSecret(row.ref.ProductKey, row.ref.DeviceName, secret); err != nil {
			return ImportResult{}, err
		}
		devices[i] = Device{ProductKey: row.ref.ProductKey, DeviceName: row.ref.DeviceName, Secret: secret}
	}
	var created int
	err = pgx.BeginFunc(ctx, r.db.Pool, func(tx pgx.Tx) error {
		report := &ImportError{}
		known := map[string]bool{}
		prows, err := tx.Query(ctx, `SELECT product_key FROM products WHERE product_key = ANY($1) FOR SHARE`, distinct(pks))
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(prows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, k := range keys {
			known[k] = true
		}
		drows, err := tx.Query(ctx, `SELECT r.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r (pk, dn, i)
			JOIN devices d ON d.product_key = r.pk AND d.device_name = r.dn ORDER BY r.i`, pks, dns)
		if err != nil {
			return err
		}
		taken, err := pgx.CollectRows(drows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		isTaken := make(map[int]bool, len(taken))
		for _, i := range taken {
			isTaken[int(i)-1] = true
		}
		for i, row := range rows {
			switch {
			case !known[row.ref.ProductKey]:
				report.add(row.line, row.ref.ProductKey, fmt.Sprintf("no product %q; create it first", row.ref.ProductKey))
			case isTaken[i]:
				report.add(row.line, row.ref.ProductKey+","+row.ref.DeviceName, "the device is already registered")
			}
		}
		if err := report.orNil(); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO devices (product_key, device_name, secret_enc) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
			ON CONFLICT (product_key, device_name) DO NOTHING`, pks, dns, sealed)
		if err != nil {
			return err
		}
		if int(tag.RowsAffected()) != len(rows) {
			return Conflict("some of the devices were registered meanwhile; nothing was imported, try again")
		}
		created = len(rows)
		return nil
	})
	var ie *ImportError
	if _, ok := AsError(err); err != nil && !ok && !errors.As(err, &ie) {
		return ImportResult{}, fmt.Errorf("models: import %d devices: %w", len(rows), err)
	}
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Created: created, Devices: devices}
	res.Hints, res.MoreHints = csdkHints(rows)
	return res, nil
}

// distinct returns the different strings of ss.
func distinct(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
