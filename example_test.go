package csmsg_test

import (
	"errors"
	"fmt"

	"github.com/csmsg/csmsg"
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
