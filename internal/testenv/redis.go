package testenv

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisDB reserves a Redis database (1..15) for t, empty, and returns its
// URL. asynq queues live in the database, so tests that run workers each
// need their own; the reservation is a key in database 0 that expires.
func RedisDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	base, err := url.Parse(RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	opt.DB = 0
	admin := redis.NewClient(opt)
	defer admin.Close()
	token := ID()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		for n := 1; n <= 15; n++ {
			key := fmt.Sprintf("fleettasks:test-redis-db:%d", n)
			ok, err := admin.SetNX(ctx, key, token, 15*time.Minute).Result()
			if err != nil {
				t.Fatalf("testenv: Redis at %s: %v", RedisURL(), err)
			}
			if !ok {
				continue
			}
			o := *opt
			o.DB = n
			c := redis.NewClient(&o)
			c.FlushDB(ctx)
			c.Close()
			t.Cleanup(func() {
				c := redis.NewClient(&o)
				c.FlushDB(context.Background())
				c.Close()
				a := redis.NewClient(opt)
				if v, _ := a.Get(context.Background(), key).Result(); v == token {
					a.Del(context.Background(), key)
				}
				a.Close()
			})
			u := *base
			u.Path = fmt.Sprintf("/%d", n)
			return u.String()
		}
		if time.Now().After(deadline) {
			t.Fatal("testenv: no free Redis database in 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// RedisOptions are the client options of RedisURL, for tests that only
// keep randomly named keys (and so can share database 0).
func RedisOptions(t testing.TB) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	return opt
}
