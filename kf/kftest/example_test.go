package kftest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
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

// A tool that serves the fake on its own mux and watches every call, as
// csmsg emulate does.
func ExampleNewHandler() {
	api := kftest.NewHandler("wx0123456789abcdef", "the-app-secret")
	api.OnCall(func(c kftest.Call) {
		if c.Send != nil {
			fmt.Printf("%s %s to %s: errcode %d\n", c.Path, c.Send.MsgType, c.Send.ToUser, c.ErrCode)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/cgi-bin/", api)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client, err := kf.NewClient(kf.Config{AppID: "wx0123456789abcdef", AppSecret: "the-app-secret", BaseURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	api.UserMessage("user-1")
	client.SendText(context.Background(), "user-1", "hello")
	w, _ := api.Window("user-1")
	fmt.Printf("%d of %d replies left\n", w.Left, w.Quota)
	// Output:
	// /cgi-bin/message/custom/send text to user-1: errcode 0
	// 4 of 5 replies left
}
