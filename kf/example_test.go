package kf_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/csmsg/csmsg/kf"
	"github.com/csmsg/csmsg/kf/kftest"
)

func ExampleClient() {
	// An offline WeChat API; in production, leave BaseURL empty.
	api := kftest.NewServer("wx0123456789abcdef", "the-app-secret")
	defer api.Close()
	api.UserMessage("o9AgO5Kd5ggOC-bXrbNODIiE3bGY") // the user wrote: the reply window is open

	client, err := kf.NewClient(kf.Config{
		AppID:     "wx0123456789abcdef",
		AppSecret: "the-app-secret",
		BaseURL:   api.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	err = client.SendText(ctx, "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "Hello <b>World</b>")
	fmt.Println("sent:", err)

	// 48 hours later the window is closed.
	api.Advance(48 * time.Hour)
	err = client.SendText(ctx, "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "Still there?")
	var apiErr *kf.Error
	if errors.As(err, &apiErr) && apiErr.Code == kf.CodeOutsideWindow {
		fmt.Println("outside the reply window: wait for the user to write")
	}

	for _, m := range api.Sent() {
		fmt.Printf("%s to %s: %s\n", m.MsgType, m.ToUser, m.Text)
	}
	// Output:
	// sent: <nil>
	// outside the reply window: wait for the user to write
	// text to o9AgO5Kd5ggOC-bXrbNODIiE3bGY: Hello <b>World</b>
}
