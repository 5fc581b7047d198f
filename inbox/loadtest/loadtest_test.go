package loadtest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox/loadtest"
)

// plain is a Receiver answering every push "success".
func plain(t *testing.T) *httptest.Server {
	r, err := csmsg.NewReceiver(csmsg.Config{Token: "token"})
	require.NoError(t, err)
	srv := httptest.NewServer(r.Handler(func(context.Context, csmsg.Message) (*csmsg.Reply, error) { return nil, nil }))
	t.Cleanup(srv.Close)
	return srv
}

func TestRun(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer failing.Close()
	for _, tc := range []struct {
		name    string
		url     string
		ok      int
		sustain bool
		failure string
	}{
		{"every push answered success", plain(t).URL + "/wx", 40, true, ""},
		{"every push refused", failing.URL, 0, false, `500 Internal Server Error "down\n"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := loadtest.Run(context.Background(), loadtest.Config{URL: tc.url, Rate: 200, Duration: 200 * time.Millisecond, Users: 7})
			require.NoError(t, err)
			assert.Equal(t, 200.0, r.Offered)
			assert.Equal(t, 40, r.Sent)
			assert.Equal(t, tc.ok, r.OK)
			assert.Equal(t, 40-tc.ok, r.Failed)
			assert.Equal(t, tc.sustain, r.Sustains(time.Minute))
			assert.Equal(t, tc.failure, r.FirstFailure)
			if tc.ok > 0 {
				assert.LessOrEqual(t, r.P50, r.P99)
				assert.LessOrEqual(t, r.P99, r.Max)
				assert.Positive(t, r.Achieved)
			}
		})
	}
}

func TestSweepStopsAtFirstMiss(t *testing.T) {
	url := plain(t).URL + "/wx"
	var seen []float64
	results, best, err := loadtest.Sweep(context.Background(), loadtest.Config{URL: url, Duration: 100 * time.Millisecond},
		[]int{100, 200, 300}, -1, func(r loadtest.Result) { seen = append(seen, r.Offered) })
	require.NoError(t, err)
	assert.Equal(t, 0, best, "no p99 is below zero")
	assert.Equal(t, []float64{100}, seen)
	assert.Len(t, results, 1)

	_, best, err = loadtest.Sweep(context.Background(), loadtest.Config{URL: url, Duration: 100 * time.Millisecond},
		[]int{100, 200}, time.Minute, nil)
	require.NoError(t, err)
	assert.Equal(t, 200, best)
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  loadtest.Config
		msg  string
	}{
		{"no URL", loadtest.Config{}, "loadtest: bad config: no URL"},
		{"too many pushes", loadtest.Config{URL: "http://127.0.0.1:1/wx", Rate: 100_000, Duration: time.Minute},
			"loadtest: bad config: 100000/s for 1m0s is 6000000 pushes, more than 1000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadtest.Run(context.Background(), tc.cfg)
			assert.ErrorIs(t, err, loadtest.ErrConfig)
			assert.EqualError(t, err, tc.msg)
		})
	}
}
