package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"

	"fleettasks/config"
	"fleettasks/models"
	embedded "fleettasks/workers/broker"
)

// startEmbeddedBroker starts the embedded broker when FLEETTASKS_BROKER=embedded
// (nil otherwise), before the server's own MQTT client connects. When
// FLEETTASKS_MQTT_URL names no user, the server signs in to its broker
// with a user and password made for this process.
func startEmbeddedBroker(cfg *config.Config, reg *models.Registry, log *slog.Logger) (*embedded.Broker, error) {
	if cfg.Broker != config.BrokerEmbedded {
		return nil, nil
	}
	user, password := cfg.MQTTCredentials()
	if user == "" {
		u, err := url.Parse(cfg.MQTTURL)
		if err != nil {
			return nil, fmt.Errorf("FLEETTASKS_MQTT_URL: %w", err)
		}
		b := make([]byte, 24)
		rand.Read(b)
		user, password = "fleettasks-server", hex.EncodeToString(b)
		u.User = url.UserPassword(user, password)
		cfg.MQTTURL = u.String()
	}
	var tlsConf *tls.Config
	if cfg.BrokerTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.BrokerTLSCert, cfg.BrokerTLSKey)
		if err != nil {
			return nil, fmt.Errorf("FLEETTASKS_BROKER_TLS_CERT/FLEETTASKS_BROKER_TLS_KEY: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	b, err := embedded.Start(embedded.Config{Addr: cfg.BrokerAddr, TLS: tlsConf, Secrets: reg, User: user, Password: password,
		Connections: reg, Log: log})
	if err != nil {
		return nil, err
	}
	log.Info("embedded MQTT broker listening", "addr", b.Addr(), "tls", tlsConf != nil)
	return b, nil
}
