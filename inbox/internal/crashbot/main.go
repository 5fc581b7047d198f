// Command crashbot is the bot of the inbox's crash test (package
// crashtest) on the file store: a Receiver on an inbox file, whose job
// replies to each text through the customer-service API inside Once, and
// which writes its events on standard output. The test kills it with
// SIGKILL and starts it again.
//
//	crashbot -store FILE -listen ADDR -api URL [-workers N] [-think D]
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/boltstore"
	"github.com/csmsg/csmsg/inbox/crashtest"
	"github.com/csmsg/csmsg/kf"
)

func main() {
	store := flag.String("store", "", "the inbox file")
	listen := flag.String("listen", "", "the address to serve pushes on")
	api := flag.String("api", "", "the customer-service API's base URL")
	workers := flag.Int("workers", 8, "jobs running at once")
	think := flag.Duration("think", 3*time.Millisecond, "the longest a job thinks before replying (a random time)")
	lease := flag.Duration("lease", 3*time.Second, "the jobs' lease")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	events := crashtest.NewEvents(os.Stdout)
	s, err := boltstore.Open(*store, boltstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ib := inbox.New(events.Store(s), inbox.Options{Workers: *workers, Lease: *lease, Logger: logger,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	client, err := kf.NewClient(kf.Config{AppID: crashtest.AppID, AppSecret: crashtest.AppSecret, BaseURL: *api})
	if err != nil {
		log.Fatal(err)
	}
	r, err := csmsg.NewReceiver(csmsg.Config{Token: crashtest.Token, Dedup: ib, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		log.Fatal(ib.Run(context.Background(), events.Func(client, *think)))
	}()
	log.Fatal(http.ListenAndServe(*listen, r.Handler(ib.Accept)))
}
