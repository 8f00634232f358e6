package handlers

import (
	"errors"
	"mime"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// importedDevice is a device of a done import with its secret.
type importedDevice struct {
	ProductKey   string `json:"productKey"`
	DeviceName   string `json:"deviceName"`
	DeviceSecret string `json:"deviceSecret"`
}

// importProblem is one line of an import's report.
type importProblem struct {
	Line   int    `json:"line"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// importRefusal is the error shape of a refused import: every problem
// found (up to 1,000; more says how many were left out).
type importRefusal struct {
	Error struct {
		apiErrorBody
		Problems []importProblem `json:"problems"`
		More     int             `json:"more,omitempty"`
	} `json:"error"`
}

// importCSV is POST /api/v1/devices/import: the body is a CSV file
// (Content-Type: text/csv) as the console imports, all or nothing; 201
// with the devices registered and their secrets, shown this once, and
// hints on names too long for the Alibaba C SDK; 422 with every problem.
func (h *apiDevices) importCSV(c *fiber.Ctx) error {
	if mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); err != nil || mt != "text/csv" {
		return &models.Error{Kind: models.KindUnsupported, Message: "send the CSV file as the request body, with Content-Type: text/csv"}
	}
	body, err := streamBody(c)
	if err != nil {
		return err
	}
	res, err := h.reg.ImportDevices(c.UserContext(), body)
	err = body.result(c, err)
	if !drained(body) {
		c.Context().SetConnectionClose() // the rest of the body is unread
	}
	var report *models.ImportError
	if errors.As(err, &report) {
		var out importRefusal
		out.Error.apiErrorBody = apiErrorBody{Code: string(models.KindUnprocessable), Message: report.Error(), RequestID: requestID(c)}
		for _, p := range report.Problems {
			out.Error.Problems = append(out.Error.Problems, importProblem(p))
		}
		out.Error.More = report.More
		return c.Status(fiber.StatusUnprocessableEntity).JSON(out)
	}
	if err != nil {
		return err
	}
	auditChanges(c, models.Changed("devices", nil, res.Created))
	out := struct {
		Created int              `json:"created"`
		Devices []importedDevice `json:"devices"`
		Hints   []importProblem  `json:"hints,omitempty"`
	}{Created: res.Created, Devices: make([]importedDevice, len(res.Devices))}
	for i, d := range res.Devices {
		out.Devices[i] = importedDevice{d.ProductKey, d.DeviceName, d.Secret}
	}
	for _, h := range res.Hints {
		out.Hints = append(out.Hints, importProblem(h))
	}
	showsSecret(c)
	return c.Status(fiber.StatusCreated).JSON(out)
}
