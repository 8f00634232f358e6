package peer

import (
	"encoding/json"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol"
)

// handle records a device message and answers gets and updates.
func (p *Peer) handle(_ mqtt.Client, m mqtt.Message) {
	_, dn, kind, ok := protocol.ParseTopic(m.Topic())
	if !ok {
		return
	}
	msg := Message{DN: dn, Kind: kind, Payload: m.Payload()}
	if kind == protocol.KindNotifyReply {
		p.mu.Lock()
		p.received = append(p.received, msg)
		p.mu.Unlock()
		return
	}
	req, id, perr := protocol.ParseRequest(m.Payload())
	msg.ID = id
	if perr == nil && kind == protocol.KindUpdate {
		msg.Update, _ = protocol.ParseUpdate(req.Params)
	}
	p.mu.Lock()
	p.received = append(p.received, msg)
	key := dn + "/" + id
	reply, again := p.replies[key]
	if !again {
		reply = p.answer(dn, kind, id, req, perr)
		p.replies[key] = reply
	}
	lose := p.drop[dn] > 0
	if lose {
		p.drop[dn]--
	}
	p.mu.Unlock()
	if reply != nil && !lose {
		p.mc.Publish(protocol.Topic(p.PK, dn, kind+"_reply"), 1, false, reply)
	}
}

// answer computes the reply to a request; p.mu is held.
func (p *Peer) answer(dn, kind, id string, req *protocol.Request, perr *protocol.Error) []byte {
	fail := func(code int, msg string, data any) []byte {
		return protocol.Marshal(protocol.Reply{ID: id, Code: code, Data: data, Message: msg})
	}
	if perr != nil {
		if id == "" {
			return nil
		}
		return fail(perr.Code, perr.Message, protocol.Empty)
	}
	ok := func(data any) []byte {
		return protocol.Marshal(protocol.Reply{ID: id, Code: protocol.CodeOK, Data: data})
	}
	if kind == protocol.KindGet {
		g, perr := protocol.ParseGet(req.Params)
		if perr != nil {
			return fail(perr.Code, perr.Message, protocol.Empty)
		}
		switch g.TaskID {
		case protocol.List:
			items := []protocol.ListItem{}
			for _, t := range p.tasks[dn] {
				if executable(t.Status) {
					items = append(items, protocol.ListItem{TaskID: t.ID, Status: t.Status})
				}
			}
			return ok(protocol.ListData{TaskID: protocol.List, Task: items, Tasks: items})
		case protocol.Next:
			for _, t := range p.tasks[dn] {
				if executable(t.Status) {
					w := wireTask(t)
					return ok(protocol.DetailData{TaskID: protocol.Next, Task: &w, StatusDetails: protocol.UserJSON(t.Details)})
				}
			}
			return ok(protocol.DetailData{TaskID: protocol.Next})
		}
		t := p.find(dn, g.TaskID)
		if t == nil {
			return fail(protocol.CodeNotFound, "no such task", protocol.DetailData{TaskID: g.TaskID})
		}
		w := wireTask(t)
		return ok(protocol.DetailData{TaskID: g.TaskID, Task: &w, StatusDetails: protocol.UserJSON(t.Details)})
	}
	u, perr := protocol.ParseUpdate(req.Params)
	if perr != nil {
		return fail(perr.Code, perr.Message, protocol.Empty)
	}
	t := p.find(dn, u.TaskID)
	if t == nil {
		return fail(protocol.CodeNotFound, "no such task", protocol.UpdateData{TaskID: u.TaskID})
	}
	if !allowed(t.Status, u.Status) {
		return fail(protocol.CodeConflict, "execution has ceased", protocol.UpdateData{TaskID: t.ID, Status: t.Status})
	}
	t.Status = u.Status
	if u.Progress != nil {
		t.Progress = u.Progress
	}
	if u.StatusDetails != nil {
		t.Details = json.RawMessage(u.StatusDetails)
	}
	return ok(protocol.UpdateData{TaskID: t.ID, Status: t.Status})
}

func executable(status string) bool { return status == "SENT" || status == "IN_PROGRESS" }

// allowed is docs/protocol.md's device transitions.
func allowed(from, to string) bool {
	switch to {
	case "IN_PROGRESS", "SUCCEEDED", "FAILED":
		return executable(from)
	case "REJECTED":
		return from == "SENT"
	}
	return false
}
