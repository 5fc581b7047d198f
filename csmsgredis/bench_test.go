package csmsgredis

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg/inbox/queue"
)

// BenchmarkAccept accepts pushes from parallel goroutines into one queue,
// each a job of its own group (a 300-byte body), on Redis's clock.
func BenchmarkAccept(b *testing.B) {
	q := benchQueue(b)
	body := make([]byte, 300)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			if _, err := q.Accept(ctx, queue.Push{Key: fmt.Sprint("k", i), Group: fmt.Sprint("g", i%200), Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkClaimComplete claims and completes jobs of 200 groups from
// parallel goroutines: one job's round trip through a worker.
func BenchmarkClaimComplete(b *testing.B) {
	q := benchQueue(b)
	ctx := context.Background()
	body := make([]byte, 300)
	for i := range b.N {
		if _, err := q.Accept(ctx, queue.Push{Key: fmt.Sprint("k", i), Group: fmt.Sprint("g", i%200), Body: body}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var done atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for done.Load() < int64(b.N) {
				jobs, err := q.Claim(ctx, 1, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if len(jobs) == 1 {
					if _, err := q.Complete(ctx, jobs[0].Lease); err != nil {
						b.Error(err)
						return
					}
					done.Add(1)
					break
				}
			}
		}
	})
}

func benchQueue(b *testing.B) *Queue {
	b.Helper()
	rdb := testRedis(b)
	q, err := NewQueue(context.Background(), rdb, QueueOptions{Prefix: testPrefix(b, rdb)})
	if err != nil {
		b.Fatal(err)
	}
	return q
}
