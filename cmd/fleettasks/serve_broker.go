package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
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
		if cfg.MQTTToEmbedded && cfg.MQTTTLS == nil {
			if cfg.MQTTTLS, err = ownBrokerTLS(cert); err != nil {
				return nil, fmt.Errorf("FLEETTASKS_BROKER_TLS_CERT: %w", err)
			}
		}
	}
	b, err := embedded.Start(embedded.Config{Addr: cfg.BrokerAddr, TLS: tlsConf, Secrets: reg, User: user, Password: password,
		Connections: reg, Log: log})
	if err != nil {
		return nil, err
	}
	log.Info("embedded MQTT broker listening", "addr", b.Addr(), "tls", tlsConf != nil)
	return b, nil
}

// ownBrokerTLS is the TLS configuration of the server's own clients of its
// embedded broker: they trust the broker's certificate itself (it may be
// self-signed) and check the name it was made for, whatever address the
// broker listens on.
func ownBrokerTLS(cert tls.Certificate) (*tls.Config, error) {
	pool := x509.NewCertPool()
	var leaf *x509.Certificate
	for _, der := range cert.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		if leaf == nil {
			leaf = c
		}
		pool.AddCert(c)
	}
	if leaf == nil {
		return nil, fmt.Errorf("no certificate")
	}
	name := leaf.Subject.CommonName
	switch {
	case len(leaf.DNSNames) > 0:
		name = leaf.DNSNames[0]
	case len(leaf.IPAddresses) > 0:
		name = leaf.IPAddresses[0].String()
	}
	return &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}, nil
}
