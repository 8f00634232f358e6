-- Each device's secret, with which it signs in to the broker
-- (docs/protocol.md, Device identity): AES-256-GCM under a key derived
-- from FLEETTASKS_SECRET (models/device_secret.go), never in clear text.
-- The devices registered before this migration have none: their secrets
-- were never shown to anyone, so one made here could not be handed out.
-- They cannot sign in until an operator rotates their secret.
ALTER TABLE devices ADD COLUMN secret_enc bytea;
