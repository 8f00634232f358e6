package views

import "fleettasks/models"

// DevicesURL is the device list with its filters.
func DevicesURL(pk, q string, page int) string { return DeviceListURL(pk, q, "", page) }

// DeviceListURL is the device list filtered by product, name prefix and
// online state ("", "true" or "false").
func DeviceListURL(pk, q, online string, page int) string {
	p := ""
	if page > 1 {
		p = itoa(page)
	}
	return withQuery("/devices", "productKey", pk, "q", q, "online", online, "page", p)
}

// DeviceImportURL is the CSV import of devices.
func DeviceImportURL() string { return "/devices/import" }

// DeviceURL is a device's page (Overview tab).
func DeviceURL(pk, dn string) string { return "/devices/" + pk + "/" + dn }

// DeviceTabURL is a tab of a device's page: "", "tasks" or "log".
func DeviceTabURL(pk, dn, tab string) string {
	if tab == "" {
		return DeviceURL(pk, dn)
	}
	return DeviceURL(pk, dn) + "/" + tab
}

// DeviceDeleteURL deletes a device (POST).
func DeviceDeleteURL(pk, dn string) string { return DeviceURL(pk, dn) + "/delete" }

// DeviceLogURL is a device's message log with its filter and keyset cursor.
func DeviceLogURL(pk, dn string, f LogFilter, before string) string {
	return withQuery(DeviceTabURL(pk, dn, "log"), "direction", f.Direction, "from", f.From, "to", f.To,
		"subtask", f.Subtask, "before", before)
}

// ProductsURL is the product list.
func ProductsURL() string { return "/products" }

// ProductURL is a product's page.
func ProductURL(pk string) string { return "/products/" + pk }

// GroupsURL is the group list.
func GroupsURL() string { return "/groups" }

// GroupURL is a group's page.
func GroupURL(id models.ID) string { return "/groups/" + id.String() }

// FilesURL is the file library, of one kind ("" for all) and page.
func FilesURL(kind string, page int) string {
	p := ""
	if page > 1 {
		p = itoa(page)
	}
	return withQuery("/files", "kind", kind, "page", p)
}

// FileURL is a file's page (a rule file's JSON is shown there).
func FileURL(id models.ID) string { return "/files/" + id.String() }

// FileDeleteURL deletes a file (POST).
func FileDeleteURL(id models.ID) string { return FileURL(id) + "/delete" }

// FileContentURL downloads a file's content.
func FileContentURL(id models.ID) string { return FileURL(id) + "/content" }

// GroupPreviewURL is the live preview of a dynamic group query.
func GroupPreviewURL() string { return "/groups/preview" }

// GroupMembersURL adds (POST) devices to a static group; action "remove" takes them out.
func GroupMembersURL(id models.ID, action string) string { return GroupURL(id) + "/devices/" + action }

// DeviceSecretURL makes a device a new secret (POST).
func DeviceSecretURL(pk, dn string) string { return DeviceURL(pk, dn) + "/secret" }
