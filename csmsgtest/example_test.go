package csmsgtest_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// A backend's handler tested offline in safe mode: csmsgtest builds the
// request WeChat would send, encrypted and signed for the handler's Config.
func ExampleNewRequest() {
	cfg := csmsg.Config{Token: "token", EncodingAESKey: strings.Repeat("A", 43), AppID: "wxba5fad812f8e6fb9"}
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		panic(err)
	}
	handler := r.Handler(func(ctx context.Context, m csmsg.Message) (*csmsg.Reply, error) {
		if t, ok := m.(*csmsg.Text); ok {
			fmt.Println("got:", t.Content)
		}
		return csmsg.Transfer(m), nil
	})

	msg := &csmsg.Text{
		Header:  csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", MsgType: csmsg.MsgTypeText},
		MsgID:   "6054768590064713728",
		Content: "hello",
	}
	req, err := csmsgtest.NewRequest("/wechat", cfg, csmsgtest.ModeSafe, msg, csmsg.FormatJSON)
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(strings.Contains(w.Body.String(), `"Encrypt":`))
	// Output:
	// got: hello
	// 200 application/json; charset=utf-8
	// true
}

// A mode the Config would refuse is an error here, not a push the receiver
// refuses later.
func ExampleSign_refused() {
	cfg := csmsg.Config{Token: "token"} // plaintext mode: no EncodingAESKey
	_, err := csmsgtest.Sign(cfg, csmsgtest.ModeSafe, []byte(`{"MsgType":"text"}`))
	fmt.Println(err)
	// Output: csmsg: invalid config: csmsgtest: safe mode needs Config.EncodingAESKey
}
