package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoad is the bounded load run: a second per scenario, one instance
// and (with REDIS_ADDR) two sharing Redis, in each mode and mixed. Nothing
// is lost, nothing handled twice, nothing answered but the injected
// failures and the right answers, and the goroutines come back.
func TestLoad(t *testing.T) {
	redisAddr := os.Getenv("REDIS_ADDR")
	sets := [][]csmsgtest.Mode{
		{csmsgtest.ModePlaintext},
		{csmsgtest.ModeSafe},
		{csmsgtest.ModePlaintext, csmsgtest.ModeSafe},
	}
	for _, instances := range []int{1, 2} {
		for _, modes := range sets {
			cfg := Config{
				Duration: time.Second, MaxPushes: 20_000, Concurrency: 32,
				Instances: instances, RedisAddr: redisAddr, Modes: modes,
				RetryRate: 0.10, FailRate: 0.03, MaxLatency: 20 * time.Millisecond,
			}
			t.Run(Name(cfg), func(t *testing.T) {
				if instances > 1 && redisAddr == "" {
					t.Skip("set REDIS_ADDR to a redis-server to run these tests; csmsgredis/ci.sh does")
				}
				res, err := Run(context.Background(), cfg)
				require.NoError(t, err)
				t.Log("\n" + Format(res))
				// No floor on throughput: a loaded machine under -race
				// may push little in a second. At least one push, and the
				// duplicates (each push one with RetryRate 0.10) asserted
				// where their absence would not be chance: 0.9^200 < 1e-9.
				assert.Positive(t, res.Pushes, "pushes")
				if res.Pushes >= 200 {
					assert.Greater(t, res.ConcurrentDup+res.LateDup, int64(0), "some pushes were sent twice")
				}
				assert.Zero(t, res.Lost, "pushes lost")
				assert.Zero(t, res.HandledTwice, "pushes handled twice")
				assert.Zero(t, res.UnexpectedNon200, "non-200 answers beyond the injected failures")
				assert.Zero(t, res.WrongAnswers, "wrong answers")
				assert.Zero(t, res.ClientErrors, "requests without an answer")
				assert.LessOrEqual(t, res.GoroutinesAfter, res.GoroutinesBefore+2, "goroutines back to the start")
			})
		}
	}
}

// TestMessagesCoverEveryKind holds the load's rotation to the kinds table:
// push n is of the kind n (modulo their number) of csmsg.Kinds, with a
// MsgId and values of its own, and every push marshals.
func TestMessagesCoverEveryKind(t *testing.T) {
	r := &run{msgBase: 1000, kinds: csmsg.Kinds()}
	kinds := csmsg.Kinds()
	for n := range int64(2 * len(kinds)) {
		k := kinds[n%int64(len(kinds))]
		m := r.message(n)
		values := k.Values(m)
		require.NotNil(t, values, "push %d is a %s", n, k.GoType)
		for i, name := range k.Fields {
			switch name {
			case "MsgId":
				assert.Equal(t, fmt.Sprint(1000+n), values[i])
			case "Event":
				assert.Equal(t, k.Event, values[i])
			default:
				assert.True(t, strings.HasSuffix(values[i], fmt.Sprintf(" %d", 1000+n)), "%s %s: %q", k.Name, name, values[i])
			}
		}
		for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
			_, err := csmsg.Marshal(m, f)
			require.NoError(t, err)
		}
	}
}
