package loadtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	times := []time.Duration{-1}
	for i := 100; i >= 1; i-- {
		times = append(times, time.Duration(i)*ms)
	}
	assert.Equal(t, Result{Offered: 50, Sent: 101, OK: 100, Failed: 1, Achieved: 50, P50: 50 * ms, P99: 99 * ms, Max: 100 * ms, Late: 3 * ms},
		summarize(times, 50, 2*time.Second, 3*ms))
	assert.Equal(t, Result{Offered: 50, Sent: 1, Failed: 1}, summarize([]time.Duration{-1}, 50, time.Second, 0))
}
