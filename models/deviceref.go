package models

// DeviceRef names a device by its identity: product key and device name.
type DeviceRef struct {
	ProductKey string `json:"productKey"`
	DeviceName string `json:"deviceName"`
}
