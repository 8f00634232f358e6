package models

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
)

// DeviceUsername is a device's broker user name: deviceName&productKey
// (the Alibaba convention; '&' appears in neither).
func DeviceUsername(pk, dn string) string { return dn + "&" + pk }

// WriteBrokerACL writes a Mosquitto ACL file in which the server's user
// may read and write every job topic and each registered device only its
// own: it reads notify, get_reply and update_reply and writes get, update
// and notify_reply. Devices are streamed, not held in memory.
func (db *DB) WriteBrokerACL(ctx context.Context, w io.Writer, serverUser string) error {
	if _, err := fmt.Fprintf(w, "# fleettasks: broker ACL (fleettasks broker acl)\n\nuser %s\ntopic readwrite /sys/+/+/thing/job/#\n", serverUser); err != nil {
		return err
	}
	rows, err := db.Pool.Query(ctx, `SELECT product_key, device_name FROM devices ORDER BY product_key, device_name`)
	if err != nil {
		return fmt.Errorf("models: broker ACL: %w", err)
	}
	var pk, dn string
	_, err = pgx.ForEachRow(rows, []any{&pk, &dn}, func() error {
		base := "/sys/" + pk + "/" + dn + "/thing/job/"
		_, err := fmt.Fprintf(w, "\nuser %s\ntopic read %snotify\ntopic read %sget_reply\ntopic read %supdate_reply\n"+
			"topic write %sget\ntopic write %supdate\ntopic write %snotify_reply\n",
			DeviceUsername(pk, dn), base, base, base, base, base, base)
		return err
	})
	if err != nil {
		return fmt.Errorf("models: broker ACL: %w", err)
	}
	return nil
}
