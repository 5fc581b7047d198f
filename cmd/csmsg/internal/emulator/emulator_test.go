package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
	"github.com/csmsg/csmsg/kf/kftest"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "emulator-test-secret"
	testUser   = "oUser"
)

// syncBuffer is a log safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		delete(v, "time")
		lines = append(lines, v)
	}
	return lines
}

// newTestEmulator serves an Emulator whose pushes are all answered
// "success" at once.
func newTestEmulator(t *testing.T) (*Emulator, *httptest.Server, *syncBuffer) {
	log := &syncBuffer{}
	em := New(context.Background(), Config{
		Deliver: func(_ context.Context, _ []byte, report func(deliver.Attempt)) {
			report(deliver.Attempt{Attempt: 1, OK: true, Status: 200, Answer: "success"})
		},
		Endpoint: "http://bot.example/wechat", Mode: "plain", Format: csmsg.FormatJSON,
		AppID: testAppID, Secret: testSecret, User: testUser, BotID: "gh_bot",
		Base: "http://emulator.example/", Log: log,
		SessionFrom: "from", CardTitle: "card", CardPagePath: "pages/index",
		NewMsgID: func() string { return "6054768590064713728" },
	})
	srv := httptest.NewServer(em.Handler())
	t.Cleanup(func() {
		srv.Close()
		em.Close()
	})
	return em, srv, log
}

// botCall makes a call of the bot to the emulator's API.
func botCall(t *testing.T, srv *httptest.Server, em *Emulator, path, body string) {
	t.Helper()
	resp, err := http.Post(srv.URL+path+"?"+url.Values{"access_token": {em.api.AccessToken()}}.Encode(), "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
}

func TestObserveCalls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inject  int
		path    string
		body    string
		want    Entry
		logLine map[string]any
	}{
		{"send", 0, kftest.PathSend, `{"touser":"oUser","msgtype":"text","text":{"content":"hi"}}`,
			Entry{From: "bot", Kind: "text", Text: "hi", Window: "4 of 5 replies left"},
			map[string]any{"type": "api", "method": "POST", "path": kftest.PathSend, "status": 200.0, "errcode": 0.0, "errmsg": "ok", "msgtype": "text", "touser": testUser}},
		{"injected send", -1, kftest.PathSend, `{"touser":"oUser","msgtype":"link","link":{"title":"Shop"}}`,
			Entry{From: "bot", Kind: "error", Call: "message/custom/send", Code: -1, Text: "kftest: injected error",
				Hint: "WeChat is busy: a send may or may not have reached the user", Title: "tried to send link: Shop"},
			map[string]any{"type": "api", "method": "POST", "path": kftest.PathSend, "status": 200.0, "errcode": -1.0, "errmsg": "kftest: injected error", "msgtype": "link", "touser": testUser}},
		{"typing", 0, kftest.PathTyping, `{"touser":"oUser","command":"Typing"}`,
			Entry{From: "bot", Kind: "typing", Text: "Typing"},
			map[string]any{"type": "api", "method": "POST", "path": kftest.PathTyping, "status": 200.0, "errcode": 0.0, "errmsg": "ok", "command": "Typing", "touser": testUser}},
		{"typing again", 0, kftest.PathTyping, `{"touser":"oUser","command":"Typing"}`,
			Entry{From: "bot", Kind: "error", Call: "message/custom/typing", Code: 45015, Text: "response out of time limit or subscription is canceled",
				Hint: "outside the reply window: the user must write again", Title: "tried to set Typing"},
			map[string]any{"type": "api", "method": "POST", "path": kftest.PathTyping, "status": 200.0, "errcode": 45015.0,
				"errmsg": "response out of time limit or subscription is canceled", "command": "Typing", "touser": testUser}},
		{"unknown path", 0, "/cgi-bin/message/template/send", `{}`,
			Entry{From: "bot", Kind: "error", Call: "message/template/send", Text: "status 404",
				Hint: "this emulator serves stable_token, message/custom/send and typing, media/upload and media/get"},
			map[string]any{"type": "api", "method": "POST", "path": "/cgi-bin/message/template/send", "status": 404.0, "errcode": 0.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			em, srv, log := newTestEmulator(t)
			em.api.UserMessage(testUser)
			if tc.name == "typing again" {
				botCall(t, srv, em, kftest.PathTyping, tc.body)
			}
			if tc.inject != 0 {
				em.api.InjectError(tc.path, tc.inject)
			}
			botCall(t, srv, em, tc.path, tc.body)
			c := em.snapshot()
			require.NotEmpty(t, c.Entries)
			got := *c.Entries[len(c.Entries)-1]
			got.ID, got.Time = 0, time.Time{}
			assert.Equal(t, tc.want, got)
			lines := log.lines(t)
			assert.Equal(t, tc.logLine, lines[len(lines)-1])
		})
	}
}

func TestClockAndWindow(t *testing.T) {
	em, srv, _ := newTestEmulator(t)
	resp, err := http.Post(srv.URL+"/api/enter", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	em.Close() // the push is delivered
	c := em.snapshot()
	assert.Equal(t, "enter", c.Window.Cause)
	assert.Equal(t, 2, c.Window.Left)
	assert.True(t, c.Window.Open)
	assert.Equal(t, "", c.Skew)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, &Delivery{State: "ok", Format: "json", Mode: "plain",
		Attempts: []deliver.Attempt{{Attempt: 1, OK: true, Status: 200, Answer: "success"}}}, c.Entries[0].Delivery)

	resp, err = http.Post(srv.URL+"/api/advance", "application/json", strings.NewReader(`{"seconds":61}`))
	require.NoError(t, err)
	resp.Body.Close()
	c = em.snapshot()
	assert.False(t, c.Window.Open, "the fake reads the emulator's clock")
	assert.Equal(t, "1m1s", c.Skew)
	assert.WithinDuration(t, time.Now().Add(61*time.Second), em.api.Now(), 5*time.Second)
}

func TestServeMedia(t *testing.T) {
	em, srv, _ := newTestEmulator(t)
	for _, tc := range []struct {
		name, id    string
		status      int
		contentType string
		body        []byte
	}{
		{"the card cover", em.thumb, 200, "image/png", coverPNG()},
		{"unknown", "nope", 404, "text/plain; charset=utf-8", []byte("404 page not found\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/media/" + url.PathEscape(tc.id))
			require.NoError(t, err)
			defer resp.Body.Close()
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			assert.Equal(t, []any{tc.status, tc.contentType, tc.body}, []any{resp.StatusCode, resp.Header.Get("Content-Type"), b.Bytes()})
		})
	}
	assert.Equal(t, 0, em.api.Calls(kftest.PathGetMedia), "the page's media are not API calls")
}

// TestRecovered: a token error counts as recovered once a call of the same
// kind succeeds; other errors, and token errors of other calls, stay.
func TestRecovered(t *testing.T) {
	const send = `{"touser":"oUser","msgtype":"text","text":{"content":"hi"}}`
	for _, tc := range []struct {
		name   string
		inject int
		first  string // the path of the refused call
		then   string // the path of the call that succeeds
		want   bool
	}{
		{"42001 then send", 42001, kftest.PathSend, kftest.PathSend, true},
		{"40001 then send", 40001, kftest.PathSend, kftest.PathSend, true},
		{"40014 then send", 40014, kftest.PathSend, kftest.PathSend, true},
		{"42001 then another call", 42001, kftest.PathSend, kftest.PathTyping, false},
		{"busy then send", -1, kftest.PathSend, kftest.PathSend, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			em, srv, _ := newTestEmulator(t)
			em.api.UserMessage(testUser)
			em.api.InjectError(tc.first, tc.inject)
			botCall(t, srv, em, tc.first, send)
			body := send
			if tc.then == kftest.PathTyping {
				body = `{"touser":"oUser","command":"Typing"}`
			}
			botCall(t, srv, em, tc.then, body)
			c := em.snapshot()
			require.Len(t, c.Entries, 2)
			assert.Equal(t, "error", c.Entries[0].Kind)
			assert.Equal(t, tc.inject, c.Entries[0].Code)
			assert.Equal(t, tc.want, c.Entries[0].Recovered)
			assert.False(t, c.Entries[1].Recovered)
		})
	}
}
