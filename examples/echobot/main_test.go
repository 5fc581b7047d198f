package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/kf"
	"github.com/csmsg/csmsg/kf/kftest"
)

const appID, secret, user = "wx0123456789abcdef", "s", "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"

// TestEchoBot runs the bot against an offline WeChat: the user enters the
// chat and writes, and the bot answers both through the API.
func TestEchoBot(t *testing.T) {
	api := kftest.NewServer(appID, secret)
	defer api.Close()
	tb := startBot(t, api, filepath.Join(t.TempDir(), "echobot.db"), 0, inbox.Options{})
	defer tb.stop()

	header := csmsg.Header{ToUserName: "gh_1", FromUserName: user, CreateTime: time.Now().Unix()}
	api.UserEnteredSession(user)
	tb.push(t, &csmsg.UserEnterTempSession{Header: withType(header, csmsg.MsgTypeEvent), Event: csmsg.EventUserEnterTempSession})
	api.UserMessage(user)
	tb.push(t, &csmsg.Text{Header: withType(header, csmsg.MsgTypeText), MsgID: "1", Content: "hi"})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := api.WaitSent(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, "Hello! I echo what you write.", sent[0].Text)
	assert.Equal(t, "echo: hi", sent[1].Text)
	assert.Len(t, api.Typing(), 1)
}

// TestEchoBotThinks: a push is answered "success" before the model has
// thought, its retry makes no second job, and the reply arrives later,
// once.
func TestEchoBotThinks(t *testing.T) {
	const think = time.Second
	api := kftest.NewServer(appID, secret)
	defer api.Close()
	tb := startBot(t, api, filepath.Join(t.TempDir(), "echobot.db"), think, inbox.Options{})

	api.UserMessage(user)
	msg := &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_1", FromUserName: user, CreateTime: time.Now().Unix(),
		MsgType: csmsg.MsgTypeText}, MsgID: "1", Content: "hi"}
	start := time.Now()
	tb.push(t, msg)
	assert.Less(t, time.Since(start), think, "the push waited for the model")
	assert.Empty(t, api.Sent(), "a reply before the model thought")
	tb.push(t, msg) // WeChat's retry

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := api.WaitSent(ctx, 1)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), think, "replied before the model thought")
	assert.Equal(t, "echo: hi", sent[0].Text)
	time.Sleep(think) // a second reply would come by now
	tb.stop()
	assert.Equal(t, []string{"echo: hi"}, texts(api.Sent()))
}

// TestEchoBotRestart: a bot stopped while its model thinks, by a shutdown
// past the drain or by a crash (the inbox closed under Run, the lease
// left to expire), finishes the job when it starts again on the same
// file, and replies once.
func TestEchoBotRestart(t *testing.T) {
	tests := []struct {
		name string
		stop func(tb *testBot)
	}{
		{"shutdown", func(tb *testBot) { tb.stop() }},
		{"crash", func(tb *testBot) {
			require.NoError(t, tb.ib.Close())
			tb.stop()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kftest.NewServer(appID, secret)
			defer api.Close()
			path := filepath.Join(t.TempDir(), "echobot.db")
			opts := inbox.Options{Lease: 300 * time.Millisecond, DrainTimeout: 50 * time.Millisecond,
				PollInterval: 20 * time.Millisecond}

			first := startBot(t, api, path, time.Hour, opts)
			api.UserMessage(user)
			first.push(t, &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_1", FromUserName: user,
				CreateTime: time.Now().Unix(), MsgType: csmsg.MsgTypeText}, MsgID: "1", Content: "hi"})
			require.Eventually(t, func() bool { return len(api.Typing()) == 1 }, 5*time.Second, 5*time.Millisecond,
				"the job did not start")
			tt.stop(first)
			assert.Empty(t, api.Sent())

			second := startBot(t, api, path, 0, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := api.WaitSent(ctx, 1)
			require.NoError(t, err)
			second.stop()
			assert.Equal(t, []string{"echo: hi"}, texts(api.Sent()))
		})
	}
}

// testBot is a bot on an inbox file, running.
type testBot struct {
	*bot
	cfg  csmsg.Config
	ib   *inbox.Inbox
	h    http.Handler
	stop func() // ends Run (after its drain) and closes the inbox
}

// startBot opens the inbox file at path and runs a bot on it that answers
// through api after thinking think.
func startBot(t *testing.T, api *kftest.Server, path string, think time.Duration, opts inbox.Options) *testBot {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ib, err := inbox.Open(path, opts)
	require.NoError(t, err)
	client, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: api.URL})
	require.NoError(t, err)
	cfg := csmsg.Config{Token: "t", EncodingAESKey: strings.Repeat("A", 43), AppID: appID, Logger: opts.Logger}
	b, err := newBot(cfg, ib, client, think)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx) }()
	tb := &testBot{bot: b, cfg: cfg, ib: ib, h: b.Handler()}
	stopped := false
	tb.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-ran
		ib.Close()
	}
	t.Cleanup(tb.stop)
	return tb
}

// push sends msg to the bot as WeChat would, in safe mode, and checks the
// answer.
func (tb *testBot) push(t *testing.T, msg csmsg.Message) {
	t.Helper()
	req, err := csmsgtest.NewRequest("/wechat", tb.cfg, csmsgtest.ModeSafe, msg, csmsg.FormatJSON)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	tb.h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "success", w.Body.String())
}

func withType(h csmsg.Header, msgType string) csmsg.Header {
	h.MsgType = msgType
	return h
}

// texts returns the texts of sent.
func texts(sent []kftest.SentMessage) []string {
	var out []string
	for _, m := range sent {
		out = append(out, m.Text)
	}
	return out
}

// TestEchoBotLogsAWrongToken checks that a push signed with another Token
// shows in the bot's log with its cause.
func TestEchoBotLogsAWrongToken(t *testing.T) {
	var logs bytes.Buffer
	client, err := kf.NewClient(kf.Config{AppID: "wx0123456789abcdef", AppSecret: "s", BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	ib, err := inbox.Open(filepath.Join(t.TempDir(), "echobot.db"), inbox.Options{})
	require.NoError(t, err)
	defer ib.Close()
	cfg := csmsg.Config{Token: "t", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))}
	b, err := newBot(cfg, ib, client, 0)
	require.NoError(t, err)
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
	store := filepath.Join(t.TempDir(), "echobot.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"--addr", ln.Addr().String(), "--store", store}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	assert.Empty(t, out.String(), "no 'listening' line before the bind")

	ctx, cancel := context.WithCancel(context.Background())
	w := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--store", store}, w) }()
	require.Eventually(t, func() bool { return strings.Contains(w.String(), "echobot: listening") }, 5*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
}

// TestEchoBotDrain: when run's context ends (SIGINT, SIGTERM) while the
// model thinks, the answer still goes out (the inbox's drain) before run
// returns, and the inbox file is closed: another process may open it.
func TestEchoBotDrain(t *testing.T) {
	api := kftest.NewServer(appID, secret)
	defer api.Close()
	api.UserMessage(user)
	store := filepath.Join(t.TempDir(), "echobot.db")
	cfg := csmsg.Config{Token: "t", EncodingAESKey: strings.Repeat("A", 43), AppID: appID}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--store", store, "--api", api.URL, "--appid", appID,
			"--secret", secret, "--token", cfg.Token, "--aes-key", cfg.EncodingAESKey, "--think", "500ms"}, w)
	}()
	listening := regexp.MustCompile(`msg="echobot: listening" url=(\S+)`)
	require.Eventually(t, func() bool { return listening.MatchString(w.String()) }, 5*time.Second, 10*time.Millisecond)
	url := listening.FindStringSubmatch(w.String())[1]

	req, err := csmsgtest.NewRequest(url, cfg, csmsgtest.ModeSafe, &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_1",
		FromUserName: user, CreateTime: time.Now().Unix(), MsgType: csmsg.MsgTypeText}, MsgID: "1", Content: "hi"}, csmsg.FormatJSON)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, "success", string(body))
	require.Eventually(t, func() bool { return len(api.Typing()) == 1 }, 5*time.Second, 5*time.Millisecond,
		"the job did not start")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	assert.Equal(t, []string{"echo: hi"}, texts(api.Sent()))
	ib, err := inbox.Open(store, inbox.Options{LockTimeout: 100 * time.Millisecond})
	require.NoError(t, err, "the inbox file is still held")
	require.NoError(t, ib.Close())
}
