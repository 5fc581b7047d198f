package csmsgredis_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/redis/go-redis/v9"
)

// Each instance of a backend shares one Redis: a push and its retries are
// handled once, whichever instances they reach.
func Example() {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		return // no Redis to run against
	}
	rdb := redis.NewClient(&redis.Options{
		Addr:                  addr,
		DialTimeout:           500 * time.Millisecond,
		ReadTimeout:           500 * time.Millisecond,
		WriteTimeout:          500 * time.Millisecond,
		ContextTimeoutEnabled: true,
		MaxRetries:            1, // a Redis that is down costs each push 0.2 s, not 2 s
		DialerRetries:         1,
	})
	defer rdb.Close()

	r, err := csmsg.NewReceiver(csmsg.Config{
		Token:  "AAAAA",
		Dedup:  csmsgredis.NewDedup(rdb, csmsgredis.DedupOptions{Prefix: "myapp:csmsg:"}),
		Logger: slog.Default(), // reports a Redis failure; the push is still handled
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{
		Addr: "127.0.0.1:0",
		Handler: r.Handler(func(ctx context.Context, m csmsg.Message) (*csmsg.Reply, error) {
			if _, ok := m.(*csmsg.Text); ok {
				return csmsg.Transfer(m), nil // kept, and replayed to retries
			}
			return nil, nil
		}),
		ReadHeaderTimeout: 2 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	_ = srv // srv.ListenAndServe() in a real backend
}
