package device_test

import (
	"context"
	"errors"
	"log"

	"fleettasks/device"
	"fleettasks/protocol"
)

// A device that works through its sub-tasks: those pushed by notify and
// those found by $list after each (re)connect.
func Example() {
	ctx := context.Background()
	work := make(chan string, 100)
	c, err := device.Connect(ctx, device.Config{
		BrokerURL:  "tcp://127.0.0.1:1883",
		ProductKey: "pk1",
		DeviceName: "d1",
		OnNotify: func(n device.Notify) {
			if n.Task.Status == "SENT" {
				work <- n.Task.TaskID
			}
		},
		OnResume: func(items []protocol.ListItem) {
			for _, it := range items {
				work <- it.TaskID
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for id := range work {
		job, err := c.Get(ctx, id)
		if err != nil {
			log.Print(err)
			continue
		}
		if _, err := c.Update(ctx, id, "IN_PROGRESS", device.WithProgress(0)); err != nil {
			var re *device.ReplyError
			if errors.As(err, &re) && re.Code == 409 {
				continue // cancelled, timed out or done meanwhile
			}
			log.Print(err)
			continue
		}
		if job.File != nil {
			if err := c.Download(ctx, job, "/tmp/"+id+".bin"); err != nil {
				c.Update(ctx, id, "FAILED", device.WithDetails(map[string]string{"reason": err.Error()}))
				continue
			}
		}
		c.Update(ctx, id, "IN_PROGRESS", device.WithProgress(50))
		// ... apply job.Document and the file ...
		c.Update(ctx, id, "SUCCEEDED", device.WithProgress(100), device.WithDetails(map[string]string{"result": "ok"}))
	}
}
