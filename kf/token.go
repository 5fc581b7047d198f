package kf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/csmsg/csmsg/internal/kfwire"
)

// TokenSource gives a [Client] its access tokens. rejected is "" normally;
// after WeChat rejected a token (errcode 40001, 40014 or 42001) the Client
// calls Token again with that token, and the source must not return it
// again. Implementations must be safe for concurrent use.
//
// [StableTokenSource] is the default. Implement TokenSource to take tokens
// from elsewhere, a central token service for instance.
type TokenSource interface {
	Token(ctx context.Context, rejected string) (string, error)
}

// StableTokenSource is the default [TokenSource] of a [Client]: it fetches
// stable access tokens (POST /cgi-bin/stable_token, getStableAccessToken)
// with the AppID and AppSecret and caches them in memory. It never calls the
// older /cgi-bin/token, whose tokens replace each other.
//
// # Several instances
//
// Instances of a backend need no shared token store. In normal mode
// (force_refresh false, the only mode used until WeChat rejects a token),
// stable_token returns the same token to every caller while it is valid, so
// each instance fetching and caching its own gets the same token as the
// others and invalidates nobody's. A force refresh does invalidate the token
// for every instance; each of them then sees its next call rejected,
// fetches again in normal mode and gets the new token.
//
// # Caching
//
// A token is cached until a margin before expires_in runs out: the margin is
// a tenth of expires_in, at most 5 minutes (the last 5 minutes of 2 hours
// are not used; a token that lives 60 s is used for 54). WeChat answers
// expires_in as the time the token has left, so a token refetched near its
// end comes back with a short life and is refetched a few more times, each
// after a tenth of the time left, until WeChat issues the next. The margin
// keeps a slow request from carrying a token that expires in flight, and is
// proportional so that a short-lived token is still used. Concurrent callers
// share one fetch: however many goroutines want a token at once, one request
// is made (a caller whose ctx ends stops waiting; if the fetching caller's
// ctx ends, a waiting caller makes the request itself).
//
// # Rejected tokens
//
// Token(ctx, rejected) with the cached token forgets it and fetches in
// normal mode. Only if WeChat answers the same token again (WeChat still
// hands out a token it refuses) does it fetch once more with force_refresh
// true, which invalidates that token for every instance; if even that
// returns the rejected token, Token returns an error. A rejected token that
// is no longer the cached one (another goroutine already replaced it) just
// gets the cached token.
//
// Set the fields before the first call to Token and do not change them
// after. Errors never hold the AppSecret.
type StableTokenSource struct {
	// AppID and AppSecret are the mini program's credentials. Both are
	// required: Token returns ErrInvalidConfig without them.
	AppID     string
	AppSecret string

	// BaseURL is the API's scheme and host: "" means DefaultBaseURL.
	BaseURL string

	// HTTPClient makes the requests: nil means a client with a
	// DefaultTimeout timeout that does not follow redirects.
	HTTPClient *http.Client

	// Now is the clock that times the cache; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	token     string
	refreshAt time.Time
	bad       string       // the last token WeChat rejected
	flight    *tokenFlight // the fetch in progress, if any
}

// maxTokenMargin bounds how long before its expiry a cached token is
// replaced; see [StableTokenSource].
const maxTokenMargin = 5 * time.Minute

// tokenFlight is one fetch that concurrent callers wait for.
type tokenFlight struct {
	done      chan struct{} // closed when the fetch ended
	err       error
	cancelled bool // the fetch failed because the fetching caller's ctx ended
}

// Token implements [TokenSource].
func (s *StableTokenSource) Token(ctx context.Context, rejected string) (string, error) {
	if s.AppID == "" || s.AppSecret == "" {
		return "", fmt.Errorf("%w: StableTokenSource needs an AppID and an AppSecret", ErrInvalidConfig)
	}
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		s.mu.Lock()
		if rejected != "" && rejected == s.token {
			s.bad, s.token = rejected, ""
		}
		if s.token != "" && s.now().Before(s.refreshAt) {
			token := s.token
			s.mu.Unlock()
			return token, nil
		}
		if f := s.flight; f != nil {
			s.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			if f.err != nil && !f.cancelled {
				return "", f.err
			}
			continue // the cache now holds the token, or this caller fetches
		}
		f := &tokenFlight{done: make(chan struct{})}
		s.flight = f
		bad := s.bad
		if rejected != "" && s.token == "" {
			bad = rejected
		}
		s.mu.Unlock()
		return s.lead(ctx, f, bad)
	}
}

// lead makes the fetch of flight f, which the other callers wait for.
func (s *StableTokenSource) lead(ctx context.Context, f *tokenFlight, bad string) (token string, err error) {
	var refreshAt time.Time
	f.err, f.cancelled = errFetchPanicked, false
	defer func() { // even if the HTTPClient panics: the waiters must not hang
		s.mu.Lock()
		if err == nil && token != "" {
			s.token, s.refreshAt = token, refreshAt
		}
		s.flight = nil
		s.mu.Unlock()
		close(f.done)
	}()
	token, refreshAt, err = s.fetchNotBad(ctx, bad)
	f.err, f.cancelled = err, err != nil && ctx.Err() != nil
	if err != nil {
		return "", err
	}
	return token, nil
}

// fetchNotBad fetches a token in normal mode and, if WeChat answers bad,
// once more in force-refresh mode.
func (s *StableTokenSource) fetchNotBad(ctx context.Context, bad string) (string, time.Time, error) {
	token, refreshAt, err := s.fetch(ctx, false)
	if err != nil || bad == "" || token != bad {
		return token, refreshAt, err
	}
	token, refreshAt, err = s.fetch(ctx, true)
	if err == nil && token == bad {
		return "", time.Time{}, badResponse(kfwire.PathStableToken, "force_refresh answered the rejected token")
	}
	return token, refreshAt, err
}

// fetch makes one stable_token request.
func (s *StableTokenSource) fetch(ctx context.Context, force bool) (string, time.Time, error) {
	body := kfwire.Marshal(kfwire.StableTokenRequest{GrantType: kfwire.GrantType, AppID: s.AppID, Secret: s.AppSecret, ForceRefresh: force})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL(s.BaseURL)+kfwire.PathStableToken, bytes.NewReader(body))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: BaseURL: %w", ErrInvalidConfig, err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := s.now()
	var answer kfwire.StableTokenAnswer
	err = roundTrip(httpClient(s.HTTPClient), req, kfwire.PathStableToken, &answer, s.AppSecret)
	if err != nil {
		return "", time.Time{}, err
	}
	switch {
	case answer.AccessToken == "":
		return "", time.Time{}, badResponse(kfwire.PathStableToken, "no access_token")
	case answer.ExpiresIn <= 0 || answer.ExpiresIn > 1<<31:
		return "", time.Time{}, badResponse(kfwire.PathStableToken, "no valid expires_in")
	}
	life := time.Duration(answer.ExpiresIn) * time.Second
	return answer.AccessToken, start.Add(life - tokenMargin(life)), nil
}

// tokenMargin is how long before a token that lives life it is replaced.
func tokenMargin(life time.Duration) time.Duration {
	return min(maxTokenMargin, life/10)
}

func (s *StableTokenSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// errFetchPanicked is what callers waiting for a fetch get if it panicked.
var errFetchPanicked = errors.New("kf: the access token fetch panicked")

// errNoToken is returned when a TokenSource answers an empty token.
var errNoToken = errors.New("kf: the TokenSource returned an empty token")
