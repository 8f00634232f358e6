package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"fleettasks/models"
)

// secretsHeader is the header of a device secrets file, as the console's
// download after a CSV import writes it.
var secretsHeader = []string{"productKey", "deviceName", "deviceSecret"}

// readSecrets reads the secrets of product pk's devices from the CSV file
// path, by device name. No path reads nothing; a missing file is fine
// when the run registers devices (it will be written).
func readSecrets(path, pk string, register bool) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && register {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--secrets: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 3
	for n := 0; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("--secrets %s: %w", path, err)
		}
		if n == 0 && strings.EqualFold(strings.TrimPrefix(rec[0], "\ufeff"), secretsHeader[0]) {
			continue
		}
		if rec[0] == pk && rec[2] != "" {
			out[rec[1]] = rec[2]
		}
	}
}

// keepSecrets adds the secrets of the devices just created to the file
// path (created with its header, readable by its owner only), or warns
// that they are lost when there is no file.
func keepSecrets(path string, created []models.Device, log *slog.Logger) error {
	if len(created) == 0 {
		return nil
	}
	if path == "" {
		log.Warn("simulate: the new devices' secrets are used by this run only; pass --secrets FILE to keep them", "devices", len(created))
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("--secrets: %w", err)
	}
	w := csv.NewWriter(f)
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		w.Write(secretsHeader)
	}
	for _, d := range created {
		w.Write([]string{d.ProductKey, d.DeviceName, d.Secret})
	}
	w.Flush()
	if err := firstErr(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("--secrets %s: %w", path, err)
	}
	log.Info("simulate: the new devices' secrets were added to "+path, "devices", len(created))
	return nil
}

// firstErr is the first error of errs.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
