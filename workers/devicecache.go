package workers

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"fleettasks/models"
)

// deviceCache remembers device ids by identity: registered ones for
// 10 minutes, unregistered ones for 10 seconds (so that a new device is
// answered soon after it is registered).
type deviceCache struct {
	mu      sync.Mutex
	entries map[models.DeviceRef]cached
}

type cached struct {
	id      models.ID // 0: not registered
	expires time.Time
}

func newDeviceCache() *deviceCache { return &deviceCache{entries: map[models.DeviceRef]cached{}} }

func (c *deviceCache) get(ref models.DeviceRef, now time.Time) (models.ID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[ref]
	if !ok || now.After(e.expires) {
		return 0, false
	}
	return e.id, true
}

func (c *deviceCache) put(ref models.DeviceRef, id models.ID, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 1_000_000 {
		clear(c.entries)
	}
	ttl := 10 * time.Minute
	if id == 0 {
		ttl = 10 * time.Second
	}
	c.entries[ref] = cached{id: id, expires: now.Add(ttl)}
}

// deviceLimiter allows each device perSecond messages a second, with a
// burst of twice that.
type deviceLimiter struct {
	mu        sync.Mutex
	perSecond int
	limiters  map[models.ID]*rate.Limiter
}

func newDeviceLimiter(perSecond int) *deviceLimiter {
	return &deviceLimiter{perSecond: perSecond, limiters: map[models.ID]*rate.Limiter{}}
}

func (l *deviceLimiter) allow(id models.ID, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[id]
	if !ok {
		if len(l.limiters) > 1_000_000 {
			clear(l.limiters)
		}
		lim = rate.NewLimiter(rate.Limit(l.perSecond), 2*l.perSecond)
		l.limiters[id] = lim
	}
	return lim.AllowN(now, 1)
}
