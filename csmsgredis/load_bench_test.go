package csmsgredis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/inbox"
)

// loadRate is the pushes per second BenchmarkTwoInstancesOpenLoop offers:
// LOAD_RATE, or 3,000.
func loadRate() int {
	if n, err := strconv.Atoi(os.Getenv("LOAD_RATE")); err == nil && n > 0 {
		return n
	}
	return 3000
}

// BenchmarkTwoInstancesOpenLoop offers b.N signed pushes at loadRate()
// per second, open loop (each at its scheduled time, whether or not earlier
// ones were answered), to two Receivers on inboxes over one Redis queue,
// alternately, over HTTP; jobs are run by both inboxes. It reports the
// rate answered "success" and the answer times from each push's
// scheduled instant (p50, p99, max). Run it with -benchtime 15000x for
// five seconds at 3,000/s (LOAD_RATE=1000 for 1,000/s):
//
//	REDIS_ADDR=127.0.0.1:6379 go test -run '^$' -bench TwoInstancesOpenLoop -benchtime 15000x
func BenchmarkTwoInstancesOpenLoop(b *testing.B) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		b.Skip("REDIS_ADDR not set: no Redis to test against")
	}
	prefix := fmt.Sprint("csmsgredis-load:", time.Now().UnixNano())
	defer func() { // the queue's keys, after the inboxes closed (deferred below)
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		iter := rdb.Scan(context.Background(), 0, "{"+prefix+"}:*", 1000).Iterator()
		for iter.Next(context.Background()) {
			rdb.Del(context.Background(), iter.Val())
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var urls []string
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
		defer rdb.Close()
		q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		ib := inbox.New(q, inbox.Options{})
		defer ib.Close()
		cfg := csmsg.Config{Token: "token", Dedup: ib}
		r, err := csmsg.NewReceiver(cfg)
		if err != nil {
			b.Fatal(err)
		}
		go ib.Run(ctx, func(context.Context, *inbox.Job) error { return nil })
		srv := httptest.NewServer(r.Handler(ib.Accept))
		defer srv.Close()
		urls = append(urls, srv.URL+"/wx")
	}
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		msg := &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: fmt.Sprint("user", i%200),
			MsgType: "text"}, MsgID: fmt.Sprint(i), Content: "hello"}
		req, err := csmsgtest.NewRequest(urls[i%2], csmsg.Config{Token: "token"}, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = req
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	lat := make([]time.Duration, b.N)
	ok := make([]bool, b.N)
	var wg sync.WaitGroup
	rate := loadRate()
	b.ResetTimer()
	start := time.Now()
	for i, req := range reqs {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Do(req)
			lat[i] = time.Since(at)
			if err == nil {
				ok[i] = resp.StatusCode == http.StatusOK
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	answered := 0
	for _, o := range ok {
		if o {
			answered++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(answered)/elapsed.Seconds(), "success/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
