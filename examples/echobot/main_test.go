package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/kf"
	"github.com/csmsg/csmsg/kf/kftest"
)

// TestEchoBot runs the bot against an offline WeChat: the user enters the
// chat and writes, and the bot answers both through the API.
func TestEchoBot(t *testing.T) {
	const appID, secret, user = "wx0123456789abcdef", "s", "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	api := kftest.NewServer(appID, secret)
	defer api.Close()
	client, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: api.URL})
	require.NoError(t, err)
	cfg := csmsg.Config{Token: "t", EncodingAESKey: strings.Repeat("A", 43), AppID: appID}
	b, err := newBot(cfg, client)
	require.NoError(t, err)
	defer b.Close()
	h := b.Handler()

	header := csmsg.Header{ToUserName: "gh_1", FromUserName: user, CreateTime: time.Now().Unix()}
	api.UserEnteredSession(user)
	push(t, h, cfg, &csmsg.UserEnterTempSession{Header: withType(header, csmsg.MsgTypeEvent), Event: csmsg.EventUserEnterTempSession})
	api.UserMessage(user)
	push(t, h, cfg, &csmsg.Text{Header: withType(header, csmsg.MsgTypeText), MsgID: "1", Content: "hi"})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := api.WaitSent(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, "Hello! I echo what you write.", sent[0].Text)
	assert.Equal(t, "echo: hi", sent[1].Text)
	assert.Len(t, api.Typing(), 1)
}

func withType(h csmsg.Header, msgType string) csmsg.Header {
	h.MsgType = msgType
	return h
}

// push sends msg to h as WeChat would, in safe mode, and checks the answer.
func push(t *testing.T, h http.Handler, cfg csmsg.Config, msg csmsg.Message) {
	t.Helper()
	req, err := csmsgtest.NewRequest("/wechat", cfg, csmsgtest.ModeSafe, msg, csmsg.FormatJSON)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "success", w.Body.String())
}

// TestEchoBotLogsAWrongToken checks that a push signed with another Token
// shows in the bot's log with its cause.
func TestEchoBotLogsAWrongToken(t *testing.T) {
	var logs bytes.Buffer
	client, err := kf.NewClient(kf.Config{AppID: "wx0123456789abcdef", AppSecret: "s", BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	cfg := csmsg.Config{Token: "t", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))}
	b, err := newBot(cfg, client)
	require.NoError(t, err)
	defer b.Close()
	wrong := cfg
	wrong.Token = "wrong-token"
	req, err := csmsgtest.NewRequest("/wechat", wrong, csmsgtest.ModePlaintext,
		&csmsg.Text{Header: csmsg.Header{ToUserName: "gh_1", FromUserName: "o1", CreateTime: time.Now().Unix(), MsgType: csmsg.MsgTypeText}, MsgID: "1", Content: "hi"}, csmsg.FormatXML)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	b.Handler().ServeHTTP(w, req)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, `level=WARN msg="csmsg: push not handled" method=POST path=/wechat status=401 cause="the signature does not match: check that Config.Token is the Token of the message-push settings" err="csmsg: invalid signature: signature does not match"`+"\n", logs.String())
}

// TestEchoBotRun checks that the bot says it listens only once it does,
// that a busy address is an error without that line, and that it stops
// when its context ends.
func TestEchoBotRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"--addr", ln.Addr().String()}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	assert.Empty(t, out.String(), "no 'listening' line before the bind")

	ctx, cancel := context.WithCancel(context.Background())
	w := &syncWriter{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, w) }()
	require.Eventually(t, func() bool { return strings.Contains(w.String(), "echobot: listening") }, 5*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
}

// syncWriter is a buffer safe to write from one goroutine and read from
// another.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
