package models

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"fleettasks/protocol"
)

// DeviceUsername is a device's broker user name: deviceName&productKey
// (the Alibaba convention; '&' appears in neither).
func DeviceUsername(pk, dn string) string { return dn + "&" + pk }

// WriteBrokerACL writes a Mosquitto ACL file in which the server's user
// may read and write every job topic and each registered device only its
// own, by the rule of DeviceMay: it reads notify, get_reply and
// update_reply and writes get, update and notify_reply. Devices are
// streamed, not held in memory.
func (db *DB) WriteBrokerACL(ctx context.Context, w io.Writer, serverUser string) error {
	if _, err := fmt.Fprintf(w, "# fleettasks: broker ACL (fleettasks broker acl)\n\nuser %s\ntopic readwrite /sys/+/+/thing/job/#\n", serverUser); err != nil {
		return err
	}
	rows, err := db.Pool.Query(ctx, `SELECT product_key, device_name FROM devices ORDER BY product_key, device_name`)
	if err != nil {
		return fmt.Errorf("models: broker ACL: %w", err)
	}
	var pk, dn string
	var b strings.Builder
	_, err = pgx.ForEachRow(rows, []any{&pk, &dn}, func() error {
		b.Reset()
		b.WriteString("\nuser " + DeviceUsername(pk, dn) + "\n")
		for _, k := range deviceReads {
			b.WriteString("topic read " + protocol.Topic(pk, dn, k) + "\n")
		}
		for _, k := range deviceWrites {
			b.WriteString("topic write " + protocol.Topic(pk, dn, k) + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("models: broker ACL: %w", err)
	}
	return nil
}
