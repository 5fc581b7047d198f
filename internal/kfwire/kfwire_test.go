package kfwire_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/csmsg/csmsg/internal/kfwire"
)

func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		code         int
		errmsg, hint string
	}{
		{0, "ok", ""},
		{-1, "system error", "WeChat is busy: a send may or may not have reached the user"},
		{40125, "invalid appsecret", "wrong AppSecret: use the one csmsg emulate printed"},
		{45047, "out of response count limit", "the replies the user's last action allows are used up"},
		{40002, "invalid grant_type", ""},
		{12345, "", ""},
	} {
		assert.Equal(t, tc.errmsg, kfwire.ErrMsg(tc.code), "errmsg of %d", tc.code)
		assert.Equal(t, tc.hint, kfwire.Hint(tc.code), "hint of %d", tc.code)
		assert.Equal(t, kfwire.Status{ErrCode: tc.code, ErrMsg: tc.errmsg}, kfwire.Answer(tc.code))
	}
}

func TestMarshal(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"text, not HTML-escaped", kfwire.Send{ToUser: "u", MsgType: kfwire.MsgTypeText, Text: &kfwire.Text{Content: "<b>&</b>"}},
			`{"touser":"u","msgtype":"text","text":{"content":"<b>&</b>"}}` + "\n"},
		{"card", kfwire.Send{ToUser: "u", MsgType: kfwire.MsgTypeMiniProgramPage, MiniProgramPage: &kfwire.MiniProgramPage{Title: "T", PagePath: "p?a&b", ThumbMediaID: "M"}},
			`{"touser":"u","msgtype":"miniprogrampage","miniprogrampage":{"title":"T","pagepath":"p?a&b","thumb_media_id":"M"}}` + "\n"},
		{"typing", kfwire.Typing{ToUser: "u", Command: kfwire.CommandTyping}, `{"touser":"u","command":"Typing"}` + "\n"},
		{"upload answer", kfwire.UploadAnswer{Status: kfwire.Answer(0), Type: "image", MediaID: "M", CreatedAt: 1},
			`{"errcode":0,"errmsg":"ok","type":"image","media_id":"M","created_at":1}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(kfwire.Marshal(tc.v)))
		})
	}
}
