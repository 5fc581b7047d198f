package csmsgredis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
)

// On the Redis queue, a user whose job runs long or waits in backoff
// holds only their own later jobs: 50 other users' jobs all run
// meanwhile, each user's in order.
func TestSlowUserHoldsOnlyItself(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow func(ctx context.Context, release <-chan struct{}) error // the slow user's first job
	}{
		{"running long", func(ctx context.Context, release <-chan struct{}) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}},
		{"in backoff", func(ctx context.Context, release <-chan struct{}) error {
			select {
			case <-release:
				return nil
			default:
				return errors.New("the model is down")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := testRedis(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			q, err := NewQueue(ctx, rdb, QueueOptions{Prefix: testPrefix(t, rdb)})
			require.NoError(t, err)
			backoff := 300 * time.Millisecond
			ib := inbox.New(q, inbox.Options{Workers: 4, PollInterval: 10 * time.Millisecond,
				Backoff: func(int) time.Duration { return backoff }})
			defer ib.Close()
			text := func(user string, i int) csmsg.Message {
				return &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: user, MsgType: "text"},
					MsgID: fmt.Sprint(user, i), Content: fmt.Sprint(i)}
			}
			const users = 50
			for i := range 2 {
				_, err := ib.Accept(ctx, text("slow", i))
				require.NoError(t, err)
				for u := range users {
					_, err := ib.Accept(ctx, text(fmt.Sprint("user", u), i))
					require.NoError(t, err)
				}
			}

			release := make(chan struct{})
			var mu sync.Mutex
			done := map[string][]string{} // user → contents, in run order
			others := make(chan struct{}) // closed when the other users are done
			var closeOthers sync.Once
			go ib.Run(ctx, func(ctx context.Context, job *inbox.Job) error {
				m := job.Message.(*csmsg.Text)
				if m.FromUserName == "slow" && m.Content == "0" {
					if err := tc.slow(ctx, release); err != nil {
						return err
					}
				}
				mu.Lock()
				defer mu.Unlock()
				done[m.FromUserName] = append(done[m.FromUserName], m.Content)
				if allTwo(done, users) {
					closeOthers.Do(func() { close(others) })
				}
				return nil
			})
			select {
			case <-others:
			case <-time.After(20 * time.Second):
				t.Fatal("the other users' jobs did not all run while the slow user's job held")
			}
			mu.Lock()
			assert.Empty(t, done["slow"], "the slow user's second job waits for the first")
			mu.Unlock()
			close(release)
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(done["slow"]) == 2
			}, 10*time.Second, 10*time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			for user, got := range done {
				assert.Equal(t, []string{"0", "1"}, got, user)
			}
		})
	}
}

// allTwo reports whether users user0… have both their jobs done.
func allTwo(done map[string][]string, users int) bool {
	for u := range users {
		if len(done[fmt.Sprint("user", u)]) != 2 {
			return false
		}
	}
	return true
}
