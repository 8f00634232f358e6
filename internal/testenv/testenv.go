// Package testenv gives each test its own database, Redis database and
// product-key prefix on the real local services, so test packages run in
// parallel without disturbing one another.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"fleettasks/models"
)

// AdminURL is the maintenance database used to create and drop test databases.
func AdminURL() string {
	if u := os.Getenv("FLEETTASKS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// ID returns a short random lowercase identifier.
func ID() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Prefix returns a product-key prefix unique to this test, e.g. "t3f9a0c1e2".
func Prefix(t testing.TB) string { return "t" + ID() }

// DatabaseURL creates an empty database for t, dropped when t ends, and
// returns its URL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := "ft_test_" + ID()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("testenv: connect to PostgreSQL (%s): %v", AdminURL(), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
		}
	})
	u, _ := url.Parse(AdminURL())
	u.Path = "/" + name
	return u.String()
}

// DB opens a new, migrated database for t.
func DB(t testing.TB) *models.DB {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// RedisURL is the Redis server the tests use (database 0 unless told).
func RedisURL() string {
	if u := os.Getenv("FLEETTASKS_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// MQTTURL is the broker the tests use (device/internal/peer.BrokerURL reads
// the same variable for the device client's tests).
func MQTTURL() string {
	if u := os.Getenv("FLEETTASKS_TEST_MQTT_URL"); u != "" {
		return u
	}
	return "tcp://127.0.0.1:1883"
}

// Env returns a getenv for config.Load that points a process at this test's
// own database and data directory, with overrides.
func Env(t testing.TB, dbURL string, overrides ...string) func(string) string {
	m := map[string]string{
		"FLEETTASKS_DATABASE_URL":     dbURL,
		"FLEETTASKS_REDIS_URL":        RedisURL(),
		"FLEETTASKS_MQTT_URL":         MQTTURL(),
		"FLEETTASKS_DATA_DIR":         t.TempDir(),
		"FLEETTASKS_MQTT_SHARE_GROUP": "t" + ID(),
	}
	for _, kv := range overrides {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			panic(fmt.Sprintf("testenv: override %q is not K=V", kv))
		}
		m[k] = v
	}
	return func(k string) string { return m[k] }
}
