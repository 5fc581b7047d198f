package kftest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/kf"
	"github.com/csmsg/csmsg/kf/kftest"
)

// A whole conversation, offline: WeChat pushes the user's message to the
// bot's handler, the bot answers through the customer-service API, and the
// test asserts what the user was sent.
func Example_conversation() {
	const appID, secret = "wxba5fad812f8e6fb9", "the-app-secret"
	api := kftest.NewServer(appID, secret) // WeChat's API
	defer api.Close()
	client, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: api.URL})
	if err != nil {
		log.Fatal(err)
	}

	// The bot under test: its handler hands each text off within WeChat's
	// 5 seconds, and a worker answers it through the Client.
	cfg := csmsg.Config{Token: "token", EncodingAESKey: strings.Repeat("A", 43), AppID: appID}
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		log.Fatal(err)
	}
	inbox := make(chan *csmsg.Text, 16)
	bot := r.Handler(func(ctx context.Context, m csmsg.Message) (*csmsg.Reply, error) {
		if t, ok := m.(*csmsg.Text); ok {
			inbox <- t
		}
		return nil, nil
	})
	go func() {
		for t := range inbox {
			if err := client.SendText(context.Background(), t.FromUserName, "you said: "+t.Content); err != nil {
				log.Print(err)
			}
		}
	}()
	defer close(inbox)

	// The user writes; WeChat opens the reply window and pushes the message.
	const user = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	api.UserMessage(user)
	req, err := csmsgtest.NewRequest("/wechat", cfg, csmsgtest.ModeSafe, &csmsg.Text{
		Header:  csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: user, CreateTime: time.Now().Unix(), MsgType: csmsg.MsgTypeText},
		MsgID:   "6054768590064713728",
		Content: "where is my order?",
	}, csmsg.FormatJSON)
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	bot.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := api.WaitSent(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("to %s: %s\n", sent[0].ToUser, sent[0].Text)
	// Output:
	// 200 success
	// to o9AgO5Kd5ggOC-bXrbNODIiE3bGY: you said: where is my order?
}
