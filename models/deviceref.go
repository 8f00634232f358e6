package models

// DeviceRef names a device by its identity: product key and device name.
type DeviceRef struct {
	ProductKey string `json:"productKey"`
	DeviceName string `json:"deviceName"`
}

// Registrable reports whether the identity follows the registry's naming
// rules; one that does not can never be a registered device, so a message
// under it needs no look-up.
func (r DeviceRef) Registrable() bool {
	return checkProductKey("", r.ProductKey) == nil && checkDeviceName("", r.DeviceName) == nil
}
