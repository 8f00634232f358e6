package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Device is one registered device, named by product key and device name.
type Device struct {
	ID         ID         `gorm:"column:id;primaryKey" json:"id"`
	ProductKey string     `gorm:"column:product_key" json:"productKey"`
	DeviceName string     `gorm:"column:device_name" json:"deviceName"`
	CreatedAt  time.Time  `gorm:"column:created_at" json:"createdAt"`
	LastSeen   *time.Time `gorm:"column:last_seen" json:"lastSeen"`
	// Online is the device's connection to the embedded broker with
	// WithConnectionState, else a message within OfflineAfter.
	Online bool `gorm:"-" json:"online"`
	// Connection is the device's connection to the embedded broker, set
	// with WithConnectionState only.
	Connection *DeviceConnection `gorm:"-" json:"connection,omitempty"`
	// MessageLog is today's figures of the device's message log, set by
	// GetDevice only.
	MessageLog *LogUsage `gorm:"-" json:"messageLog,omitempty"`
	// Secret is the device secret, set only on the devices CreateDevices
	// and ImportDevices return: the one time it is shown.
	Secret string `gorm:"-" json:"deviceSecret,omitempty"`
}

func (Device) TableName() string { return "devices" }

// DeviceFilter narrows a device list; zero fields do not filter.
type DeviceFilter struct {
	ProductKey string // exact product key
	Q          string // prefix of the device name
	GroupID    ID     // members of a static group, matches of a dynamic one
	Online     *bool  // online (true) or offline (false) now, by the registry's rule
}

const deviceColumns = `d.id, d.product_key, d.device_name, d.created_at, d.last_seen,
	d.connected, d.connected_at, d.disconnected_at, d.client_address, d.sdk_version, d.disconnect_reason`

// scanDevices reads rows of deviceColumns and works out who is online.
func (r *Registry) scanDevices(rows pgx.Rows) ([]Device, error) {
	now := r.now()
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Device, error) {
		var d Device
		var connected bool
		var connAt, discAt *time.Time
		var addr, sdk, reason *string
		err := row.Scan(&d.ID, &d.ProductKey, &d.DeviceName, &d.CreatedAt, &d.LastSeen,
			&connected, &connAt, &discAt, &addr, &sdk, &reason)
		d.CreatedAt, d.LastSeen = d.CreatedAt.UTC(), utc(d.LastSeen)
		if r.connectionState {
			d.Connection = connection(connected, connAt, discAt, addr, sdk, reason)
			d.Online = connected
		} else {
			d.Online = d.LastSeen != nil && now.Sub(*d.LastSeen) <= r.offlineAfter
		}
		return d, err
	})
}

// onlineCondition is the SQL condition on devices d of being online (or,
// online false, offline) now by the registry's rule; arg adds a parameter.
func (r *Registry) onlineCondition(online bool, arg func(any) string) string {
	switch {
	case r.connectionState && online:
		return "d.connected"
	case r.connectionState:
		return "NOT d.connected"
	case online:
		return "d.last_seen >= " + arg(r.now().Add(-r.offlineAfter))
	default:
		return "(d.last_seen IS NULL OR d.last_seen < " + arg(r.now().Add(-r.offlineAfter)) + ")"
	}
}

// GetDevice returns the device pk/dn with its online state and today's
// message log figures.
func (r *Registry) GetDevice(ctx context.Context, pk, dn string) (*Device, error) {
	d, err := r.device(ctx, pk, dn)
	if err != nil {
		return nil, err
	}
	if d.MessageLog, err = r.DeviceLogUsage(ctx, d.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// device returns the device pk/dn with its online state.
func (r *Registry) device(ctx context.Context, pk, dn string) (*Device, error) {
	if !(DeviceRef{ProductKey: pk, DeviceName: dn}).Registrable() {
		return nil, NotFound("no device %s/%s", pk, dn)
	}
	rows, err := r.db.Pool.Query(ctx, `SELECT `+deviceColumns+` FROM devices d
		WHERE d.product_key = $1 AND d.device_name = $2`, pk, dn)
	if err != nil {
		return nil, fmt.Errorf("models: get device %s/%s: %w", pk, dn, err)
	}
	ds, err := r.scanDevices(rows)
	if err != nil {
		return nil, fmt.Errorf("models: get device %s/%s: %w", pk, dn, err)
	}
	if len(ds) == 0 {
		return nil, NotFound("no device %s/%s", pk, dn)
	}
	return &ds[0], nil
}

// ListDevices returns one page of devices by product key and name, and how
// many match the filter.
func (r *Registry) ListDevices(ctx context.Context, f DeviceFilter, pg Page) ([]Device, int64, error) {
	pg = pageOf(pg)
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.ProductKey != "" {
		if err := checkProductKey("productKey", f.ProductKey); err != nil {
			return nil, 0, err
		}
		where = append(where, "d.product_key = "+arg(f.ProductKey))
	}
	if f.Q != "" {
		if err := checkText("q", f.Q, 0, 64); err != nil {
			return nil, 0, err
		}
		where = append(where, "d.device_name LIKE "+arg(likePrefix(f.Q)))
	}
	if f.GroupID != 0 {
		cond, condArgs, err := r.membersCondition(ctx, f.GroupID, len(args))
		if err != nil {
			return nil, 0, err
		}
		where, args = append(where, cond), append(args, condArgs...)
	}
	if f.Online != nil {
		where = append(where, r.onlineCondition(*f.Online, arg))
	}
	sql := " FROM devices d"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	var total int64
	if err := r.db.Pool.QueryRow(ctx, "SELECT count(*)"+sql, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("models: count devices: %w", err)
	}
	sql += " ORDER BY d.product_key, d.device_name COLLATE natural_order LIMIT " + arg(pg.Size) + " OFFSET " + arg(pg.Offset())
	rows, err := r.db.Pool.Query(ctx, "SELECT "+deviceColumns+sql, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("models: list devices: %w", err)
	}
	items, err := r.scanDevices(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("models: list devices: %w", err)
	}
	return items, total, nil
}

// likePrefix is a LIKE pattern matching every string that starts with s.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// CreateDevices registers devices of product pk: 1..10,000 names, all or
// nothing, each with a new secret (Device.Secret, shown this once). A name already registered, or given twice, is a conflict naming
// its entry.
func (r *Registry) CreateDevices(ctx context.Context, pk string, names []string) ([]Device, error) {
	if err := checkNewDevices(names); err != nil {
		return nil, err
	}
	if checkProductKey("", pk) != nil { // no such product can exist, and PostgreSQL may refuse the bytes
		return nil, NotFound("no product %q", pk)
	}
	secrets, sealed, err := r.newSecrets(pk, names)
	if err != nil {
		return nil, err
	}
	var out []Device
	err = pgx.BeginFunc(ctx, r.db.Pool, func(tx pgx.Tx) error {
		var ok bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products WHERE product_key = $1)`, pk).Scan(&ok)
		if err != nil {
			return err
		}
		if !ok {
			return NotFound("no product %q", pk)
		}
		rows, err := tx.Query(ctx, `INSERT INTO devices AS d (product_key, device_name, secret_enc)
			SELECT $1, n, s FROM unnest($2::text[], $3::bytea[]) AS v(n, s)
			ON CONFLICT (product_key, device_name) DO NOTHING
			RETURNING `+deviceColumns, pk, names, sealed)
		if err != nil {
			return err
		}
		created, err := r.scanDevices(rows)
		if err != nil {
			return err
		}
		byName := make(map[string]Device, len(created))
		for _, d := range created {
			byName[d.DeviceName] = d
		}
		out = make([]Device, len(names))
		for i, n := range names {
			d, ok := byName[n]
			if !ok {
				return conflictOn(fmt.Sprintf("devices[%d].deviceName", i), "device %s/%s is already registered", pk, n)
			}
			d.Secret = secrets[i]
			out[i] = d
		}
		return nil
	})
	if _, ok := AsError(err); err != nil && !ok {
		return nil, fmt.Errorf("models: create %d devices of %q: %w", len(names), pk, err)
	}
	return out, err
}

// checkNewDevices validates a bulk registration and names the first bad entry.
func checkNewDevices(names []string) error {
	if len(names) == 0 {
		return Invalid("devices", "is empty; send at least one device")
	}
	if len(names) > MaxDevicesPerCall {
		return Invalid("devices", "has %d entries; the limit is 10,000 per call", len(names))
	}
	seen := make(map[string]int, len(names))
	for i, n := range names {
		field := fmt.Sprintf("devices[%d].deviceName", i)
		if err := checkDeviceName(field, n); err != nil {
			return err
		}
		if j, dup := seen[n]; dup {
			return conflictOn(field, "%q is given twice, also as devices[%d]", n, j)
		}
		seen[n] = i
	}
	return nil
}
