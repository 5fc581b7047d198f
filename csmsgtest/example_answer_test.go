package csmsgtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// A backend's answer checked as WeChat reads it: here a safe-mode push
// answered with the transfer to the customer-service tool, encrypted and
// signed, which OpenAnswer opens and checks.
func ExampleOpenAnswer() {
	cfg := csmsg.Config{Token: "token", EncodingAESKey: strings.Repeat("A", 43), AppID: "wxba5fad812f8e6fb9"}
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		panic(err)
	}
	handler := r.Handler(func(ctx context.Context, m csmsg.Message) (*csmsg.Reply, error) {
		return csmsg.Transfer(m), nil
	})

	msg := &csmsg.Text{
		Header:  csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", MsgType: csmsg.MsgTypeText},
		MsgID:   "6054768590064713728",
		Content: "a human, please",
	}
	p, err := csmsgtest.SignMessage(cfg, csmsgtest.ModeSafe, msg, csmsg.FormatXML)
	if err != nil {
		panic(err)
	}
	req, err := p.Request("/wechat")
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)

	reply, err := csmsgtest.OpenAnswer(cfg, p, w.Code, w.Body.Bytes())
	fmt.Println(err)
	fmt.Println(reply != nil && *reply == *csmsg.Transfer(msg))

	// An answer WeChat would not take has its own error.
	_, err = csmsgtest.OpenAnswer(cfg, p, 200, []byte("ok"))
	fmt.Println(errors.Is(err, csmsgtest.ErrAnswerBody))
	// Output:
	// <nil>
	// true
	// true
}
