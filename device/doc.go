// Package device is the Go device client of fleettasks' custom tasks: the
// device side of docs/protocol.md over MQTT, built on package protocol.
//
// A device connects, receives sub-tasks by notify, reports progress and
// a final status with Update, and downloads the task's file with
// Download, which resumes a broken transfer and verifies the digest:
//
//	work := make(chan string, 100) // sub-task ids to execute, in order
//	c, err := device.Connect(ctx, device.Config{
//		BrokerURL:  "tcp://127.0.0.1:1883",
//		ProductKey: "pk1",
//		DeviceName: "d1",
//		OnNotify: func(n device.Notify) {
//			if n.Task.Status == "SENT" {
//				work <- n.Task.TaskID // CANCELLED / REMOVED: stop that work
//			}
//		},
//		OnResume: func(items []protocol.ListItem) {
//			for _, it := range items { // pushed while we were offline
//				work <- it.TaskID
//			}
//		},
//	})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	for id := range work {
//		job, err := c.Get(ctx, id) // document, file with a fresh URL
//		if err != nil {
//			return err
//		}
//		if _, err := c.Update(ctx, id, "IN_PROGRESS", device.WithProgress(0)); err != nil {
//			continue // a *device.ReplyError with Code 409: cancelled meanwhile
//		}
//		if job.File != nil {
//			if err := c.Download(ctx, job, "/tmp/firmware.bin"); err != nil {
//				c.Update(ctx, id, "FAILED", device.WithDetails(map[string]string{"reason": err.Error()}))
//				continue
//			}
//		}
//		c.Update(ctx, id, "IN_PROGRESS", device.WithProgress(50))
//		// ... apply job.Document and the file ...
//		c.Update(ctx, id, "SUCCEEDED", device.WithProgress(100),
//			device.WithDetails(map[string]string{"result": "ok"}))
//	}
//
// # What the client does for you
//
//   - It subscribes to the device's notify, get_reply and update_reply
//     topics, and subscribes again after every reconnect.
//   - It answers every notify with notify_reply {"id":...,"code":200,"data":{}}
//     before calling OnNotify.
//   - Requests carry ids from a per-client counter (random start, wrapping in
//     0..4294967295); a request without a reply within RequestTimeout is sent
//     again with the same id and the same bytes (the server answers such a
//     retransmission of an update with its first reply and does not apply it
//     twice), Retries times.
//   - After every (re)connect it asks $list and calls OnResume.
//   - Everything it sends is compact JSON with the protocol's keys first.
//
// A refused request returns a *ReplyError with the reply's Code and
// Message; for 409 its Status is the sub-task's current status
// (CANCELLED, TIMED_OUT, ...), meaning "stop working on it".
//
// # Many devices on few connections
//
// Fleet runs thousands of devices of one product on a few shared MQTT
// connections, routing by the device name in the topic; Fleet.Add returns
// the same *Client. The simulator (package device/sim and
// "fleettasks simulate") is built on it.
//
// # Alibaba Link SDK (C) users
//
// The Link SDK's task component does not subscribe to the
// /sys/{pk}/{dn}/thing/job/... topics by itself: the original platform
// subscribes devices implicitly, a standard broker does not. On fleettasks,
// subscribe explicitly to
//
//	/sys/{pk}/{dn}/thing/job/notify
//	/sys/{pk}/{dn}/thing/job/get_reply
//	/sys/{pk}/{dn}/thing/job/update_reply
//
// after every connect (aiot_mqtt_sub), or the device never sees a notify
// or a reply. The SDK's other habits (QoS 0 requests, version "1.0.0", its
// own notify_reply, reading "tasks" in a $list reply) are all accepted by
// the server.
package device
