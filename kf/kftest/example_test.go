package kftest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/csmsg/csmsg/kf"
	"github.com/csmsg/csmsg/kf/kftest"
)

// A test of a bot's answers: declare what the user did, let the code under
// test answer through a Client, and assert what was sent.
func ExampleServer() {
	api := kftest.NewServer("wx0123456789abcdef", "the-app-secret")
	defer api.Close()

	client, err := kf.NewClient(kf.Config{
		AppID:     "wx0123456789abcdef",
		AppSecret: "the-app-secret",
		BaseURL:   api.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	api.UserEnteredSession("user-1") // 2 messages within a minute
	api.InjectError(kftest.PathSend, -1)
	fmt.Println(client.SendText(ctx, "user-1", "welcome"))
	fmt.Println(client.SendText(ctx, "user-1", "welcome"))
	fmt.Println(client.SendText(ctx, "user-1", "how can I help?"))
	fmt.Println(client.SendText(ctx, "user-1", "hello?"))

	api.Advance(time.Minute)
	api.ExpireTokens()
	fmt.Println(client.SendText(ctx, "user-1", "still there?"))

	for _, m := range api.Sent() {
		fmt.Printf("%s: %s\n", m.ToUser, m.Text)
	}
	fmt.Println("token fetches:", api.TokenFetches())
	// Output:
	// kf: wechat api error -1: "kftest: injected error"
	// <nil>
	// <nil>
	// kf: wechat api error 45047: "out of response count limit"
	// kf: wechat api error 45015: "response out of time limit or subscription is canceled"
	// user-1: welcome
	// user-1: how can I help?
	// token fetches: 2
}
