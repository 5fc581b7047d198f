package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
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
