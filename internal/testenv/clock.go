package testenv

import (
	"sync/atomic"
	"time"
)

// Clock is the real time moved by an offset the test changes: give its
// Now to a service when building it, then Add to jump ahead (or back).
type Clock struct{ offset atomic.Int64 }

// Now is the time now, moved by the offset.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.offset.Add(int64(d)) }
