-- Devices are listed in natural order: d1, d2, … d10, not d1, d10, d11 … d2.
-- An ICU collation with numeric ordering ("kn") compares runs of digits
-- by their value; the index serves the device list's ORDER BY.
CREATE COLLATION IF NOT EXISTS natural_order (provider = icu, locale = 'und-u-kn-true');
CREATE INDEX devices_natural_idx ON devices (product_key, device_name COLLATE natural_order);
