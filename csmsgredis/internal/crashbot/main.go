// Command crashbot is the bot of csmsgredis's crash test: a Receiver on an
// inbox whose queue is on Redis, whose job sends each message back to a
// recording send API inside Once. The test runs two of them behind one
// front, kills them with SIGKILL and starts them again.
//
//	crashbot -redis ADDR -prefix P -listen ADDR -send URL
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/inbox"
)

func main() {
	addr := flag.String("redis", "", "the Redis address")
	prefix := flag.String("prefix", "", "the queue's prefix")
	listen := flag.String("listen", "", "the address to serve pushes on")
	send := flag.String("send", "", "the URL replies are posted to")
	token := flag.String("token", "token", "the push Token")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: *addr, MaxRetries: 1, DialTimeout: time.Second})
	q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: *prefix})
	if err != nil {
		log.Fatal(err)
	}
	ib := inbox.New(q, inbox.Options{Workers: 8, Lease: 2 * time.Second, Logger: logger,
		PollInterval: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	r, err := csmsg.NewReceiver(csmsg.Config{Token: *token, Dedup: ib, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		err := ib.Run(ctx, func(ctx context.Context, job *inbox.Job) error {
			m, ok := job.Message.(*csmsg.Text)
			if !ok {
				return inbox.Permanent(fmt.Errorf("not a text"))
			}
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond) // the model
			msg := m.FromUserName + " " + m.Content
			if _, err := job.Once(ctx, "reply", func(ctx context.Context) ([]byte, error) {
				return nil, post(ctx, *send+"/reply", msg)
			}); err != nil {
				return err
			}
			return post(ctx, *send+"/done", msg) // processed: the test counts these too
		})
		log.Fatal(err)
	}()
	log.Fatal(http.ListenAndServe(*listen, r.Handler(ib.Accept)))
}

// post sends body to the recording send API.
func post(ctx context.Context, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("send: %s", resp.Status)
	}
	return nil
}
