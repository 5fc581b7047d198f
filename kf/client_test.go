package kf_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/kf"
	"github.com/csmsg/csmsg/kf/kftest"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "APPSECRET/must+not=leak-7f3a9c"

	// Tokens of the raw-server tests, with characters that the query
	// escapes, so that redaction is tested in both spellings.
	rawToken1 = "RAW/TOKEN+one=must-not-leak-1"
	rawToken2 = "RAW/TOKEN+two=must-not-leak-2"
	rawToken3 = "RAW/TOKEN+three=must-not-leak-3"

	openID  = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	openID2 = "o9AgO5Kd5ggOC-second-user-xyz"
)

// pngBytes sniffs as image/png.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 100)...)

// secrets are the strings no error may hold; tokens a fake issued are
// added as the tests see them.
var (
	secretsMu sync.Mutex
	secrets   = []string{testSecret, url.QueryEscape(testSecret), rawToken1, rawToken2, rawToken3,
		url.QueryEscape(rawToken1), url.QueryEscape(rawToken2), url.QueryEscape(rawToken3)}
)

func addSecret(s string) {
	secretsMu.Lock()
	secrets = append(secrets, s, url.QueryEscape(s))
	secretsMu.Unlock()
}

// noSecrets fails if the text of err, or of anything it wraps, holds a
// token or the AppSecret.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range secrets {
			if strings.Contains(e.Error(), s) {
				t.Errorf("error %q holds a secret", e.Error())
			}
		}
	}
}

// recordingSource records every token its source hands out as a secret.
type recordingSource struct{ src kf.TokenSource }

func (r recordingSource) Token(ctx context.Context, rejected string) (string, error) {
	token, err := r.src.Token(ctx, rejected)
	if token != "" {
		addSecret(token)
	}
	return token, err
}

// newFake starts a kftest.Server and a Client of it with the default
// token source.
func newFake(t *testing.T, edit func(*kf.Config)) (*kftest.Server, *kf.Client) {
	t.Helper()
	s := kftest.NewServer(testAppID, testSecret)
	t.Cleanup(s.Close)
	cfg := kf.Config{AppID: testAppID, AppSecret: testSecret, BaseURL: s.URL}
	cfg.Tokens = recordingSource{&kf.StableTokenSource{AppID: testAppID, AppSecret: testSecret, BaseURL: s.URL}}
	if edit != nil {
		edit(&cfg)
	}
	c, err := kf.NewClient(cfg)
	require.NoError(t, err)
	return s, c
}

// tokenList is a TokenSource handing out rawToken1, rawToken2, ... in turn,
// moving on when its current token is rejected; it records every call.
type tokenList struct {
	mu       sync.Mutex
	tokens   []string
	i        int
	rejected []string // the rejected argument of every call
}

func newTokenList() *tokenList {
	return &tokenList{tokens: []string{rawToken1, rawToken2, rawToken3}}
}

func (l *tokenList) Token(_ context.Context, rejected string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rejected = append(l.rejected, rejected)
	if rejected != "" && rejected == l.tokens[l.i] {
		l.i++
	}
	return l.tokens[l.i], nil
}

func (l *tokenList) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.rejected...)
}

// rawRequest is what a raw server saw of one request.
type rawRequest struct {
	Method, Path, Token, ContentType string
	Query                            url.Values
	Body                             string
}

// rawServer is an httptest.Server answering with handle and recording
// requests.
type rawServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []rawRequest
}

func newRaw(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) (*rawServer, *kf.Client, *tokenList) {
	t.Helper()
	rs := &rawServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := r.URL.Query()
		token := q.Get("access_token")
		q.Del("access_token")
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, rawRequest{r.Method, r.URL.Path, token, r.Header.Get("Content-Type"), q, string(body)})
		n := len(rs.reqs)
		rs.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		handle(w, r, n)
	}))
	t.Cleanup(rs.Close)
	tokens := newTokenList()
	c, err := kf.NewClient(kf.Config{AppID: testAppID, Tokens: tokens, BaseURL: rs.URL, MaxMediaBytes: 64})
	require.NoError(t, err)
	return rs, c, tokens
}

func (rs *rawServer) requests() []rawRequest {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]rawRequest(nil), rs.reqs...)
}

func answer(body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		io.WriteString(w, body)
	}
}

func TestNewClient(t *testing.T) {
	tokens := newTokenList()
	for _, tc := range []struct {
		name string
		cfg  kf.Config
		err  string
	}{
		{"no AppID", kf.Config{AppSecret: testSecret}, "kf: invalid config: no AppID"},
		{"no secret nor tokens", kf.Config{AppID: testAppID}, "kf: invalid config: neither AppSecret nor Tokens"},
		{"relative BaseURL", kf.Config{AppID: testAppID, AppSecret: testSecret, BaseURL: "api.weixin.qq.com"},
			"kf: invalid config: BaseURL is not an absolute http or https URL"},
		{"ftp BaseURL", kf.Config{AppID: testAppID, AppSecret: testSecret, BaseURL: "ftp://example.com"},
			"kf: invalid config: BaseURL is not an absolute http or https URL"},
		{"negative MaxMediaBytes", kf.Config{AppID: testAppID, AppSecret: testSecret, MaxMediaBytes: -1},
			"kf: invalid config: negative MaxMediaBytes"},
		{"secret", kf.Config{AppID: testAppID, AppSecret: testSecret}, ""},
		{"tokens", kf.Config{AppID: testAppID, Tokens: tokens}, ""},
		{"BaseURL with slash", kf.Config{AppID: testAppID, Tokens: tokens, BaseURL: "http://127.0.0.1:1/"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kf.NewClient(tc.cfg)
			if tc.err == "" {
				require.NoError(t, err)
				assert.NotNil(t, c)
				return
			}
			assert.Nil(t, c)
			assert.ErrorIs(t, err, kf.ErrInvalidConfig)
			assert.EqualError(t, err, tc.err)
			noSecrets(t, err)
		})
	}
}

func TestClientSends(t *testing.T) {
	s, c := newFake(t, nil)
	ctx := context.Background()
	s.UserMessage(openID)
	mediaID, err := c.UploadTempMedia(ctx, "cat.png", bytes.NewReader(pngBytes))
	require.NoError(t, err)

	require.NoError(t, c.SendText(ctx, openID, `你好 <a href="https://x.example/?a=1&b=2" data-miniprogram-appid="wx1">go</a>`))
	require.NoError(t, c.SendImage(ctx, openID, mediaID))
	link := kf.Link{Title: "T&C", Description: "<read>", URL: "https://x.example/a?b=c&d=e", ThumbURL: "https://x.example/t.png"}
	require.NoError(t, c.SendLink(ctx, openID, link))
	card := kf.MiniProgramCard{Title: "Order", PagePath: "pages/index/index?foo=bar&x=1", ThumbMediaID: mediaID}
	require.NoError(t, c.SendMiniProgramPage(ctx, openID, card))

	now := s.Now()
	assert.Equal(t, []kftest.SentMessage{
		{ToUser: openID, MsgType: "text", Text: `你好 <a href="https://x.example/?a=1&b=2" data-miniprogram-appid="wx1">go</a>`, At: now},
		{ToUser: openID, MsgType: "image", MediaID: mediaID, At: now},
		{ToUser: openID, MsgType: "link", Link: link, At: now},
		{ToUser: openID, MsgType: "miniprogrampage", Card: card, At: now},
	}, s.Sent())
	assert.Equal(t, 1, s.TokenFetches())
	assert.Equal(t, 0, s.Calls(kftest.PathToken))

	token, err := c.AccessToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, s.AccessToken(), token)
	assert.Equal(t, 1, s.TokenFetches())
}

// TestClientRequests checks each call's request byte for byte.
func TestClientRequests(t *testing.T) {
	rs, c, _ := newRaw(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/cgi-bin/media/upload" {
			io.WriteString(w, `{"type":"image","media_id":"MEDIA1","created_at":1234567890}`)
			return
		}
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	ctx := context.Background()
	require.NoError(t, c.SendText(ctx, openID, `<a href="x?a=1&b=2">你好</a>`))
	require.NoError(t, c.SendImage(ctx, openID, "MEDIA1"))
	require.NoError(t, c.SendLink(ctx, openID, kf.Link{Title: "T", Description: "D", URL: "https://x/?a&b", ThumbURL: "TH"}))
	require.NoError(t, c.SendMiniProgramPage(ctx, openID, kf.MiniProgramCard{Title: "T", PagePath: "pages/index/index?foo=bar", ThumbMediaID: "M"}))
	require.NoError(t, c.SetTyping(ctx, openID, true))
	require.NoError(t, c.SetTyping(ctx, openID, false))

	const ct = "application/json; charset=utf-8"
	post := func(path, body string) rawRequest {
		return rawRequest{"POST", path, rawToken1, ct, url.Values{}, body + "\n"}
	}
	assert.Equal(t, []rawRequest{
		post("/cgi-bin/message/custom/send", `{"touser":"`+openID+`","msgtype":"text","text":{"content":"<a href=\"x?a=1&b=2\">你好</a>"}}`),
		post("/cgi-bin/message/custom/send", `{"touser":"`+openID+`","msgtype":"image","image":{"media_id":"MEDIA1"}}`),
		post("/cgi-bin/message/custom/send", `{"touser":"`+openID+`","msgtype":"link","link":{"title":"T","description":"D","url":"https://x/?a&b","thumb_url":"TH"}}`),
		post("/cgi-bin/message/custom/send", `{"touser":"`+openID+`","msgtype":"miniprogrampage","miniprogrampage":{"title":"T","pagepath":"pages/index/index?foo=bar","thumb_media_id":"M"}}`),
		post("/cgi-bin/message/custom/typing", `{"touser":"`+openID+`","command":"Typing"}`),
		post("/cgi-bin/message/custom/typing", `{"touser":"`+openID+`","command":"CancelTyping"}`),
	}, rs.requests())
}

func TestClientUploadRequest(t *testing.T) {
	rs, c, _ := newRaw(t, answer(`{"errcode":0,"errmsg":"ok","type":"image","media_id":"MEDIA1","created_at":1234567890}`))
	id, err := c.UploadTempMedia(context.Background(), `dir/my "cat".png`, bytes.NewReader(pngBytes[:60]))
	require.NoError(t, err)
	assert.Equal(t, "MEDIA1", id)

	reqs := rs.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/cgi-bin/media/upload", r.Path)
	assert.Equal(t, rawToken1, r.Token)
	assert.Equal(t, url.Values{"type": {"image"}}, r.Query)
	mt, params, err := mime.ParseMediaType(r.ContentType)
	require.NoError(t, err)
	assert.Equal(t, "multipart/form-data", mt)
	mr := multipart.NewReader(strings.NewReader(r.Body), params["boundary"])
	part, err := mr.NextPart()
	require.NoError(t, err)
	assert.Equal(t, "media", part.FormName())
	assert.Equal(t, `my "cat".png`, part.FileName())
	assert.Equal(t, "image/png", part.Header.Get("Content-Type"))
	data, err := io.ReadAll(part)
	require.NoError(t, err)
	assert.Equal(t, pngBytes[:60], data)
	_, err = mr.NextPart()
	assert.Equal(t, io.EOF, err)
}

func TestClientReplyWindow(t *testing.T) {
	outside := &kf.Error{Code: kf.CodeOutsideWindow, Msg: "response out of time limit or subscription is canceled"}
	usedUp := &kf.Error{Code: kf.CodeQuotaUsedUp, Msg: "out of response count limit"}
	badOpenID := &kf.Error{Code: kf.CodeInvalidOpenID, Msg: "invalid openid"}
	for _, tc := range []struct {
		name string
		act  func(s *kftest.Server)
		want []error // one per send, sends a second apart
	}{
		{"never acted", func(*kftest.Server) {}, []error{badOpenID}},
		{"message: 5 replies", func(s *kftest.Server) { s.UserMessage(openID) }, []error{nil, nil, nil, nil, nil, usedUp, usedUp}},
		{"session: 2 replies", func(s *kftest.Server) { s.UserEnteredSession(openID) }, []error{nil, nil, usedUp}},
		{"session over after a minute", func(s *kftest.Server) { s.UserEnteredSession(openID); s.Advance(time.Minute) }, []error{outside}},
		{"session: last second", func(s *kftest.Server) { s.UserEnteredSession(openID); s.Advance(59 * time.Second) }, []error{nil, outside}},
		{"message window over after 48 h", func(s *kftest.Server) { s.UserMessage(openID); s.Advance(48 * time.Hour) }, []error{outside}},
		{"message: last second", func(s *kftest.Server) { s.UserMessage(openID); s.Advance(48*time.Hour - time.Second) }, []error{nil, outside}},
		{"message after a session resets to 5", func(s *kftest.Server) {
			s.UserEnteredSession(openID)
			s.UserMessage(openID)
		}, []error{nil, nil, nil, nil, nil, usedUp}},
		{"session after a message resets to 2", func(s *kftest.Server) {
			s.UserMessage(openID)
			s.UserEnteredSession(openID)
		}, []error{nil, nil, usedUp}},
		{"other user", func(s *kftest.Server) { s.UserMessage(openID2) }, []error{badOpenID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newFake(t, nil)
			tc.act(s)
			var got []error
			for range tc.want {
				err := c.SendText(context.Background(), openID, "hi")
				noSecrets(t, err)
				got = append(got, err)
				s.Advance(time.Second)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestClientTyping(t *testing.T) {
	s, c := newFake(t, nil)
	ctx := context.Background()
	outside := &kf.Error{Code: kf.CodeOutsideWindow, Msg: "response out of time limit or subscription is canceled"}

	assert.Equal(t, &kf.Error{Code: 40003, Msg: "invalid openid"}, c.SetTyping(ctx, openID, true))
	s.UserEnteredSession(openID)
	assert.Equal(t, outside, c.SetTyping(ctx, openID, true), "entering the chat is not a message")
	s.UserMessage(openID)
	start := s.Now()
	require.NoError(t, c.SetTyping(ctx, openID, true))
	s.Advance(10 * time.Second)
	assert.Equal(t, outside, c.SetTyping(ctx, openID, true), "typing already")
	require.NoError(t, c.SetTyping(ctx, openID, false))
	require.NoError(t, c.SetTyping(ctx, openID, true))
	require.NoError(t, c.SendText(ctx, openID, "answer")) // cancels typing, and is a message
	require.NoError(t, c.SetTyping(ctx, openID, true))    // so typing is allowed again
	s.Advance(30 * time.Second)                           // 30 s after the answer
	assert.Equal(t, outside, c.SetTyping(ctx, openID, false))

	assert.Equal(t, []kftest.TypingEvent{
		{ToUser: openID, Command: "Typing", At: start},
		{ToUser: openID, Command: "CancelTyping", At: start.Add(10 * time.Second)},
		{ToUser: openID, Command: "Typing", At: start.Add(10 * time.Second)},
		{ToUser: openID, Command: "Typing", At: start.Add(10 * time.Second)},
	}, s.Typing())
}

// TestClientTokenRejected runs the retry on a token WeChat rejects against
// the fake.
func TestClientTokenRejected(t *testing.T) {
	ctx := context.Background()
	t.Run("expired tokens", func(t *testing.T) {
		s, c := newFake(t, nil)
		s.UserMessage(openID)
		require.NoError(t, c.SendText(ctx, openID, "one"))
		s.ExpireTokens()
		require.NoError(t, c.SendText(ctx, openID, "two"))
		assert.Equal(t, 2, s.TokenFetches())
		assert.Equal(t, 3, s.Calls(kftest.PathSend))
		assert.Equal(t, 0, s.ForceRefreshes())
		assert.Len(t, s.Sent(), 2)
	})
	t.Run("token WeChat still hands out", func(t *testing.T) {
		s, c := newFake(t, nil)
		s.UserMessage(openID)
		require.NoError(t, c.SendText(ctx, openID, "one"))
		s.InjectError(kftest.PathSend, 40001)
		require.NoError(t, c.SendText(ctx, openID, "two"))
		assert.Equal(t, 3, s.TokenFetches(), "the first, a normal refetch, a force refresh")
		assert.Equal(t, 1, s.ForceRefreshes())
		assert.Equal(t, 3, s.Calls(kftest.PathSend))
	})
	t.Run("rejected twice", func(t *testing.T) {
		s, c := newFake(t, nil)
		s.UserMessage(openID)
		s.InjectError(kftest.PathSend, 42001)
		s.InjectError(kftest.PathSend, 40014)
		err := c.SendText(ctx, openID, "one")
		assert.Equal(t, &kf.Error{Code: 40014, Msg: "kftest: injected error"}, err)
		noSecrets(t, err)
		assert.Equal(t, 2, s.Calls(kftest.PathSend), "no third attempt")
		assert.Empty(t, s.Sent())
	})
	t.Run("system busy is not retried", func(t *testing.T) {
		s, c := newFake(t, nil)
		s.UserMessage(openID)
		s.InjectError(kftest.PathSend, -1)
		err := c.SendText(ctx, openID, "one")
		assert.Equal(t, &kf.Error{Code: -1, Msg: "kftest: injected error"}, err)
		assert.EqualError(t, err, `kf: wechat api error -1: "kftest: injected error"`)
		assert.Equal(t, 1, s.Calls(kftest.PathSend))
	})
	t.Run("wrong secret", func(t *testing.T) {
		s, c := newFake(t, func(cfg *kf.Config) {
			cfg.Tokens = nil
			cfg.AppSecret = "wrong/secret+value"
		})
		addSecret("wrong/secret+value")
		err := c.SendText(ctx, openID, "one")
		assert.Equal(t, &kf.Error{Code: 40125, Msg: "invalid appsecret"}, err)
		noSecrets(t, err)
		assert.Equal(t, 0, s.Calls(kftest.PathSend))
	})
}

// TestClientRetryRaw checks the single retry against a raw server: which
// tokens are used and asked for.
func TestClientRetryRaw(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []string // per attempt
		err      error
		attempts []string // the token of each attempt
		asked    []string // the rejected argument of each Token call
	}{
		{"ok", []string{`{"errcode":0,"errmsg":"ok"}`}, nil, []string{rawToken1}, []string{""}},
		{"rejected once", []string{`{"errcode":40001,"errmsg":"invalid credential"}`, `{"errcode":0,"errmsg":"ok"}`},
			nil, []string{rawToken1, rawToken2}, []string{"", rawToken1}},
		{"rejected twice", []string{`{"errcode":42001,"errmsg":"access_token expired"}`, `{"errcode":40014,"errmsg":"invalid access_token"}`, `{"errcode":0}`},
			&kf.Error{Code: 40014, Msg: "invalid access_token"}, []string{rawToken1, rawToken2}, []string{"", rawToken1}},
		{"system busy", []string{`{"errcode":-1,"errmsg":"system error"}`, `{"errcode":0}`},
			&kf.Error{Code: -1, Msg: "system error"}, []string{rawToken1}, []string{""}},
		{"quota", []string{`{"errcode":45047,"errmsg":"out of response count limit"}`, `{"errcode":0}`},
			&kf.Error{Code: 45047, Msg: "out of response count limit"}, []string{rawToken1}, []string{""}},
		{"errmsg quoting the token", []string{`{"errcode":40003,"errmsg":"invalid openid for ` + rawToken1 + ` and ` + url.QueryEscape(rawToken1) + `"}`},
			&kf.Error{Code: 40003, Msg: "invalid openid for REDACTED and REDACTED"}, []string{rawToken1}, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, c, tokens := newRaw(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				io.WriteString(w, tc.answers[n-1])
			})
			err := c.SendText(context.Background(), openID, "hi")
			if tc.err == nil {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, tc.err, err)
			}
			noSecrets(t, err)
			var attempts []string
			for _, r := range rs.requests() {
				attempts = append(attempts, r.Token)
			}
			assert.Equal(t, tc.attempts, attempts)
			assert.Equal(t, tc.asked, tokens.calls())
		})
	}
}

// TestClientBadAnswers feeds every call garbage.
func TestClientBadAnswers(t *testing.T) {
	const path = "/cgi-bin/message/custom/send"
	for _, tc := range []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request, n int)
		err    string
	}{
		{"HTML from a proxy", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		}, "kf: bad response from wechat: " + path + ": answer is not a JSON object"},
		{"truncated JSON", answer(`{"errcode":0,"errm`),
			"kf: bad response from wechat: " + path + ": unexpected end of JSON input"},
		{"errcode as a string", answer(`{"errcode":"45015","errmsg":"x"}`),
			"kf: bad response from wechat: " + path + ": json: cannot unmarshal string into Go struct field Status.errcode of type int"},
		{"errmsg as a number", answer(`{"errcode":45015,"errmsg":1}`),
			"kf: bad response from wechat: " + path + ": json: cannot unmarshal number into Go struct field Status.errmsg of type string"},
		{"errcode as a float", answer(`{"errcode":1.5}`),
			"kf: bad response from wechat: " + path + ": json: cannot unmarshal number 1.5 into Go struct field Status.errcode of type int"},
		{"trailing garbage", answer(`{"errcode":0}{"errcode":0}`),
			"kf: bad response from wechat: " + path + ": invalid character '{' after top-level value"},
		{"null", answer(`null`), "kf: bad response from wechat: " + path + ": answer is not a JSON object"},
		{"array", answer(`[{"errcode":0}]`), "kf: bad response from wechat: " + path + ": answer is not a JSON object"},
		{"empty", answer(``), "kf: bad response from wechat: " + path + ": answer is not a JSON object"},
		{"too long", answer(`{"errcode":0,"errmsg":"` + strings.Repeat("a", 1<<20) + `"}`),
			"kf: bad response from wechat: " + path + ": answer longer than 1048576 bytes"},
		{"status 502 with a JSON body", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
		}, "kf: bad response from wechat: " + path + ": status 502"},
		{"redirect", func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, "http://attacker.example/", http.StatusFound)
		}, "kf: bad response from wechat: " + path + ": status 302"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, _ := newRaw(t, tc.handle)
			err := c.SendText(context.Background(), openID, "hi")
			assert.ErrorIs(t, err, kf.ErrBadResponse)
			assert.EqualError(t, err, tc.err)
			noSecrets(t, err)
		})
	}
}

func TestClientTransportErrors(t *testing.T) {
	const sendURL = "/cgi-bin/message/custom/send?access_token=REDACTED"
	t.Run("dropped connection", func(t *testing.T) {
		rs, c, _ := newRaw(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		})
		err := c.SendText(context.Background(), openID, "hi")
		var ue *url.Error
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, rs.URL+sendURL, ue.URL)
		assert.ErrorIs(t, err, io.EOF)
		assert.EqualError(t, err, `Post "`+rs.URL+sendURL+`": EOF`)
		noSecrets(t, err)
		assert.Len(t, rs.requests(), 1, "not retried")
	})
	t.Run("slow answer", func(t *testing.T) {
		stop := make(chan struct{})
		rs, c, _ := newRaw(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		})
		defer close(stop)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := c.SendText(ctx, openID, "hi")
		var ue *url.Error
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, rs.URL+sendURL, ue.URL)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		noSecrets(t, err)
	})
	t.Run("slow media", func(t *testing.T) {
		stop := make(chan struct{})
		rs, c, _ := newRaw(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(pngBytes[:10])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		})
		defer close(stop)
		// The headers and the first bytes come at once and the rest never:
		// the deadline falls on reading the body, with a second's margin
		// for a loaded machine to read the headers first.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var buf bytes.Buffer
		_, err := c.GetTempMedia(ctx, "MEDIA1", &buf)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotContains(t, err.Error(), rs.URL) // the body read error holds no URL
		noSecrets(t, err)
	})
	t.Run("cancelled before", func(t *testing.T) {
		rs, c, _ := newRaw(t, answer(`{"errcode":0}`))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := c.SendText(ctx, openID, "hi")
		assert.ErrorIs(t, err, context.Canceled)
		noSecrets(t, err)
		assert.Empty(t, rs.requests())
	})
	t.Run("nothing listening", func(t *testing.T) {
		rs, c, _ := newRaw(t, answer(`{}`))
		rs.Close()
		err := c.SendText(context.Background(), openID, "hi")
		var ue *url.Error
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, rs.URL+sendURL, ue.URL)
		noSecrets(t, err)
	})
}

func TestClientConcurrentSends(t *testing.T) {
	s, c := newFake(t, func(cfg *kf.Config) { cfg.Tokens = nil }) // the default token source
	const n = 100
	for i := range n {
		s.UserMessage(fmt.Sprintf("user-%d", i))
	}
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			errs[i] = c.SendText(context.Background(), fmt.Sprintf("user-%d", i), "hi")
		}()
	}
	start.Done()
	wg.Wait()
	assert.Equal(t, make([]error, n), errs)
	assert.Equal(t, 1, s.TokenFetches())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent, err := s.WaitSent(ctx, n)
	require.NoError(t, err)
	assert.Len(t, sent, n)
}

func TestClientMedia(t *testing.T) {
	ctx := context.Background()
	t.Run("round trip", func(t *testing.T) {
		s, c := newFake(t, nil)
		id, err := c.UploadTempMedia(ctx, "cat.png", bytes.NewReader(pngBytes))
		require.NoError(t, err)
		var buf bytes.Buffer
		ct, err := c.GetTempMedia(ctx, id, &buf)
		require.NoError(t, err)
		assert.Equal(t, "image/png", ct)
		assert.Equal(t, pngBytes, buf.Bytes())

		id2 := s.AddMedia([]byte("\xff\xd8\xff\xe0 a user's photo"), "image/jpeg")
		buf.Reset()
		ct, err = c.GetTempMedia(ctx, id2, &buf)
		require.NoError(t, err)
		assert.Equal(t, "image/jpeg", ct)
		assert.Equal(t, "\xff\xd8\xff\xe0 a user's photo", buf.String())
	})
	t.Run("unknown media id", func(t *testing.T) {
		_, c := newFake(t, nil)
		var buf bytes.Buffer
		ct, err := c.GetTempMedia(ctx, "nope", &buf)
		assert.Equal(t, &kf.Error{Code: 40007, Msg: "invalid media_id"}, err)
		noSecrets(t, err)
		assert.Equal(t, "", ct)
		assert.Zero(t, buf.Len())
	})
	t.Run("not an image", func(t *testing.T) {
		_, c := newFake(t, nil)
		_, err := c.UploadTempMedia(ctx, "a.txt", strings.NewReader("plain text"))
		assert.Equal(t, &kf.Error{Code: 40005, Msg: "invalid file type"}, err)
		noSecrets(t, err)
	})
	t.Run("expired token on upload and get", func(t *testing.T) {
		s, c := newFake(t, nil)
		id, err := c.UploadTempMedia(ctx, "cat.png", bytes.NewReader(pngBytes))
		require.NoError(t, err)
		s.ExpireTokens()
		id2, err := c.UploadTempMedia(ctx, "cat.png", bytes.NewReader(pngBytes))
		require.NoError(t, err)
		s.ExpireTokens()
		var buf bytes.Buffer
		_, err = c.GetTempMedia(ctx, id2, &buf)
		require.NoError(t, err)
		assert.Equal(t, pngBytes, buf.Bytes())
		assert.NotEqual(t, id, id2)
		assert.Equal(t, 3, s.TokenFetches())
	})
}

// TestClientUploadRetry checks that the one retry resends the whole file.
func TestClientUploadRetry(t *testing.T) {
	rs, c, _ := newRaw(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		io.WriteString(w, `{"errcode":0,"errmsg":"ok","type":"image","media_id":"MEDIA2"}`)
	})
	// A reader that gives a few bytes at a time.
	id, err := c.UploadTempMedia(context.Background(), "cat.png", io.MultiReader(bytes.NewReader(pngBytes[:20]), bytes.NewReader(pngBytes[20:60])))
	require.NoError(t, err)
	assert.Equal(t, "MEDIA2", id)
	reqs := rs.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, rawToken1, reqs[0].Token)
	assert.Equal(t, rawToken2, reqs[1].Token)
	assert.Equal(t, reqs[0].Body, reqs[1].Body)
	assert.Contains(t, reqs[1].Body, string(pngBytes[:60]))
}

func TestClientUploadErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		file     io.Reader
		answer   string
		err      string
		is       error
		requests int
	}{
		{"too large", bytes.NewReader(make([]byte, 65)), `{"media_id":"M"}`,
			"kf: media too large: /cgi-bin/media/upload: more than 64 bytes", kf.ErrMediaTooLarge, 0},
		{"reader fails", io.MultiReader(strings.NewReader("abc"), iotestErrReader{}), `{"media_id":"M"}`,
			"kf: /cgi-bin/media/upload: reading the file: disk on fire", errDisk, 0},
		{"no media_id", bytes.NewReader(pngBytes[:10]), `{"errcode":0,"errmsg":"ok"}`,
			"kf: bad response from wechat: /cgi-bin/media/upload: no media_id", kf.ErrBadResponse, 1},
		{"media_id a number", bytes.NewReader(pngBytes[:10]), `{"media_id":12}`,
			"kf: bad response from wechat: /cgi-bin/media/upload: json: cannot unmarshal number into Go struct field UploadAnswer.media_id of type string",
			kf.ErrBadResponse, 1},
		{"invalid media type", bytes.NewReader(pngBytes[:10]), `{"errcode":40004,"errmsg":"invalid media type"}`,
			`kf: wechat api error 40004: "invalid media type"`, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, c, tokens := newRaw(t, answer(tc.answer))
			id, err := c.UploadTempMedia(context.Background(), "f.png", tc.file)
			assert.Equal(t, "", id)
			assert.EqualError(t, err, tc.err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			noSecrets(t, err)
			assert.Len(t, rs.requests(), tc.requests)
			if tc.requests == 0 {
				assert.Empty(t, tokens.calls(), "no token fetched for a file never sent")
			}
		})
	}
}

var errDisk = errors.New("disk on fire")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errDisk }

// TestClientGetMediaAnswers feeds GetTempMedia every kind of answer; the
// client's MaxMediaBytes is 64.
func TestClientGetMediaAnswers(t *testing.T) {
	const path = "/cgi-bin/media/get"
	file := func(contentType string, body []byte, chunked bool) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", contentType)
			if chunked {
				w.(http.Flusher).Flush() // no Content-Length
			}
			w.Write(body)
		}
	}
	for _, tc := range []struct {
		name    string
		handle  func(http.ResponseWriter, *http.Request, int)
		ct      string
		written []byte
		err     string
		is      error
	}{
		{"file", file("image/jpeg", pngBytes[:64], false), "image/jpeg", pngBytes[:64], "", nil},
		{"file chunked", file("image/png", pngBytes[:64], true), "image/png", pngBytes[:64], "", nil},
		{"octet-stream", file("application/octet-stream", pngBytes[:5], false), "application/octet-stream", pngBytes[:5], "", nil},
		{"too large by Content-Length", file("image/png", pngBytes[:65], false), "", nil,
			"kf: media too large: " + path + ": 65 bytes, more than 64", kf.ErrMediaTooLarge},
		{"too large chunked", file("image/png", pngBytes[:65], true), "", pngBytes[:64],
			"kf: media too large: " + path + ": more than 64 bytes", kf.ErrMediaTooLarge},
		{"JSON error as text/plain", file("text/plain", []byte(`{"errcode":40007,"errmsg":"invalid media_id"}`), false), "", nil,
			`kf: wechat api error 40007: "invalid media_id"`, nil},
		{"JSON error after whitespace, labelled as an image", file("image/jpeg", []byte("\r\n  {\"errcode\":40007,\"errmsg\":\"invalid media_id\"}"), false), "", nil,
			`kf: wechat api error 40007: "invalid media_id"`, nil},
		{"JSON without errcode", file("application/json", []byte(`{"errmsg":"ok"}`), false), "", nil,
			"kf: bad response from wechat: " + path + ": a JSON answer without an errcode", kf.ErrBadResponse},
		{"truncated JSON", file("text/plain", []byte(`{"errcode":400`), false), "", nil,
			"kf: bad response from wechat: " + path + ": unexpected end of JSON input", kf.ErrBadResponse},
		{"HTML", file("text/html; charset=utf-8", []byte("<html>login to the proxy</html>"), false), "", nil,
			"kf: bad response from wechat: " + path + `: answer labelled "text/html" is not a file`, kf.ErrBadResponse},
		{"empty", file("image/png", nil, false), "", nil,
			"kf: bad response from wechat: " + path + ": empty answer", kf.ErrBadResponse},
		{"status 404", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "image/png")
			w.WriteHeader(http.StatusNotFound)
			w.Write(pngBytes[:10])
		}, "", nil, "kf: bad response from wechat: " + path + ": status 404", kf.ErrBadResponse},
		{"truncated file", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "image/png")
			w.Header().Set("Content-Length", "60")
			w.Write(pngBytes[:30])
		}, "", nil, "kf: " + path + ": reading the answer: unexpected EOF", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, c, _ := newRaw(t, tc.handle)
			var buf bytes.Buffer
			ct, err := c.GetTempMedia(context.Background(), "MEDIA1", &buf)
			assert.Equal(t, tc.ct, ct)
			assert.Equal(t, tc.written, buf.Bytes())
			if tc.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tc.err)
			}
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			noSecrets(t, err)
			reqs := rs.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, rawRequest{"GET", path, rawToken1, "", url.Values{"media_id": {"MEDIA1"}}, ""}, reqs[0])
		})
	}
}

func TestClientGetMediaRetry(t *testing.T) {
	rs, c, _ := newRaw(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, `{"errcode":42001,"errmsg":"access_token expired"}`)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes[:40])
	})
	var buf bytes.Buffer
	ct, err := c.GetTempMedia(context.Background(), "MEDIA1", &buf)
	require.NoError(t, err)
	assert.Equal(t, "image/png", ct)
	assert.Equal(t, pngBytes[:40], buf.Bytes(), "the error body is not written")
	assert.Len(t, rs.requests(), 2)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDisk }

func TestClientGetMediaWriterFails(t *testing.T) {
	_, c, _ := newRaw(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes[:40])
	})
	ct, err := c.GetTempMedia(context.Background(), "MEDIA1", failingWriter{})
	assert.Equal(t, "", ct)
	assert.ErrorIs(t, err, errDisk)
	assert.EqualError(t, err, "kf: /cgi-bin/media/get: writing the file: disk on fire")
}

// errTokens is a TokenSource that fails.
type errTokens struct{ err error }

func (e errTokens) Token(context.Context, string) (string, error) { return "", e.err }

func TestClientTokenSourceErrors(t *testing.T) {
	rs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("no request expected")
	}))
	defer rs.Close()
	for _, tc := range []struct {
		name string
		src  kf.TokenSource
		err  string
	}{
		{"fails", errTokens{errDisk}, "disk on fire"},
		{"empty token", errTokens{nil}, "kf: the TokenSource returned an empty token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kf.NewClient(kf.Config{AppID: testAppID, Tokens: tc.src, BaseURL: rs.URL})
			require.NoError(t, err)
			assert.EqualError(t, c.SendText(context.Background(), openID, "hi"), tc.err)
			_, err = c.AccessToken(context.Background())
			assert.EqualError(t, err, tc.err)
		})
	}
}

// TestError checks the text and matching of an Error.
func TestError(t *testing.T) {
	var err error = fmt.Errorf("sending: %w", &kf.Error{Code: 45015, Msg: `response out of time limit "rid: 1"`})
	assert.EqualError(t, err, `sending: kf: wechat api error 45015: "response out of time limit \"rid: 1\""`)
	var apiErr *kf.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, kf.CodeOutsideWindow, apiErr.Code)
}

func TestErrorPermanent(t *testing.T) {
	for _, tc := range []struct {
		code int
		want bool
	}{
		{kf.CodeOutsideWindow, true},
		{kf.CodeQuotaUsedUp, true},
		{kf.CodeInvalidOpenID, true},
		{kf.CodeInvalidMediaID, true},
		{kf.CodeContentTooLong, true},
		{44004, true}, // empty content
		{47001, true}, // data format error
		{kf.CodeSystemBusy, false},
		{kf.CodeInvalidCredential, false},
		{kf.CodeAccessTokenExpired, false},
		{kf.CodeMinuteLimit, false},
		{kf.CodeDailyLimit, false},
		{99999, false}, // unknown: retrying may help
	} {
		err := fmt.Errorf("job: %w", &kf.Error{Code: tc.code})
		var p interface{ Permanent() bool }
		require.ErrorAs(t, err, &p, "code %d", tc.code)
		assert.Equal(t, tc.want, p.Permanent(), "code %d", tc.code)
	}
}

// sameToken is a TokenSource that breaks its contract: it answers the
// rejected token again.
type sameToken struct{}

func (sameToken) Token(context.Context, string) (string, error) { return rawToken1, nil }

func TestClientTokenSourceReturnsRejected(t *testing.T) {
	rs, _, _ := newRaw(t, answer(`{"errcode":40001,"errmsg":"invalid credential"}`))
	c, err := kf.NewClient(kf.Config{AppID: testAppID, Tokens: sameToken{}, BaseURL: rs.URL})
	require.NoError(t, err)
	err = c.SendText(context.Background(), openID, "hi")
	assert.Equal(t, &kf.Error{Code: 40001, Msg: "invalid credential"}, err)
	assert.Len(t, rs.requests(), 1, "no retry with the same token")
}

func TestClientUploadFilename(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cat.png", "cat.png"},
		{"", "media"},
		{"../../etc/passwd", "passwd"},
		{`C:\photos\cat.png`, "cat.png"},
		{"a\r\nX-Evil: 1\r\n.png", "aX-Evil: 1.png"},
		{"..", "media"},
		{"猫.png", "猫.png"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			rs, c, _ := newRaw(t, answer(`{"media_id":"M"}`))
			_, err := c.UploadTempMedia(context.Background(), tc.in, bytes.NewReader(pngBytes[:20]))
			require.NoError(t, err)
			r := rs.requests()[0]
			_, params, err := mime.ParseMediaType(r.ContentType)
			require.NoError(t, err)
			part, err := multipart.NewReader(strings.NewReader(r.Body), params["boundary"]).NextPart()
			require.NoError(t, err)
			assert.Equal(t, tc.want, part.FileName())
			assert.Equal(t, "image/png", part.Header.Get("Content-Type"))
		})
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestClientRedactsTransportErrors: a transport whose own error quotes the
// URL (a proxy's, say) does not leak the token through the Client's error.
func TestClientRedactsTransportErrors(t *testing.T) {
	errProxy := errors.New("proxy refused")
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("%w: %s", errProxy, r.URL)
	})}
	c, err := kf.NewClient(kf.Config{AppID: testAppID, Tokens: newTokenList(), BaseURL: "https://api.example", HTTPClient: hc})
	require.NoError(t, err)
	err = c.SendText(context.Background(), openID, "hi")
	const u = "https://api.example/cgi-bin/message/custom/send?access_token=REDACTED"
	assert.EqualError(t, err, `Post "`+u+`": proxy refused: `+u)
	assert.ErrorIs(t, err, errProxy)
	var ue *url.Error
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, u, ue.URL)
}

// cancellingReader cancels a context on its first read, and then reads on.
type cancellingReader struct {
	cancel context.CancelFunc
	r      io.Reader
}

func (c cancellingReader) Read(p []byte) (int, error) {
	c.cancel()
	return c.r.Read(p[:1])
}

// TestClientUploadHonoursCtx: a file still being read when ctx ends is not
// read on, and nothing is sent.
func TestClientUploadHonoursCtx(t *testing.T) {
	api, c := newFake(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.UploadTempMedia(ctx, "cat.png", cancellingReader{cancel, bytes.NewReader(pngBytes)})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, api.Calls(kftest.PathUpload))
}
