package loadtest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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
			r, err := loadtest.Run(context.Background(), loadtest.Config{URLs: []string{tc.url}, Rate: 200, Duration: 200 * time.Millisecond, Users: 7})
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

func TestMeasure(t *testing.T) {
	var started, stopped []string
	target := func(name string, urls ...string) loadtest.Target {
		return loadtest.Target{Name: name, Start: func() (loadtest.Server, error) {
			started = append(started, name)
			return loadtest.Server{URLs: urls, Stop: func() { stopped = append(stopped, name) },
				Waiting: func(context.Context) (int, error) { return 3, nil }}, nil
		}}
	}
	a, b := plain(t).URL+"/wx", plain(t).URL+"/wx"
	var out bytes.Buffer
	cfg := loadtest.Config{Duration: 100 * time.Millisecond, Users: 3}
	err := loadtest.Measure(context.Background(), &out, []loadtest.Target{target("two", a, b), target("one", a)},
		[]int{100, 200}, time.Minute, cfg)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 6, out.String())
	for i, name := range []string{"two", "one"} {
		assert.Regexp(t, "^"+name+` +offered 100/s: 10 sent, 10 success, 0 failed; .*; 3 jobs waiting at the end$`, lines[3*i])
		assert.Regexp(t, "^"+name+` +offered 200/s: 20 sent, 20 success, 0 failed; .*; 3 jobs waiting at the end$`, lines[3*i+1])
		assert.Equal(t, name+"    max sustained rate (p99 ≤ 1m0s, every push answered): 200/s", lines[3*i+2])
	}
	assert.Equal(t, []string{"two", "two", "one", "one"}, started, "a fresh server for each rate")
	assert.Equal(t, started, stopped)

	out.Reset()
	started, stopped = nil, nil
	err = loadtest.Measure(context.Background(), &out, []loadtest.Target{target("one", a)}, []int{100, 200, 300}, -1, cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{"one"}, started, "the sweep stops at the first rate not sustained")
	assert.Regexp(t, `max sustained rate \(p99 ≤ -1ns, every push answered\): 0/s\n$`, out.String())

	failing := loadtest.Target{Name: "down", Start: func() (loadtest.Server, error) { return loadtest.Server{}, errors.New("no port") }}
	err = loadtest.Measure(context.Background(), &out, []loadtest.Target{failing}, []int{100}, time.Minute, cfg)
	assert.EqualError(t, err, "loadtest: down at 100/s: no port")
}

func TestURLsInTurn(t *testing.T) {
	var hits [2]atomic.Int64
	var urls []string
	for i := range hits {
		r, err := csmsg.NewReceiver(csmsg.Config{Token: "token"})
		require.NoError(t, err)
		srv := httptest.NewServer(r.Handler(func(context.Context, csmsg.Message) (*csmsg.Reply, error) {
			hits[i].Add(1)
			return nil, nil
		}))
		defer srv.Close()
		urls = append(urls, srv.URL+"/wx")
	}
	r, err := loadtest.Run(context.Background(), loadtest.Config{URLs: urls, Rate: 200, Duration: 100 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 20, r.OK)
	assert.Equal(t, [2]int64{10, 10}, [2]int64{hits[0].Load(), hits[1].Load()})
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  loadtest.Config
		msg  string
	}{
		{"no URL", loadtest.Config{}, "loadtest: bad config: no URL"},
		{"too many pushes", loadtest.Config{URLs: []string{"http://127.0.0.1:1/wx"}, Rate: 100_000, Duration: time.Minute},
			"loadtest: bad config: 100000/s for 1m0s is 6000000 pushes, more than 1000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadtest.Run(context.Background(), tc.cfg)
			assert.ErrorIs(t, err, loadtest.ErrConfig)
			assert.EqualError(t, err, tc.msg)
		})
	}
}
