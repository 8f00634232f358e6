package workers

import (
	"testing"
	"time"

	"fleettasks/models"
	"fleettasks/protocol"
)

// BenchmarkNotifyPayload measures a SENT notify's payload as Publish
// builds it: "template" sends the document as stored (as before document
// variables), the others through wireTask, which gives each device its
// copy (models.DeviceDocument).
func BenchmarkNotifyPayload(b *testing.B) {
	const (
		plain = `{"version":"2.1.0","url":"https://fw.example.com/lamp/2.1.0/lamp.bin","reboot":true,"retries":3,"window":{"start":"02:00","end":"04:00"}}`
		vars  = `{"version":"2.1.0","url":"https://fw.example.com/${productKey}/2.1.0/${deviceName}.bin","reboot":true,"retries":3,"window":{"start":"02:00","end":"04:00"},"job":"${subtaskId}"}`
	)
	p := &Publisher{}
	dev := models.DeviceRef{ProductKey: "lamp", DeviceName: "lamp-01"}
	now := time.Now()
	notify := func(task protocol.Task) []byte {
		return protocol.Marshal(protocol.Notify{ID: "1402", Version: protocol.Version, Params: protocol.NotifyParams{Task: task}})
	}
	b.Run("template", func(b *testing.B) {
		doc := []byte(plain)
		for b.Loop() {
			notify(protocol.Task{TaskID: models.ID(4711).String(), Status: string(models.SubSent), JobDocument: protocol.UserJSON(doc)})
		}
	})
	for _, c := range []struct{ name, doc string }{{"no-variables", plain}, {"variables", vars}} {
		doc := []byte(c.doc)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				notify(p.wireTask(4711, models.SubSent, doc, nil, dev, now))
			}
		})
	}
}
