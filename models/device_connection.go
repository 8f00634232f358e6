package models

import (
	"context"
	"fmt"
	"time"
)

// DeviceConnection is a device's connection to the embedded broker, as
// the broker reported it (FLEETTASKS_BROKER=embedded; WithConnectionState).
type DeviceConnection struct {
	// Online: connected to the embedded broker now.
	Online bool `json:"online"`
	// Since is when the device connected (online) or its last connection
	// ended (offline); nil when it never connected.
	Since          *time.Time `json:"since"`
	LastConnect    *time.Time `json:"lastConnect"`
	LastDisconnect *time.Time `json:"lastDisconnect"`
	// LastDisconnectReason says in words why the last connection ended.
	LastDisconnectReason string `json:"lastDisconnectReason"`
	// ClientAddress and SDK are those of the current or last connection:
	// the device's host:port as the broker saw it, and the _v parameter
	// of its Alibaba client id ("" when it gave none).
	ClientAddress string `json:"clientAddress"`
	SDK           string `json:"sdk"`
}

// WithConnectionState makes a device's Online its connection to the
// embedded broker, and fills Device.Connection, rather than guessing
// from its last message (OfflineAfter). Set when FLEETTASKS_BROKER is
// embedded: only then does anyone record the connections.
func WithConnectionState() RegistryOption {
	return func(r *Registry) { r.connectionState = true }
}

// ConnectionState reports whether Online is the embedded broker's
// connection state (WithConnectionState) rather than the silence rule.
func (r *Registry) ConnectionState() bool { return r.connectionState }

// ConnectionChange is what happened to one connection of a device since
// the last RecordConnections: it began (ConnectedAt set), ended
// (DisconnectedAt set), or both.
type ConnectionChange struct {
	Device DeviceRef
	// ID names the connection; ids grow with each connection the broker
	// accepts.
	ID          int64
	ConnectedAt *time.Time
	Address     string // of a connect
	SDK         string // of a connect
	// DisconnectedAt and Reason: the connection ended. Without
	// ConnectedAt, it ends the device's connection only when that is
	// still connection ID: an old connection ending after a new one took
	// over leaves the device online.
	DisconnectedAt *time.Time
	Reason         string
}

// RecordConnections writes connection changes, at most one per device,
// in one statement.
func (r *Registry) RecordConnections(ctx context.Context, cs []ConnectionChange) error {
	n := len(cs)
	pks, dns, ids := make([]string, n), make([]string, n), make([]int64, n)
	conns, discs := make([]*time.Time, n), make([]*time.Time, n)
	addrs, sdks, reasons := make([]string, n), make([]string, n), make([]string, n)
	for i, c := range cs {
		pks[i], dns[i], ids[i] = c.Device.ProductKey, c.Device.DeviceName, c.ID
		conns[i], discs[i] = c.ConnectedAt, c.DisconnectedAt
		addrs[i], sdks[i], reasons[i] = c.Address, c.SDK, c.Reason
	}
	_, err := r.db.Pool.Exec(ctx, `UPDATE devices d SET
			connected = v.disc_at IS NULL,
			connection_id = v.cid,
			connected_at = coalesce(v.conn_at, d.connected_at),
			client_address = CASE WHEN v.conn_at IS NULL THEN d.client_address ELSE v.addr END,
			sdk_version = CASE WHEN v.conn_at IS NULL THEN d.sdk_version ELSE v.sdk END,
			disconnected_at = coalesce(v.disc_at, d.disconnected_at),
			disconnect_reason = CASE WHEN v.disc_at IS NULL THEN d.disconnect_reason ELSE v.reason END
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::timestamptz[], $8::text[])
			AS v(pk, dn, cid, conn_at, addr, sdk, disc_at, reason)
		WHERE d.product_key = v.pk AND d.device_name = v.dn AND (v.conn_at IS NOT NULL OR d.connection_id = v.cid)`,
		pks, dns, ids, conns, addrs, sdks, discs, reasons)
	if err != nil {
		return fmt.Errorf("models: record %d connection changes: %w", n, err)
	}
	return nil
}

// EndConnections marks every device still connected as disconnected at
// at for reason, and returns how many it marked: when the embedded broker
// starts, no device is connected to it yet, whatever a process that
// died left behind.
func (r *Registry) EndConnections(ctx context.Context, at time.Time, reason string) (int64, error) {
	tag, err := r.db.Pool.Exec(ctx, `UPDATE devices SET connected = false, disconnected_at = $1, disconnect_reason = $2
		WHERE connected`, at, reason)
	if err != nil {
		return 0, fmt.Errorf("models: end connections: %w", err)
	}
	return tag.RowsAffected(), nil
}

// connection builds a device's DeviceConnection from its columns.
func connection(connected bool, connAt, discAt *time.Time, addr, sdk, reason *string) *DeviceConnection {
	c := &DeviceConnection{Online: connected, LastConnect: utc(connAt), LastDisconnect: utc(discAt)}
	c.Since = c.LastDisconnect
	if connected {
		c.Since = c.LastConnect
	}
	for _, s := range []struct{ to, from *string }{{&c.ClientAddress, addr}, {&c.SDK, sdk}, {&c.LastDisconnectReason, reason}} {
		if s.from != nil {
			*s.to = *s.from
		}
	}
	return c
}
