package csmsg_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

func ExampleParse() {
	bodies := []string{
		`<xml>
<ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>
<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>
<CreateTime>1714037059</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[你好]]></Content>
<MsgId>6054768590064713728</MsgId>
</xml>`,
		`{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037001,` +
			`"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"order-page"}`,
		`{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,` +
			`"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`,
		`{"ToUserName":"gh_97417a04a28d","Encrypt":"+qdx1OKCy+5JPCBFWw70tm0f..."}`,
	}
	for _, body := range bodies {
		msg, err := csmsg.Parse([]byte(body))
		if errors.Is(err, csmsg.ErrEncrypted) {
			fmt.Println("encrypted: use a Receiver with the EncodingAESKey")
			continue
		} else if err != nil {
			fmt.Println("error:", err)
			continue
		}
		switch m := msg.(type) {
		case *csmsg.Text:
			fmt.Printf("text %s from %s: %s\n", m.MsgID, m.FromUserName, m.Content)
		case *csmsg.Image:
			fmt.Println("image", m.PicURL)
		case *csmsg.MiniProgramPage:
			fmt.Println("card", m.Title, m.PagePath)
		case *csmsg.UserEnterTempSession:
			fmt.Printf("%s entered the chat from %q\n", m.FromUserName, m.SessionFrom)
		case *csmsg.Unknown:
			fmt.Printf("unknown %s/%s push, %d bytes of %v\n", m.MsgType, m.Event, len(m.Raw), m.Format)
		}
	}
	// Output:
	// text 6054768590064713728 from o9AgO5Kd5ggOC-bXrbNODIiE3bGY: 你好
	// o9AgO5Kd5ggOC-bXrbNODIiE3bGY entered the chat from "order-page"
	// unknown event/debug_demo push, 167 bytes of json
	// encrypted: use a Receiver with the EncodingAESKey
}

func ExampleMarshal() {
	msg := &csmsg.Text{
		Header:  csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", CreateTime: 1714037059, MsgType: csmsg.MsgTypeText},
		MsgID:   "6054768590064713728",
		Content: "a]]>b",
	}
	for _, f := range []csmsg.Format{csmsg.FormatXML, csmsg.FormatJSON} {
		body, err := csmsg.Marshal(msg, f)
		if err != nil {
			panic(err)
		}
		fmt.Println(string(body))
	}
	// Output:
	// <xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName><CreateTime>1714037059</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><MsgId>6054768590064713728</MsgId></xml>
	// {"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"text","Content":"a]]>b","MsgId":6054768590064713728}
}

func ExampleReceiver_Parse() {
	r, err := csmsg.NewReceiver(csmsg.Config{
		Token:          "AAAAA",
		EncodingAESKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		AppID:          "wxba5fad812f8e6fb9",
		// The documentation's push is from 2024; a real receiver leaves Now
		// nil and refuses timestamps more than Tolerance from its clock.
		Now: func() time.Time { return time.Unix(1714112445, 0) },
	})
	if err != nil {
		panic(err)
	}
	// The safe-mode push of WeChat's message-push documentation.
	query, _ := url.ParseQuery("signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741" +
		"&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3")
	body := []byte(`{"ToUserName":"gh_97417a04a28d","Encrypt":"+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="}`)

	msg, err := r.Parse(query, body)
	if err != nil {
		fmt.Println(err) // errors.Is(err, csmsg.ErrInvalidSignature), csmsg.ErrExpired, ...
		return
	}
	u := msg.(*csmsg.Unknown)
	fmt.Println(u.MsgType, u.Event, u.FromUserName)
	fmt.Println(string(u.Raw))

	// Tampering with the body breaks the msg_signature.
	_, err = r.Parse(query, []byte(strings.Replace(string(body), "+qdx", "+qdy", 1)))
	fmt.Println(err)
	// Output:
	// event debug_demo o9AgO5Kd5ggOC-bXrbNODIiE3bGY
	// {"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}
	// csmsg: invalid signature: msg_signature does not match
}

// Mount the receiver on net/http. WeChat gives up on an answer after 5
// seconds: answer quickly, and reply later with the customer-service send
// API.
func ExampleReceiver_Handler() {
	r, err := csmsg.NewReceiver(csmsg.Config{
		Token:          os.Getenv("WECHAT_TOKEN"),
		EncodingAESKey: os.Getenv("WECHAT_ENCODING_AES_KEY"),
		AppID:          os.Getenv("WECHAT_APPID"),
		Logger:         slog.Default(),
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/wechat/cs", r.Handler(func(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
		switch m := msg.(type) {
		case *csmsg.Text:
			if m.Content == "人工" { // "a human, please"
				return csmsg.Transfer(m), nil
			}
			return nil, enqueue(ctx, m) // an error answers 500, and WeChat retries
		case *csmsg.UserEnterTempSession:
			log.Printf("%s opened the chat from %q", m.FromUserName, m.SessionFrom)
		}
		return nil, nil // "success"
	}))
	// WeChat waits 5 seconds for an answer, so a request never needs more
	// than a few: the timeouts stop a client that trickles its body or
	// never finishes from holding a connection.
	srv := &http.Server{
		Addr:              ":8080",
		ReadHeaderTimeout: 2 * time.Second,  // the headers, promptly
		ReadTimeout:       5 * time.Second,  // the whole request, body included
		WriteTimeout:      10 * time.Second, // the HandlerFunc, and a retry waiting for it
		IdleTimeout:       60 * time.Second, // keep-alive between WeChat's pushes
	}
	log.Fatal(srv.ListenAndServe())
}

// With gin, echo, chi or any other framework: Parse the push, then answer
// what EncodeReply returns. Here with net/http; with gin the body of the
// function is the same, with c.Request for req and c.Data(http.StatusOK,
// contentType, out) for the last three lines.
func ExampleReceiver_EncodeReply() {
	r, err := csmsg.NewReceiver(csmsg.Config{
		Token:          os.Getenv("WECHAT_TOKEN"),
		EncodingAESKey: os.Getenv("WECHAT_ENCODING_AES_KEY"),
		AppID:          os.Getenv("WECHAT_APPID"),
	})
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /wechat/cs", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, csmsg.DefaultMaxBodyBytes+1))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		msg, err := r.Parse(req.URL.Query(), body)
		if err != nil {
			http.Error(w, http.StatusText(statusOf(err)), statusOf(err))
			return
		}
		out, contentType, err := r.EncodeReply(req.URL.Query(), body, csmsg.Transfer(msg))
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Write(out)
	})
}

// statusOf maps the receiver's errors to the statuses its Handler answers.
func statusOf(err error) int {
	switch {
	case errors.Is(err, csmsg.ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, csmsg.ErrInvalidSignature), errors.Is(err, csmsg.ErrExpired):
		return http.StatusUnauthorized
	case errors.Is(err, csmsg.ErrMalformed), errors.Is(err, csmsg.ErrUnknownFormat), errors.Is(err, csmsg.ErrEncrypted),
		errors.Is(err, csmsg.ErrDecrypt), errors.Is(err, csmsg.ErrAppIDMismatch):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// enqueue stands for handing a message to the backend's own work queue.
func enqueue(context.Context, *csmsg.Text) error { return nil }

// The GET request WeChat sends when the admin saves the push URL: answer
// the echostr verbatim once the signature checks out.
func ExampleReceiver_VerifyURL() {
	cfg := csmsg.Config{Token: "token"}
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		panic(err)
	}
	query, err := csmsgtest.VerifyURL(cfg, "4375120948345356249")
	if err != nil {
		panic(err)
	}
	echostr, err := r.VerifyURL(query)
	fmt.Println(echostr, err)

	query.Set("signature", "0000000000000000000000000000000000000000")
	_, err = r.VerifyURL(query)
	fmt.Println(err)
	// Output:
	// 4375120948345356249 <nil>
	// csmsg: invalid signature: signature does not match
}

// A message's key is its MsgId; a push without one is keyed by its whole
// content, so two that differ are never taken for retries of each other.
func ExampleDedupKey() {
	text, _ := csmsg.Parse([]byte(`{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"text","Content":"hi","MsgId":6054768590064713728}`))
	fmt.Println(csmsg.DedupKey(text))

	a, _ := csmsg.Parse([]byte(`{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"wxa_media_check","trace_id":"1"}`))
	b, _ := csmsg.Parse([]byte(`{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"wxa_media_check","trace_id":"2"}`))
	fmt.Println(csmsg.DedupKey(a) != csmsg.DedupKey(b))
	// Output:
	// msg|15:gh_97417a04a28d|28:o9AgO5Kd5ggOC-bXrbNODIiE3bGY|6054768590064713728
	// true
}
