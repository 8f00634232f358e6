package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

func TestConfigurationErrorExits2WithOneLine(t *testing.T) {
	var out bytes.Buffer
	getenv := testenv.Env(t, "", "FLEETTASKS_HTTP_ADDR=nonsense")
	if code := run([]string{"serve"}, getenv, &out); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	line := strings.TrimSpace(out.String())
	if strings.Count(line, "\n") != 0 || !strings.Contains(line, "FLEETTASKS_HTTP_ADDR") {
		t.Fatalf("output %q: want one line naming the variable", out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"frobnicate"}, testenv.Env(t, ""), &out); code != 2 || !strings.Contains(out.String(), "unknown command") {
		t.Fatalf("code %d, output %q", code, out.String())
	}
}

func TestMigrateCommand(t *testing.T) {
	url := testenv.DatabaseURL(t)
	var out bytes.Buffer
	if code := run([]string{"migrate"}, testenv.Env(t, url), &out); code != 0 {
		t.Fatalf("migrate exit %d: %s", code, out.String())
	}
	db, err := models.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, _ := models.Migrations()
	if v, err := db.SchemaVersion(context.Background()); err != nil || v != all[len(all)-1].Version {
		t.Fatalf("schema version %d, %v; output %s", v, err, out.String())
	}
}
