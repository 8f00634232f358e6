package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fleettasks/config"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != config.DefaultDatabaseURL || c.RedisURL != config.DefaultRedisURL || c.MQTTURL != config.DefaultMQTTURL ||
		c.HTTPAddr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" || c.DataDir != "./data" || !c.AutoMigrate ||
		c.MQTTShareGroup != "fleettasks" || c.LogRetentionDay != 30 || c.OfflineAfter != 5*time.Minute || c.Secret != nil ||
		c.SessionIdle != 30*time.Minute || c.SessionMax != 12*time.Hour || c.TrustedProxies != nil ||
		c.LogDeviceDailyBytes != 10<<20 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct{ kv, want string }{
		{"FLEETTASKS_DATABASE_URL=mysql://x/y", "scheme"},
		{"FLEETTASKS_DATABASE_URL=postgres://", "no host"},
		{"FLEETTASKS_REDIS_URL=http://127.0.0.1:6379", "scheme"},
		{"FLEETTASKS_MQTT_URL=127.0.0.1:1883", "not a URL"}, {"FLEETTASKS_MQTT_URL=http://h:1", "scheme"},
		{"FLEETTASKS_HTTP_ADDR=8080", "host:port"},
		{"FLEETTASKS_HTTP_ADDR=127.0.0.1:http", "port"},
		{"FLEETTASKS_PUBLIC_URL=ftp://h", "scheme"},
		{"FLEETTASKS_SECRET=short", "16 characters"},
		{"FLEETTASKS_AUTO_MIGRATE=maybe", "true or false"},
		{"FLEETTASKS_MQTT_SHARE_GROUP=a/b", "must not contain"},
		{"FLEETTASKS_LOG_RETENTION_DAYS=0", "1..3650"},
		{"FLEETTASKS_OFFLINE_AFTER_SECONDS=x", "whole number"},
		{"FLEETTASKS_SESSION_IDLE_MINUTES=0", "1..10080"},
		{"FLEETTASKS_SESSION_MAX_HOURS=1000", "1..720"},
		{"FLEETTASKS_TRUSTED_PROXIES=10.0.0.1,proxy.local", "not an IP address or CIDR"},
		{"FLEETTASKS_LOG_DEVICE_DAILY_MB=0", "0.01..100000"},
		{"FLEETTASKS_LOG_DEVICE_DAILY_MB=100001", "0.01..100000"},
		{"FLEETTASKS_LOG_DEVICE_DAILY_MB=NaN", "megabytes"},
		{"FLEETTASKS_LOG_DEVICE_DAILY_MB=10MB", "megabytes"},
		{"FLEETTASKS_BROKER=mosquitto", "neither external nor embedded"},
		{"FLEETTASKS_BROKER_ADDR=1883", "host:port"},
		{"FLEETTASKS_BROKER_ADDR=127.0.0.1:99999", "no valid port"},
		{"FLEETTASKS_BROKER_TLS_CERT=/etc/cert.pem", "FLEETTASKS_BROKER_TLS_KEY"},
		{"FLEETTASKS_BROKER_TLS_KEY=/etc/key.pem", "FLEETTASKS_BROKER_TLS_CERT"},
		{"FLEETTASKS_MQTT_CA=/nonexistent/ca.pem", "no such file"},
		{"FLEETTASKS_MQTT_CA=/etc/hostname", "no PEM certificate"},
	}
	for _, tc := range cases {
		name, _, _ := strings.Cut(tc.kv, "=")
		_, err := config.Load(env(tc.kv))
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Var != name || !strings.Contains(ce.Reason, tc.want) {
			t.Errorf("%s: err = %v, want one naming %s and saying %q", tc.kv, err, name, tc.want)
		}
	}
}

func TestSecretGeneratedOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c1, _ := config.Load(env("FLEETTASKS_DATA_DIR=" + dir))
	if err := c1.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	c2, _ := config.Load(env("FLEETTASKS_DATA_DIR=" + dir))
	if err := c2.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	if len(c1.Secret) < 32 || string(c1.Secret) != string(c2.Secret) {
		t.Fatalf("secrets differ or are short: %q %q", c1.Secret, c2.Secret)
	}
	if fi, err := os.Stat(filepath.Join(dir, "secret")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	c3, _ := config.Load(env("FLEETTASKS_DATA_DIR="+dir, "FLEETTASKS_SECRET=explicit-secret-value"))
	c3.EnsureSecret()
	if string(c3.Secret) != "explicit-secret-value" {
		t.Fatalf("explicit secret ignored: %q", c3.Secret)
	}
}

// The daily message log budget takes fractions of a megabyte (2^20 bytes).
func TestLogDeviceDailyMegabytes(t *testing.T) {
	for s, want := range map[string]int64{"0.05": 52429, "1": 1 << 20, "2.5": 5 << 19, "100000": 100000 << 20} {
		c, err := config.Load(env("FLEETTASKS_LOG_DEVICE_DAILY_MB=" + s))
		if err != nil {
			t.Errorf("%s MB: %v", s, err)
		} else if c.LogDeviceDailyBytes != want {
			t.Errorf("%s MB: %d bytes, want %d", s, c.LogDeviceDailyBytes, want)
		}
	}
}

func TestEmbeddedBroker(t *testing.T) {
	c, err := config.Load(env())
	if err != nil || c.Broker != config.BrokerExternal || c.BrokerAddr != config.DefaultBrokerAddr {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = config.Load(env("FLEETTASKS_BROKER=embedded", "FLEETTASKS_BROKER_ADDR=0.0.0.0:18830"))
	if err != nil || c.Broker != config.BrokerEmbedded || c.MQTTURL != "tcp://0.0.0.0:18830" {
		t.Fatalf("embedded without FLEETTASKS_MQTT_URL: %+v %v", c, err)
	}
	c, err = config.Load(env("FLEETTASKS_BROKER=embedded", "FLEETTASKS_MQTT_URL=tcp://u:p@127.0.0.1:1883"))
	if err != nil || c.MQTTURL != "tcp://u:p@127.0.0.1:1883" {
		t.Fatalf("embedded with FLEETTASKS_MQTT_URL: %+v %v", c, err)
	}
	c, err = config.Load(env("FLEETTASKS_BROKER=embedded", "FLEETTASKS_BROKER_TLS_CERT=c.pem", "FLEETTASKS_BROKER_TLS_KEY=k.pem"))
	if err != nil || c.MQTTURL != "ssl://127.0.0.1:1883" || !c.MQTTToEmbedded {
		t.Fatalf("embedded with TLS: %+v %v", c, err)
	}
}
