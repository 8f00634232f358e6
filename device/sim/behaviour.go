package sim

import (
	"fmt"
	"hash/fnv"
)

// Behaviour is what a simulated device does with each sub-task.
type Behaviour string

const (
	// Succeed reports IN_PROGRESS (0), downloads and verifies the file if
	// there is one, reports progress 50, works, and reports SUCCEEDED (100)
	// with statusDetails {"result":"ok"}.
	Succeed Behaviour = "succeed"
	// Fail reports IN_PROGRESS, works, and reports FAILED with
	// statusDetails {"reason":"simulated failure"}.
	Fail Behaviour = "fail"
	// Reject reports REJECTED at once.
	Reject Behaviour = "reject"
	// Hang reports IN_PROGRESS and never anything else for that sub-task,
	// so the server's in-progress timeout fires; the device then goes on
	// with its next sub-task.
	Hang Behaviour = "hang"
	// Mixed picks one of the above per device, from a hash of its name:
	// 70 % succeed, 10 % fail, 10 % reject, 10 % hang.
	Mixed Behaviour = "mixed"
)

// ParseBehaviour reads a behaviour name.
func ParseBehaviour(s string) (Behaviour, error) {
	switch b := Behaviour(s); b {
	case Succeed, Fail, Reject, Hang, Mixed:
		return b, nil
	}
	return "", fmt.Errorf("behaviour %q is not one of succeed, fail, reject, hang, mixed", s)
}

// For is the behaviour of device dn: b itself, or for Mixed the one its
// name hashes to (the same on every run).
func (b Behaviour) For(dn string) Behaviour {
	if b != Mixed {
		return b
	}
	h := fnv.New32a()
	h.Write([]byte(dn))
	switch n := h.Sum32() % 100; {
	case n < 70:
		return Succeed
	case n < 80:
		return Fail
	case n < 90:
		return Reject
	}
	return Hang
}
