package sim

import (
	"fmt"
	"sync/atomic"
)

// Stats counts what the simulated devices did, summed over devices.
type Stats struct {
	Received  int64 // sub-tasks taken up (by notify SENT or found by $list)
	Succeeded int64 // SUCCEEDED reported
	Failed    int64 // FAILED reported
	Rejected  int64 // REJECTED reported
	Hanging   int64 // left IN_PROGRESS on purpose
	Cancelled int64 // stopped by a CANCELLED or REMOVED notify
	Conflicts int64 // updates answered 409 (cancelled, timed out meanwhile)
	Errors    int64 // requests without a reply, other refusals, failed downloads
}

func (s Stats) String() string {
	return fmt.Sprintf("received=%d succeeded=%d failed=%d rejected=%d hanging=%d cancelled=%d conflicts=%d errors=%d",
		s.Received, s.Succeeded, s.Failed, s.Rejected, s.Hanging, s.Cancelled, s.Conflicts, s.Errors)
}

// counters are Stats being counted.
type counters struct {
	received, succeeded, failed, rejected, hanging, cancelled, conflicts, errors atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Received: c.received.Load(), Succeeded: c.succeeded.Load(), Failed: c.failed.Load(),
		Rejected: c.rejected.Load(), Hanging: c.hanging.Load(), Cancelled: c.cancelled.Load(),
		Conflicts: c.conflicts.Load(), Errors: c.errors.Load(),
	}
}
