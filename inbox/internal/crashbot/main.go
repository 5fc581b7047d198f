// Command crashbot is the bot of the inbox's crash test: a Receiver on an
// inbox file, whose job sends each message back to a recording send API
// inside Once. The test kills it with SIGKILL and starts it again.
//
//	crashbot -store FILE -listen ADDR -send URL
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

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
)

func main() {
	store := flag.String("store", "", "the inbox file")
	listen := flag.String("listen", "", "the address to serve pushes on")
	send := flag.String("send", "", "the URL replies are posted to")
	token := flag.String("token", "token", "the push Token")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ib, err := inbox.Open(*store, inbox.Options{Workers: 8, Lease: 2 * time.Second, Logger: logger,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		log.Fatal(err)
	}
	r, err := csmsg.NewReceiver(csmsg.Config{Token: *token, Dedup: ib, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		err := ib.Run(context.Background(), func(ctx context.Context, job *inbox.Job) error {
			m, ok := job.Message.(*csmsg.Text)
			if !ok {
				return inbox.Permanent(fmt.Errorf("not a text"))
			}
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond) // the model
			_, err := job.Once(ctx, "reply", func(ctx context.Context) ([]byte, error) {
				body := []byte(m.FromUserName + " " + m.Content)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, *send, bytes.NewReader(body))
				if err != nil {
					return nil, err
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return nil, err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return nil, fmt.Errorf("send: %s", resp.Status)
				}
				return nil, nil
			})
			return err
		})
		if err != nil {
			log.Fatal(err)
		}
	}()
	log.Fatal(http.ListenAndServe(*listen, r.Handler(ib.Accept)))
}
