package kftest_test

import (
	"bytes"
	"context"
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

// serve makes a request to h, mounted without a listener, and returns the
// answer's body.
func serve(h http.Handler, method, path string, query url.Values, body string) string {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path+"?"+query.Encode(), strings.NewReader(body)))
	return w.Body.String()
}

func TestOnCall(t *testing.T) {
	h := kftest.NewHandler(appID, secret)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h.SetNow(at)
	var mu sync.Mutex
	var calls []kftest.Call
	h.OnCall(func(c kftest.Call) {
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	})
	h.UserEnteredSession(user)
	token := url.Values{"access_token": {h.AccessToken()}}
	thumb := h.AddMedia(png, "image/png")
	card := kf.MiniProgramCard{Title: "T", PagePath: "pages/a", ThumbMediaID: thumb}
	windowAfter := func(left int, last time.Time, typing time.Time) *kftest.Window {
		return &kftest.Window{Cause: kftest.CauseEnter, End: at.Add(kftest.SessionWindow), Left: left, Quota: kftest.SessionQuota,
			LastExchange: last, TypingUntil: typing}
	}
	for _, tc := range []struct {
		name         string
		method, path string
		query        url.Values
		body, answer string
		inject       int
		want         kftest.Call
	}{
		{"text", "POST", kftest.PathSend, token, text(user, "hi"), `{"errcode":0,"errmsg":"ok"}` + "\n", 0,
			kftest.Call{Status: 200, ErrMsg: "ok", Send: &kftest.SentMessage{ToUser: user, MsgType: "text", Text: "hi"}, Window: windowAfter(1, at, time.Time{})}},
		{"typing", "POST", kftest.PathTyping, token, `{"touser":"` + user + `","command":"Typing"}`, `{"errcode":0,"errmsg":"ok"}` + "\n", 0,
			kftest.Call{Status: 200, ErrMsg: "ok", Typing: &kftest.TypingEvent{ToUser: user, Command: "Typing", At: at}, Window: windowAfter(1, at, at.Add(kftest.TypingDuration))}},
		{"card", "POST", kftest.PathSend, token, `{"touser":"` + user + `","msgtype":"miniprogrampage","miniprogrampage":{"title":"T","pagepath":"pages/a","thumb_media_id":"` + thumb + `"}}`,
			`{"errcode":0,"errmsg":"ok"}` + "\n", 0,
			kftest.Call{Status: 200, ErrMsg: "ok", Send: &kftest.SentMessage{ToUser: user, MsgType: "miniprogrampage", Card: card}, Window: windowAfter(0, at, time.Time{})}},
		{"quota used up", "POST", kftest.PathSend, token, text(user, "third"), `{"errcode":45047,"errmsg":"out of response count limit"}` + "\n", 0,
			kftest.Call{Status: 200, ErrCode: 45047, ErrMsg: "out of response count limit",
				Send: &kftest.SentMessage{ToUser: user, MsgType: "text", Text: "third"}, Window: windowAfter(0, at, time.Time{})}},
		{"undeclared user", "POST", kftest.PathSend, token, text("nobody", "hi"), `{"errcode":40003,"errmsg":"invalid openid"}` + "\n", 0,
			kftest.Call{Status: 200, ErrCode: 40003, ErrMsg: "invalid openid", Send: &kftest.SentMessage{ToUser: "nobody", MsgType: "text", Text: "hi"}}},
		{"not JSON", "POST", kftest.PathSend, token, `hi`, `{"errcode":47001,"errmsg":"data format error"}` + "\n", 0,
			kftest.Call{Status: 200, ErrCode: 47001, ErrMsg: "data format error"}},
		{"injected", "POST", kftest.PathSend, token, text(user, "busy"), `{"errcode":-1,"errmsg":"kftest: injected error"}` + "\n", -1,
			kftest.Call{Status: 200, ErrCode: -1, ErrMsg: "kftest: injected error", Send: &kftest.SentMessage{ToUser: user, MsgType: "text", Text: "busy"}}},
		{"injected typing", "POST", kftest.PathTyping, token, `{"touser":"` + user + `","command":"CancelTyping"}`, `{"errcode":-1,"errmsg":"kftest: injected error"}` + "\n", -1,
			kftest.Call{Status: 200, ErrCode: -1, ErrMsg: "kftest: injected error", Typing: &kftest.TypingEvent{ToUser: user, Command: "CancelTyping"}}},
		{"media", "GET", kftest.PathGetMedia, url.Values{"access_token": token["access_token"], "media_id": {thumb}}, "", string(png), 0,
			kftest.Call{Status: 200, MediaID: thumb}},
		{"legacy token", "GET", kftest.PathToken, nil, "",
			`{"errcode":48001,"errmsg":"api unauthorized: kftest serves /cgi-bin/stable_token, not /cgi-bin/token"}` + "\n", 0,
			kftest.Call{Status: 200, ErrCode: 48001, ErrMsg: "api unauthorized: kftest serves /cgi-bin/stable_token, not /cgi-bin/token"}},
		{"unknown path", "POST", "/cgi-bin/nope", token, "", "404 page not found\n", 0, kftest.Call{Status: 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.inject != 0 {
				h.InjectError(tc.path, tc.inject)
			}
			mu.Lock()
			calls = nil
			mu.Unlock()
			assert.Equal(t, tc.answer, serve(h, tc.method, tc.path, tc.query, tc.body))
			want := tc.want
			want.Method, want.Path, want.At = tc.method, tc.path, at
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []kftest.Call{want}, calls)
		})
	}
}

func TestWindow(t *testing.T) {
	h := kftest.NewHandler(appID, secret)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h.SetNow(at)
	w, ok := h.Window(user)
	assert.False(t, ok)
	assert.Equal(t, kftest.Window{}, w)
	assert.False(t, w.Open(at))

	h.UserMessage(user)
	w, ok = h.Window(user)
	assert.True(t, ok)
	assert.Equal(t, kftest.Window{Cause: kftest.CauseMessage, End: at.Add(kftest.MessageWindow), Left: 5, Quota: 5, LastExchange: at}, w)
	assert.True(t, w.Open(at))
	assert.False(t, w.Open(at.Add(kftest.MessageWindow)))
	assert.False(t, w.Typing(at))

	serve(h, "POST", kftest.PathTyping, url.Values{"access_token": {h.AccessToken()}}, `{"touser":"`+user+`","command":"Typing"}`)
	w, _ = h.Window(user)
	assert.True(t, w.Typing(at))
	assert.False(t, w.Typing(at.Add(kftest.TypingDuration)))
}

func TestSetClock(t *testing.T) {
	h := kftest.NewHandler(appID, secret)
	live := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	h.SetClock(func() time.Time { return live })
	assert.Equal(t, live, h.Now())
	live = live.Add(time.Minute)
	assert.Equal(t, live, h.Now(), "the Handler reads the live clock")
	h.Advance(time.Hour)
	assert.Equal(t, live.Add(time.Hour), h.Now(), "Advance moves from the live clock's reading")
	live = live.Add(time.Minute)
	assert.Equal(t, live.Add(time.Hour-time.Minute), h.Now(), "and stops it")

	h.SetClock(func() time.Time { return live })
	h.SetClock(nil)
	assert.Equal(t, live, h.Now(), "nil keeps the last reading")
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h.SetClock(func() time.Time { return live })
	h.SetNow(at)
	assert.Equal(t, at, h.Now())
}

func TestMediaHook(t *testing.T) {
	h := kftest.NewHandler(appID, secret)
	id := h.AddMedia(png, "image/png")
	data, contentType, ok := h.Media(id)
	assert.True(t, ok)
	assert.Equal(t, png, data)
	assert.Equal(t, "image/png", contentType)

	_, _, ok = h.Media("nope")
	assert.False(t, ok)
	h.Advance(kftest.MediaTTL)
	data, contentType, ok = h.Media(id)
	assert.Equal(t, []any{[]byte(nil), "", false}, []any{data, contentType, ok}, "expired after 3 days")
}

func TestServerMountsHandler(t *testing.T) {
	s := kftest.NewServer(appID, secret)
	defer s.Close()
	s.UserMessage(user)
	c, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: s.URL})
	require.NoError(t, err)
	require.NoError(t, c.SendText(context.Background(), user, "hi"))
	var buf bytes.Buffer
	_, err = c.GetTempMedia(context.Background(), s.AddMedia(png, "image/png"), &buf)
	require.NoError(t, err)
	assert.Equal(t, png, buf.Bytes())
	assert.Equal(t, []kftest.SentMessage{{ToUser: user, MsgType: "text", Text: "hi", At: s.Handler.Now()}}, s.Sent())
}
