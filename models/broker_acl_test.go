package models_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// A broker run with the generated ACL lets each device reach only its own
// job topics and the server all of them.
func TestBrokerACL(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	pk := testenv.Prefix(t)
	testenv.SeedDevices(t, db, pk, 2)
	var acl bytes.Buffer
	if err := db.WriteBrokerACL(context.Background(), &acl, "server"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(acl.String(), "user d1&"+pk+"\ntopic read /sys/"+pk+"/d1/thing/job/notify\n") {
		t.Fatalf("ACL:\n%s", acl.String())
	}
	dir := t.TempDir()
	aclFile, pwFile := filepath.Join(dir, "acl"), filepath.Join(dir, "passwd")
	os.WriteFile(aclFile, acl.Bytes(), 0o644)
	for i, user := range []string{"server", models.DeviceUsername(pk, "d1"), models.DeviceUsername(pk, "d2")} {
		args := []string{"-b", pwFile, user, "pw"}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
	}
	broker := testenv.NewBrokerWith(t, "allow_anonymous false\npassword_file "+pwFile+"\nacl_file "+aclFile+"\n")
	connect := func(user string) mqtt.Client {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID(user + testenv.ID()).SetUsername(user).SetPassword("pw"))
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("%s: connect: %v", user, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	server := connect("server")
	got := make(chan string, 10)
	server.Subscribe("$share/g//sys/+/+/thing/job/update", 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() }).Wait()
	d1 := connect(models.DeviceUsername(pk, "d1"))
	// reading: d1 asks for every notify but receives only its own
	notes := make(chan string, 10)
	d1.Subscribe("/sys/+/+/thing/job/notify", 1, func(_ mqtt.Client, m mqtt.Message) { notes <- m.Topic() }).Wait()
	server.Publish("/sys/"+pk+"/d2/thing/job/notify", 1, false, "{}").Wait()
	server.Publish("/sys/"+pk+"/d1/thing/job/notify", 1, false, "{}").Wait()
	select {
	case topic := <-notes:
		if topic != "/sys/"+pk+"/d1/thing/job/notify" {
			t.Fatalf("d1 read %s", topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("d1 did not get its own notify")
	}
	// writing: d1's update on d2's topic is dropped, its own arrives
	d1.Publish("/sys/"+pk+"/d2/thing/job/update", 1, false, "{}").Wait() // not its own: dropped
	d1.Publish("/sys/"+pk+"/d1/thing/job/update", 1, false, "{}").Wait()
	select {
	case topic := <-got:
		if topic != "/sys/"+pk+"/d1/thing/job/update" {
			t.Fatalf("the server got %s", topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server got nothing")
	}
	select {
	case topic := <-got:
		t.Fatalf("the server also got %s", topic)
	case <-time.After(500 * time.Millisecond):
	}
}
