package kftest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
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
	appID  = "wx0123456789abcdef"
	secret = "the-app-secret"
	user   = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
)

var png = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{1}, 50)...)

// status is a JSON answer of the fake.
type status struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	MediaID     string `json:"media_id"`
	Type        string `json:"type"`
	CreatedAt   int64  `json:"created_at"`
}

// do makes a request to the fake and decodes its JSON answer.
func do(t *testing.T, s *kftest.Server, method, path string, query url.Values, contentType, body string) status {
	t.Helper()
	u := s.URL + path
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st status
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st
}

func fetchToken(t *testing.T, s *kftest.Server, force bool) status {
	t.Helper()
	return do(t, s, "POST", kftest.PathStableToken, nil, "application/json",
		fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q,"force_refresh":%t}`, appID, secret, force))
}

func send(t *testing.T, s *kftest.Server, token, body string) status {
	t.Helper()
	return do(t, s, "POST", kftest.PathSend, url.Values{"access_token": {token}}, "application/json", body)
}

func text(to, content string) string {
	return fmt.Sprintf(`{"touser":%q,"msgtype":"text","text":{"content":%q}}`, to, content)
}

func errStatus(code int, msg string) status { return status{ErrCode: code, ErrMsg: msg} }

var ok = errStatus(0, "ok")

func newServer(t *testing.T) *kftest.Server {
	s := kftest.NewServer(appID, secret)
	t.Cleanup(s.Close)
	return s
}

func TestTokens(t *testing.T) {
	s := newServer(t)
	first := fetchToken(t, s, false)
	require.NotEmpty(t, first.AccessToken)
	assert.Equal(t, status{AccessToken: first.AccessToken, ExpiresIn: 7200}, first)
	assert.Equal(t, first.AccessToken, s.AccessToken())

	s.Advance(200 * time.Second)
	assert.Equal(t, status{AccessToken: first.AccessToken, ExpiresIn: 7000}, fetchToken(t, s, false), "the same token, with its time left")

	s.UserMessage(user)
	assert.Equal(t, ok, send(t, s, first.AccessToken, text(user, "hi")))

	s.Advance(7000 * time.Second)
	assert.Equal(t, errStatus(42001, "access_token expired"), send(t, s, first.AccessToken, text(user, "hi")))
	second := fetchToken(t, s, false)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
	assert.Equal(t, int64(7200), second.ExpiresIn)

	forced := fetchToken(t, s, true)
	assert.NotEqual(t, second.AccessToken, forced.AccessToken)
	assert.Equal(t, errStatus(40001, "invalid credential, access_token is invalid or not latest"), send(t, s, second.AccessToken, text(user, "hi")),
		"force_refresh revokes the previous token")
	assert.Equal(t, ok, send(t, s, forced.AccessToken, text(user, "hi")))

	s.ExpireTokens()
	assert.Equal(t, errStatus(42001, "access_token expired"), send(t, s, forced.AccessToken, text(user, "hi")))
	assert.NotEqual(t, forced.AccessToken, fetchToken(t, s, false).AccessToken)

	assert.Equal(t, errStatus(41001, "access_token missing"), do(t, s, "POST", kftest.PathSend, nil, "", text(user, "hi")))
	assert.Equal(t, errStatus(40001, "invalid credential, access_token is invalid or not latest"), send(t, s, "made-up", text(user, "hi")))

	assert.Equal(t, 5, s.TokenFetches())
	assert.Equal(t, 1, s.ForceRefreshes())
}

func TestClock(t *testing.T) {
	s := newServer(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetNow(at)
	assert.Equal(t, at, s.Now())
	s.Advance(time.Hour)
	assert.Equal(t, at.Add(time.Hour), s.Now())
	s.UserMessage(user)
	send(t, s, s.AccessToken(), text(user, "hi"))
	assert.Equal(t, []kftest.SentMessage{{ToUser: user, MsgType: "text", Text: "hi", At: at.Add(time.Hour)}}, s.Sent())
}

func TestTokenTTL(t *testing.T) {
	s := newServer(t)
	s.SetTokenTTL(time.Minute)
	first := fetchToken(t, s, false)
	assert.Equal(t, int64(60), first.ExpiresIn)
	s.Advance(59 * time.Second)
	assert.Equal(t, status{AccessToken: first.AccessToken, ExpiresIn: 1}, fetchToken(t, s, false))
	s.Advance(time.Second)
	assert.NotEqual(t, first.AccessToken, fetchToken(t, s, false).AccessToken)
}

func TestTokenRequests(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		name, method, body string
		want               status
	}{
		{"wrong secret", "POST", `{"grant_type":"client_credential","appid":"` + appID + `","secret":"nope"}`, errStatus(40125, "invalid appsecret")},
		{"no secret", "POST", `{"grant_type":"client_credential","appid":"` + appID + `"}`, errStatus(41004, "appsecret missing")},
		{"wrong appid", "POST", `{"grant_type":"client_credential","appid":"wx1","secret":"` + secret + `"}`, errStatus(40013, "invalid appid")},
		{"no appid", "POST", `{"grant_type":"client_credential","secret":"` + secret + `"}`, errStatus(41002, "appid missing")},
		{"grant type", "POST", `{"grant_type":"password","appid":"` + appID + `","secret":"` + secret + `"}`, errStatus(40002, "invalid grant_type")},
		{"malformed", "POST", `{"grant_type":`, errStatus(47001, "data format error")},
		{"GET", "GET", ``, errStatus(43002, "require POST method")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, do(t, s, tc.method, kftest.PathStableToken, nil, "application/json", tc.body))
		})
	}
	assert.Equal(t, 0, s.ForceRefreshes())

	legacy := do(t, s, "GET", kftest.PathToken, url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {secret}}, "", "")
	assert.Equal(t, 48001, legacy.ErrCode)
	assert.Equal(t, 1, s.Calls(kftest.PathToken))
}

func TestReplyWindow(t *testing.T) {
	outside := errStatus(45015, "response out of time limit or subscription is canceled")
	usedUp := errStatus(45047, "out of response count limit")
	for _, tc := range []struct {
		name  string
		steps func(s *kftest.Server)
		want  []status // a send a second apart each
	}{
		{"unknown user", func(*kftest.Server) {}, []status{errStatus(40003, "invalid openid")}},
		{"message", func(s *kftest.Server) { s.UserMessage(user) }, []status{ok, ok, ok, ok, ok, usedUp}},
		{"message, 47 h later", func(s *kftest.Server) { s.UserMessage(user); s.Advance(47 * time.Hour) }, []status{ok, ok}},
		{"message, 48 h later", func(s *kftest.Server) { s.UserMessage(user); s.Advance(48 * time.Hour) }, []status{outside}},
		{"session", func(s *kftest.Server) { s.UserEnteredSession(user) }, []status{ok, ok, usedUp}},
		{"session, 1 min later", func(s *kftest.Server) { s.UserEnteredSession(user); s.Advance(time.Minute) }, []status{outside}},
		{"message resets the quota", func(s *kftest.Server) {
			s.UserMessage(user)
			send(t, s, s.AccessToken(), text(user, "1"))
			send(t, s, s.AccessToken(), text(user, "2"))
			s.UserMessage(user)
		}, []status{ok, ok, ok, ok, ok, usedUp}},
		{"quotas do not add up", func(s *kftest.Server) {
			s.UserMessage(user)
			s.UserEnteredSession(user)
		}, []status{ok, ok, usedUp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			tc.steps(s)
			before := len(s.Sent())
			var got []status
			for range tc.want {
				got = append(got, send(t, s, s.AccessToken(), text(user, "x")))
				s.Advance(time.Second)
			}
			assert.Equal(t, tc.want, got)
			okCount := 0
			for _, st := range tc.want {
				if st == ok {
					okCount++
				}
			}
			assert.Len(t, s.Sent(), before+okCount)
		})
	}
}

func TestSendValidation(t *testing.T) {
	s := newServer(t)
	s.UserMessage(user)
	media := s.AddMedia(png, "image/png")
	for _, tc := range []struct {
		name, body string
		want       status
	}{
		{"unknown msgtype", `{"touser":"` + user + `","msgtype":"voice","voice":{"media_id":"x"}}`, errStatus(40008, "invalid message type")},
		{"no msgtype", `{"touser":"` + user + `","text":{"content":"hi"}}`, errStatus(40008, "invalid message type")},
		{"malformed", `{"touser":"` + user + `","msgtype":"text",`, errStatus(47001, "data format error")},
		{"not an object", `["text"]`, errStatus(47001, "data format error")},
		{"wrong type", `{"touser":"` + user + `","msgtype":"text","text":{"content":1}}`, errStatus(47001, "data format error")},
		{"no text", `{"touser":"` + user + `","msgtype":"text"}`, errStatus(47001, "data format error")},
		{"empty text", text(user, ""), errStatus(44004, "empty content")},
		{"long text", text(user, strings.Repeat("长", 683)), errStatus(45002, "content size out of limit")},
		{"unknown image", `{"touser":"` + user + `","msgtype":"image","image":{"media_id":"nope"}}`, errStatus(40007, "invalid media_id")},
		{"unknown thumb", `{"touser":"` + user + `","msgtype":"miniprogrampage","miniprogrampage":{"title":"t","pagepath":"p","thumb_media_id":"nope"}}`,
			errStatus(40007, "invalid media_id")},
		{"no touser", `{"msgtype":"text","text":{"content":"hi"}}`, errStatus(40003, "invalid openid")},
		{"image", `{"touser":"` + user + `","msgtype":"image","image":{"media_id":"` + media + `"}}`, ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, send(t, s, s.AccessToken(), tc.body))
		})
	}
	assert.Equal(t, []kftest.SentMessage{{ToUser: user, MsgType: "image", MediaID: media, At: s.Now()}}, s.Sent())

	s.Advance(kftest.MediaTTL)
	assert.Equal(t, errStatus(40007, "invalid media_id"),
		send(t, s, s.AccessToken(), `{"touser":"`+user+`","msgtype":"image","image":{"media_id":"`+media+`"}}`), "expired after 3 days")
}

func TestTypingRules(t *testing.T) {
	s := newServer(t)
	typing := func(command string) status {
		return do(t, s, "POST", kftest.PathTyping, url.Values{"access_token": {s.AccessToken()}}, "application/json",
			`{"touser":"`+user+`","command":"`+command+`"}`)
	}
	outside := errStatus(45015, "response out of time limit or subscription is canceled")
	assert.Equal(t, errStatus(40003, "invalid openid"), typing("Typing"))
	s.UserMessage(user)
	t0 := s.Now()
	assert.Equal(t, ok, typing("Typing"))
	assert.Equal(t, outside, typing("Typing"), "still typing")
	s.Advance(kftest.TypingDuration)
	assert.Equal(t, ok, typing("Typing"), "15 s later")
	assert.Equal(t, errStatus(47001, "data format error"), typing("typing"))
	s.Advance(kftest.TypingWindow - kftest.TypingDuration)
	assert.Equal(t, outside, typing("CancelTyping"), "30 s after the message")
	assert.Equal(t, []kftest.TypingEvent{
		{ToUser: user, Command: "Typing", At: t0},
		{ToUser: user, Command: "Typing", At: t0.Add(kftest.TypingDuration)},
	}, s.Typing())
}

func TestInjectError(t *testing.T) {
	s := newServer(t)
	s.UserMessage(user)
	s.InjectError(kftest.PathSend, -1)
	s.InjectError(kftest.PathSend, 45009)
	s.InjectError(kftest.PathStableToken, 40013)
	assert.Equal(t, errStatus(-1, "kftest: injected error"), send(t, s, s.AccessToken(), text(user, "1")))
	assert.Equal(t, errStatus(45009, "kftest: injected error"), send(t, s, "not even a token", text(user, "2")))
	assert.Equal(t, ok, send(t, s, s.AccessToken(), text(user, "3")))
	assert.Equal(t, errStatus(40013, "kftest: injected error"), fetchToken(t, s, false))
	assert.Equal(t, s.AccessToken(), fetchToken(t, s, false).AccessToken)
	assert.Equal(t, []kftest.SentMessage{{ToUser: user, MsgType: "text", Text: "3", At: s.Now()}}, s.Sent())
	assert.Equal(t, 3, s.Calls(kftest.PathSend))
}

// upload posts a multipart upload of data as the part named field.
func upload(t *testing.T, s *kftest.Server, typ, field string, data []byte) status {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, err := mw.CreateFormFile(field, "f.png")
	require.NoError(t, err)
	w.Write(data)
	require.NoError(t, mw.Close())
	return do(t, s, "POST", kftest.PathUpload, url.Values{"access_token": {s.AccessToken()}, "type": {typ}}, mw.FormDataContentType(), body.String())
}

func TestMedia(t *testing.T) {
	s := newServer(t)
	up := upload(t, s, "image", "media", png)
	require.NotEmpty(t, up.MediaID)
	assert.Equal(t, status{ErrMsg: "ok", Type: "image", MediaID: up.MediaID, CreatedAt: s.Now().Unix()}, up)

	get := func(id string) (*http.Response, []byte) {
		resp, err := http.Get(s.URL + kftest.PathGetMedia + "?" + url.Values{"access_token": {s.AccessToken()}, "media_id": {id}}.Encode())
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}
	resp, body := get(up.MediaID)
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename=f.png`, resp.Header.Get("Content-Disposition"))
	assert.Equal(t, png, body)

	resp, body = get("nope")
	assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"), "labelled as WeChat does at times")
	assert.JSONEq(t, `{"errcode":40007,"errmsg":"invalid media_id"}`, string(body))

	s.Advance(kftest.MediaTTL)
	_, body = get(up.MediaID)
	assert.JSONEq(t, `{"errcode":40007,"errmsg":"invalid media_id"}`, string(body), "expired after 3 days")

	assert.Equal(t, errStatus(40004, "invalid media type"), upload(t, s, "video", "media", png))
	assert.Equal(t, errStatus(40005, "invalid file type"), upload(t, s, "image", "media", []byte("just text")))
	assert.Equal(t, errStatus(41005, "media data missing"), upload(t, s, "image", "file", png))
	assert.Equal(t, errStatus(41005, "media data missing"), upload(t, s, "image", "media", nil))
	assert.Equal(t, errStatus(43001, "require GET method"),
		do(t, s, "POST", kftest.PathGetMedia, url.Values{"access_token": {s.AccessToken()}, "media_id": {up.MediaID}}, "", ""))
}

func TestWaitSent(t *testing.T) {
	s := newServer(t)
	s.UserMessage(user)
	c, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: s.URL})
	require.NoError(t, err)
	go c.SendText(context.Background(), user, "later")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sent, err := s.WaitSent(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, []kftest.SentMessage{{ToUser: user, MsgType: "text", Text: "later", At: s.Now()}}, sent)

	short, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	_, err = s.WaitSent(short, 2)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualError(t, err, "kftest: waiting for 2 messages: context deadline exceeded")
}

func TestConcurrentUse(t *testing.T) {
	s := newServer(t)
	c, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: s.URL})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprintf("user-%d", i)
			s.UserMessage(u)
			s.Advance(time.Millisecond)
			assert.NoError(t, c.SendText(context.Background(), u, "hi"))
			assert.NoError(t, c.SetTyping(context.Background(), u, true))
			_ = s.Sent()
			_ = s.Typing()
		}()
	}
	wg.Wait()
	assert.Len(t, s.Sent(), 20)
	assert.Len(t, s.Typing(), 20)
	assert.Equal(t, 1, s.TokenFetches())
}
