package csmsgredis_test

import (
	"context"
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/inbox"
)

// Every instance of a bot opens the same queue on the same Redis: a push
// accepted by one is run by whichever instance claims it, in order per
// user. (TestAcceptWhileRedisIsDown runs this wiring against a real
// redis-server.)
func ExampleNewQueue() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: "bot"})
	if err != nil {
		log.Fatal(err)
	}
	ib := inbox.New(q, inbox.Options{})
	defer ib.Close()
	r, err := csmsg.NewReceiver(csmsg.Config{Token: "token", Dedup: ib})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/wx", r.Handler(ib.Accept))
	go ib.Run(ctx, func(ctx context.Context, job *inbox.Job) error {
		log.Printf("job %d from %s", job.ID, job.Message.MsgHeader().FromUserName)
		return nil
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", nil))
}
