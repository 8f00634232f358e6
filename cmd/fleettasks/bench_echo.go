package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/protocol"
)

// echoResponder is the physical limit of (c): it answers every device
// update with the reply the server would send (200, the status asked
// for) and does no database work. Like the server's bridge it shares the
// update topics over conns QoS 1 connections and acknowledges a request
// only once the broker has taken its reply.
type echoResponder struct{ clients []mqtt.Client }

func startEcho(url string, conns int) (*echoResponder, error) {
	e := &echoResponder{}
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	for k := 0; k < conns; k++ {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("bench-echo-%s-%d", id, k)).
			SetCleanSession(true).SetAutoAckDisabled(true).SetOrderMatters(false))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			e.close()
			return nil, fmt.Errorf("echo responder: connect: %v", tok.Error())
		}
		e.clients = append(e.clients, c)
		tok := c.Subscribe(protocol.SharedFilter("echo"+id, protocol.KindUpdate), 1, func(c mqtt.Client, m mqtt.Message) {
			e.answer(c, m)
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			e.close()
			return nil, fmt.Errorf("echo responder: subscribe: %v", tok.Error())
		}
	}
	return e, nil
}

// answer parses the update as the server does (envelope and params) and
// replies on the device's update_reply topic.
func (e *echoResponder) answer(c mqtt.Client, m mqtt.Message) {
	pk, dn, _, ok := protocol.ParseTopic(m.Topic())
	req, _, perr := protocol.ParseRequest(m.Payload())
	if !ok || perr != nil {
		m.Ack()
		return
	}
	up, perr := protocol.ParseUpdate(req.Params)
	if perr != nil {
		m.Ack()
		return
	}
	reply := protocol.Marshal(protocol.Reply{ID: req.ID, Code: protocol.CodeOK, Data: protocol.UpdateData{TaskID: up.TaskID, Status: up.Status}})
	c.Publish(protocol.Topic(pk, dn, protocol.KindUpdateReply), m.Qos(), false, reply).WaitTimeout(10 * time.Second)
	m.Ack()
}

func (e *echoResponder) close() {
	for _, c := range e.clients {
		c.Disconnect(100)
	}
}

// echoUpdates is (c)'s updateAll against the echo responder: a fleet of n
// devices built as (b)'s, on a broker of its own (the server is not
// subscribed there), each device reporting IN_PROGRESS with 1,000 requests
// in flight. It returns the replies received a second, one per run.
func (b *benchRun) echoUpdates(ctx context.Context, url string, n, runs int) ([]float64, error) {
	e, err := startEcho(url, b.cfg.MQTTIngestConns)
	if err != nil {
		return nil, err
	}
	defer e.close()
	fleet, err := b.newFleet(ctx, url, "bench-echo", n)
	if err != nil {
		return nil, err
	}
	defer fleet.fleet.Close()
	for i := range fleet.taskIDs {
		fleet.taskIDs[i] = strconv.Itoa(i + 1)
	}
	var rates []float64
	for r := 0; r < runs; r++ {
		rate, err := updateAll(ctx, fleet, 1000, r+1)
		if err != nil {
			return nil, fmt.Errorf("echo: %w", err)
		}
		rates = append(rates, rate)
	}
	return rates, nil
}
