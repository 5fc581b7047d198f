package kf_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/kf"
	"github.com/csmsg/csmsg/kf/kftest"
)

// newSource starts a fake and a StableTokenSource of it whose clock is the
// fake's.
func newSource(t *testing.T) (*kftest.Server, *kf.StableTokenSource) {
	t.Helper()
	s := kftest.NewServer(testAppID, testSecret)
	t.Cleanup(s.Close)
	return s, &kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, BaseURL: s.URL, Now: s.Now}
}

func token(t *testing.T, src kf.TokenSource, rejected string) string {
	t.Helper()
	tok, err := src.Token(context.Background(), rejected)
	require.NoError(t, err)
	require.NotEmpty(t, tok)
	addSecret(tok)
	return tok
}

func TestStableTokenCache(t *testing.T) {
	s, src := newSource(t)
	first := token(t, src, "")
	assert.Equal(t, s.AccessToken(), first)
	assert.Equal(t, first, token(t, src, ""))
	assert.Equal(t, 1, s.TokenFetches())

	// 7200 s: the margin is 5 minutes (StableTokenSource's doc).
	s.Advance(7200*time.Second - 5*time.Minute - time.Second)
	assert.Equal(t, first, token(t, src, ""))
	assert.Equal(t, 1, s.TokenFetches())
	s.Advance(time.Second)
	assert.Equal(t, first, token(t, src, ""), "WeChat answers the same token while it is valid")
	assert.Equal(t, 2, s.TokenFetches())
	assert.Equal(t, 0, s.Calls(kftest.PathToken))
	assert.Equal(t, 0, s.ForceRefreshes())
}

func TestStableTokenShortLife(t *testing.T) {
	s, src := newSource(t)
	s.SetTokenTTL(60 * time.Second) // the margin is 6 s
	first := token(t, src, "")
	s.Advance(53 * time.Second)
	assert.Equal(t, first, token(t, src, ""))
	assert.Equal(t, 1, s.TokenFetches())
	s.Advance(time.Second) // 54 s: refetched; WeChat answers it with 6 s left
	assert.Equal(t, first, token(t, src, ""))
	assert.Equal(t, 2, s.TokenFetches())
	s.Advance(6 * time.Second) // expired at the fake: a new one
	second := token(t, src, "")
	assert.NotEqual(t, first, second)
	assert.Equal(t, 3, s.TokenFetches())
}

func TestStableTokenRejected(t *testing.T) {
	t.Run("expired: a normal refetch", func(t *testing.T) {
		s, src := newSource(t)
		first := token(t, src, "")
		s.ExpireTokens()
		second := token(t, src, first)
		assert.NotEqual(t, first, second)
		assert.Equal(t, 2, s.TokenFetches())
		assert.Equal(t, 0, s.ForceRefreshes())
		assert.Equal(t, second, token(t, src, ""), "cached")
		assert.Equal(t, second, token(t, src, first), "an old rejection gets the cached token")
		assert.Equal(t, 2, s.TokenFetches())
	})
	t.Run("still handed out: one force refresh", func(t *testing.T) {
		s, src := newSource(t)
		first := token(t, src, "")
		second := token(t, src, first)
		assert.NotEqual(t, first, second)
		assert.Equal(t, s.AccessToken(), second)
		assert.Equal(t, 3, s.TokenFetches())
		assert.Equal(t, 1, s.ForceRefreshes())
		assert.Equal(t, second, token(t, src, ""))
		assert.Equal(t, 3, s.TokenFetches())
	})
	t.Run("rejected, not cached", func(t *testing.T) {
		s, src := newSource(t)
		current := s.AccessToken()
		second := token(t, src, current)
		assert.NotEqual(t, current, second)
		assert.Equal(t, 2, s.TokenFetches())
		assert.Equal(t, 1, s.ForceRefreshes())
	})
	t.Run("many callers, one rejected token", func(t *testing.T) {
		s, src := newSource(t)
		first := token(t, src, "")
		tokens := make([]string, 100)
		var wg sync.WaitGroup
		for i := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tokens[i], _ = src.Token(context.Background(), first)
			}()
		}
		wg.Wait()
		second := s.AccessToken()
		for _, tok := range tokens {
			assert.Equal(t, second, tok)
		}
		assert.Equal(t, 3, s.TokenFetches())
		assert.Equal(t, 1, s.ForceRefreshes())
	})
}

func TestStableTokenSharedFetch(t *testing.T) {
	s, src := newSource(t)
	tokens := make([]string, 100)
	errs := make([]error, 100)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			tokens[i], errs[i] = src.Token(context.Background(), "")
		}()
	}
	start.Done()
	wg.Wait()
	assert.Equal(t, make([]error, 100), errs)
	for _, tok := range tokens {
		assert.Equal(t, s.AccessToken(), tok)
	}
	assert.Equal(t, 1, s.TokenFetches())
}

// stableServer is a raw stable_token endpoint answering answers in turn
// (the last one again once they run out), recording request bodies.
func stableServer(t *testing.T, answers ...string) (*httptest.Server, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Method+" "+r.URL.String()+" "+r.Header.Get("Content-Type")+" "+string(body))
		n := min(len(bodies), len(answers)) - 1
		mu.Unlock()
		io.WriteString(w, answers[n])
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies
}

func TestStableTokenRequests(t *testing.T) {
	srv, bodies := stableServer(t,
		`{"access_token":"T1","expires_in":7200}`,
		`{"access_token":"T1","expires_in":7000}`,
		`{"access_token":"T2","expires_in":7200}`)
	src := &kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, BaseURL: srv.URL + "/"}
	assert.Equal(t, "T1", token(t, src, ""))
	assert.Equal(t, "T2", token(t, src, "T1"))
	const prefix = "POST /cgi-bin/stable_token application/json "
	assert.Equal(t, []string{
		prefix + `{"grant_type":"client_credential","appid":"` + testAppID + `","secret":"` + testSecret + `","force_refresh":false}` + "\n",
		prefix + `{"grant_type":"client_credential","appid":"` + testAppID + `","secret":"` + testSecret + `","force_refresh":false}` + "\n",
		prefix + `{"grant_type":"client_credential","appid":"` + testAppID + `","secret":"` + testSecret + `","force_refresh":true}` + "\n",
	}, *bodies)
}

func TestStableTokenErrors(t *testing.T) {
	const path = "/cgi-bin/stable_token"
	for _, tc := range []struct {
		name    string
		answers []string
		err     string
		is      error
	}{
		{"errcode", []string{`{"errcode":40125,"errmsg":"invalid appsecret ` + testSecret + `"}`},
			`kf: wechat api error 40125: "invalid appsecret REDACTED"`, nil},
		{"no token", []string{`{"expires_in":7200}`}, "kf: bad response from wechat: " + path + ": no access_token", kf.ErrBadResponse},
		{"empty token", []string{`{"access_token":"","expires_in":7200}`}, "kf: bad response from wechat: " + path + ": no access_token", kf.ErrBadResponse},
		{"no expires_in", []string{`{"access_token":"T"}`}, "kf: bad response from wechat: " + path + ": no valid expires_in", kf.ErrBadResponse},
		{"zero expires_in", []string{`{"access_token":"T","expires_in":0}`}, "kf: bad response from wechat: " + path + ": no valid expires_in", kf.ErrBadResponse},
		{"expires_in a string", []string{`{"access_token":"T","expires_in":"7200"}`},
			"kf: bad response from wechat: " + path + ": json: cannot unmarshal string into Go struct field StableTokenAnswer.expires_in of type int64", kf.ErrBadResponse},
		{"HTML", []string{`<html>`}, "kf: bad response from wechat: " + path + ": answer is not a JSON object", kf.ErrBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := stableServer(t, tc.answers...)
			src := &kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, BaseURL: srv.URL}
			tok, err := src.Token(context.Background(), "")
			assert.Equal(t, "", tok)
			assert.EqualError(t, err, tc.err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			noSecrets(t, err)
		})
	}
	t.Run("force refresh answers the rejected token", func(t *testing.T) {
		srv, bodies := stableServer(t, `{"access_token":"T1","expires_in":7200}`)
		src := &kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, BaseURL: srv.URL}
		_, err := src.Token(context.Background(), "T1")
		assert.EqualError(t, err, "kf: bad response from wechat: "+path+": force_refresh answered the rejected token")
		assert.Len(t, *bodies, 2, "one normal fetch, one force refresh")
	})
	t.Run("no credentials", func(t *testing.T) {
		for _, src := range []*kf.StableTokenSource{{AppID: testAppID}, {AppSecret: testSecret}} {
			_, err := src.Token(context.Background(), "")
			assert.ErrorIs(t, err, kf.ErrInvalidConfig)
			noSecrets(t, err)
		}
	})
}

// TestStableTokenCancelledFetch: when the caller whose request is in flight
// gives up, a waiting caller makes its own request.
func TestStableTokenCancelledFetch(t *testing.T) {
	var calls atomic.Int32
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // so that the server notices the client hanging up
		if calls.Add(1) == 1 {
			close(arrived)
			<-r.Context().Done()
			return
		}
		io.WriteString(w, `{"access_token":"T2","expires_in":7200}`)
	}))
	defer srv.Close()
	src := &kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, BaseURL: srv.URL}

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := src.Token(ctx, "")
		first <- err
	}()
	<-arrived
	second := make(chan string)
	go func() {
		tok, _ := src.Token(context.Background(), "")
		second <- tok
	}()
	cancel()
	assert.ErrorIs(t, <-first, context.Canceled)
	assert.Equal(t, "T2", <-second)
	assert.Equal(t, int32(2), calls.Load())
}

// TestStableTokenWaiterCancelled: a waiting caller whose ctx ends stops
// waiting; the fetch goes on for the others.
func TestStableTokenWaiterCancelled(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			close(arrived)
			<-release
		}
		io.WriteString(w, `{"access_token":"T1","expires_in":7200}`)
	}))
	defer srv.Close()
	src := &kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, BaseURL: srv.URL}
	first := make(chan string)
	go func() {
		tok, _ := src.Token(context.Background(), "")
		first <- tok
	}()
	<-arrived
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := src.Token(ctx, "")
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	assert.Equal(t, "T1", <-first)
	assert.Equal(t, "T1", token(t, src, ""))
	assert.Equal(t, int32(1), calls.Load())
}

// TestStableTokenFetchPanics: a panicking HTTPClient does not leave the
// shared fetch open for ever.
func TestStableTokenFetchPanics(t *testing.T) {
	var calls atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			panic("transport bug")
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"access_token":"T1","expires_in":7200}`))}, nil
	})}
	src := &kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, HTTPClient: hc}
	assert.PanicsWithValue(t, "transport bug", func() { src.Token(context.Background(), "") })
	assert.Equal(t, "T1", token(t, src, ""))
}
