-- Each device's connection to the embedded broker (FLEETTASKS_BROKER=embedded,
-- models/device_connection.go): whether it is connected now, since when,
-- from where and with which SDK, and when and why its last connection
-- ended. connection_id names the current (or last) connection, so that
-- the end of an old connection, reported after a new one took over,
-- leaves the new one standing. With an external broker these stay empty.
ALTER TABLE devices
    ADD COLUMN connected boolean NOT NULL DEFAULT false,
    ADD COLUMN connection_id bigint,
    ADD COLUMN connected_at timestamptz,
    ADD COLUMN client_address text,
    ADD COLUMN sdk_version text,
    ADD COLUMN disconnected_at timestamptz,
    ADD COLUMN disconnect_reason text;
-- the device list filtered to the connected ones, in its natural order,
-- and the count of devices online now
CREATE INDEX devices_connected_idx ON devices (product_key, device_name COLLATE natural_order) WHERE connected;
