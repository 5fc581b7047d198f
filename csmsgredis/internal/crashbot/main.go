// Command crashbot is the bot of csmsgredis's crash test (package
// github.com/csmsg/csmsg/inbox/crashtest) on Redis: a Receiver on an inbox
// whose queue is on Redis, whose job replies to each text through the
// customer-service API inside Once, and which writes its events on
// standard output. The test runs two of them on one queue behind a front,
// kills them with SIGKILL and starts them again.
//
//	crashbot -redis ADDR -prefix P -listen ADDR -api URL [-workers N] [-think D]
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/crashtest"
	"github.com/csmsg/csmsg/kf"
)

func main() {
	addr := flag.String("redis", "", "the Redis address")
	prefix := flag.String("prefix", "", "the queue's prefix")
	listen := flag.String("listen", "", "the address to serve pushes on")
	api := flag.String("api", "", "the customer-service API's base URL")
	workers := flag.Int("workers", 8, "jobs running at once")
	think := flag.Duration("think", 3*time.Millisecond, "the longest a job thinks before replying (a random time)")
	lease := flag.Duration("lease", 2*time.Second, "the jobs' lease")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	events := crashtest.NewEvents(os.Stdout)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: *addr, MaxRetries: 1, DialTimeout: time.Second})
	q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: *prefix})
	if err != nil {
		log.Fatal(err)
	}
	ib := inbox.New(events.Store(q), inbox.Options{Workers: *workers, Lease: *lease, Logger: logger,
		PollInterval: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	client, err := kf.NewClient(kf.Config{AppID: crashtest.AppID, AppSecret: crashtest.AppSecret, BaseURL: *api})
	if err != nil {
		log.Fatal(err)
	}
	r, err := csmsg.NewReceiver(csmsg.Config{Token: crashtest.Token, Dedup: ib, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		log.Fatal(ib.Run(ctx, events.Func(client, *think)))
	}()
	log.Fatal(http.ListenAndServe(*listen, r.Handler(ib.Accept)))
}
