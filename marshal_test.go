package csmsg

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/marshal")

// TestMarshalGolden writes every typed golden message in both formats. The
// realistic JSON bodies in testdata/ are already in WeChat's compact form, so
// Marshal must reproduce them byte for byte; the XML output is checked
// against testdata/marshal/. Parsing the output gives the message back.
func TestMarshalGolden(t *testing.T) {
	for _, tc := range goldenCases {
		if _, ok := tc.want.(*Unknown); ok {
			continue
		}
		for _, f := range []Format{FormatXML, FormatJSON} {
			t.Run(tc.name+"/"+f.String(), func(t *testing.T) {
				out, err := Marshal(tc.want, f)
				if f == FormatXML && jsonOnly[tc.name] {
					require.ErrorIs(t, err, ErrInvalidMessage, "XML cannot carry it")
					return
				}
				require.NoError(t, err)

				back, err := Parse(out)
				require.NoError(t, err)
				assert.Equal(t, tc.want, back)

				golden := filepath.Join("testdata", "marshal", strings.ReplaceAll(tc.name, ".", "_")+"."+f.String())
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
					require.NoError(t, os.WriteFile(golden, out, 0o644))
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(out))
			})
		}
	}
	for _, name := range []string{"text", "image", "miniprogrampage", "user_enter_tempsession", "user_enter_tempsession_json_from", "text_cloud"} {
		t.Run("same as testdata/"+name+".json", func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			require.NoError(t, err)
			m, err := Parse(body)
			require.NoError(t, err)
			out, err := Marshal(m, FormatJSON)
			require.NoError(t, err)
			assert.Equal(t, string(body), string(out))
		})
	}
}

// jsonOnly are the golden cases XML cannot carry: a MsgId of text.
var jsonOnly = map[string]bool{"text_cloud.json": true}

func TestMarshalEncoding(t *testing.T) {
	cases := []struct {
		name      string
		m         Message
		xml, json string // "" when the format cannot carry m
	}{
		{
			name: "CDATA split at ]]> and carriage return as a reference",
			m:    &Text{Header: Header{MsgType: "text"}, Content: "a]]>b\r\nc]]"},
			xml:  "<xml><ToUserName></ToUserName><FromUserName></FromUserName><CreateTime>0</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]>&#13;<![CDATA[\nc]]]]></Content></xml>",
			json: `{"ToUserName":"","FromUserName":"","CreateTime":0,"MsgType":"text","Content":"a]]>b\r\nc]]"}`,
		},
		{
			name: "JSON escapes the fewest characters",
			m:    &Text{Header: Header{MsgType: "text", CreateTime: 5}, Content: "\"\\\t\x01\x1f</>&\u2028é", MsgID: "0"},
			xml:  "", // XML cannot carry \x01
			json: `{"ToUserName":"","FromUserName":"","CreateTime":5,"MsgType":"text","Content":"\"\\\t\u0001\u001f</>&` + "\u2028é" + `","MsgId":0}`,
		},
		{
			name: "MsgID that is not a canonical integer is a string",
			m:    &Image{Header: Header{MsgType: "image"}, MsgID: "0123"},
			xml:  "<xml><ToUserName></ToUserName><FromUserName></FromUserName><CreateTime>0</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl></PicUrl><MediaId></MediaId><MsgId><![CDATA[0123]]></MsgId></xml>",
			json: `{"ToUserName":"","FromUserName":"","CreateTime":0,"MsgType":"image","PicUrl":"","MediaId":"","MsgId":"0123"}`,
		},
		{
			name: "MsgID of text is a JSON string, which XML cannot carry",
			m:    &Text{Header: Header{MsgType: "text"}, MsgID: "49d72d67b16d115e7935ac386f2f0fa41535298877_1555684067"},
			xml:  "",
			json: `{"ToUserName":"","FromUserName":"","CreateTime":0,"MsgType":"text","Content":"","MsgId":"49d72d67b16d115e7935ac386f2f0fa41535298877_1555684067"}`,
		},
		{
			name: "MsgID of digits past 64 bits is a JSON string",
			m:    &Text{Header: Header{MsgType: "text"}, MsgID: "18446744073709551616"},
			xml:  "",
			json: `{"ToUserName":"","FromUserName":"","CreateTime":0,"MsgType":"text","Content":"","MsgId":"18446744073709551616"}`,
		},
		{
			name: "MsgID of 2^64-1 is a number",
			m:    &Text{Header: Header{MsgType: "text"}, MsgID: "18446744073709551615"},
			xml:  "<xml><ToUserName></ToUserName><FromUserName></FromUserName><CreateTime>0</CreateTime><MsgType><![CDATA[text]]></MsgType><Content></Content><MsgId>18446744073709551615</MsgId></xml>",
			json: `{"ToUserName":"","FromUserName":"","CreateTime":0,"MsgType":"text","Content":"","MsgId":18446744073709551615}`,
		},
		{
			name: "empty MsgID is left out",
			m:    &MiniProgramPage{Header: Header{MsgType: "miniprogrampage"}, Title: "t"},
			xml:  "<xml><ToUserName></ToUserName><FromUserName></FromUserName><CreateTime>0</CreateTime><MsgType><![CDATA[miniprogrampage]]></MsgType><Title><![CDATA[t]]></Title><AppId></AppId><PagePath></PagePath><ThumbUrl></ThumbUrl><ThumbMediaId></ThumbMediaId></xml>",
			json: `{"ToUserName":"","FromUserName":"","CreateTime":0,"MsgType":"miniprogrampage","Title":"t","AppId":"","PagePath":"","ThumbUrl":"","ThumbMediaId":""}`,
		},
	}
	for _, tc := range cases {
		for f, want := range map[Format]string{FormatXML: tc.xml, FormatJSON: tc.json} {
			t.Run(tc.name+"/"+f.String(), func(t *testing.T) {
				out, err := Marshal(tc.m, f)
				if want == "" {
					require.ErrorIs(t, err, ErrInvalidMessage)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, want, string(out))
				back, err := Parse(out)
				require.NoError(t, err)
				assert.Equal(t, tc.m, back)
			})
		}
	}
}

func TestMarshalUnknown(t *testing.T) {
	for _, name := range []string{"debug_demo.json", "debug_demo.xml", "subscribe_msg_popup_event.xml"} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", name))
			require.NoError(t, err)
			m, err := Parse(body)
			require.NoError(t, err)
			u := m.(*Unknown)
			out, err := Marshal(u, u.Format)
			require.NoError(t, err)
			assert.Equal(t, body, out)
			out[0] = 'x'
			assert.Equal(t, body[0], u.Raw[0], "Marshal must return a copy of Raw")
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	type custom struct{ Header }
	cases := []struct {
		name   string
		m      Message
		format Format
		want   error
	}{
		{"nil message", nil, FormatJSON, ErrInvalidMessage},
		{"nil *Text", (*Text)(nil), FormatJSON, ErrInvalidMessage},
		{"nil *Unknown", (*Unknown)(nil), FormatJSON, ErrInvalidMessage},
		{"a type of another package", &custom{Header{MsgType: "text"}}, FormatXML, ErrInvalidMessage},
		{"no MsgType", &Text{Content: "hi"}, FormatJSON, ErrInvalidMessage},
		{"MsgType of another type", &Text{Header: Header{MsgType: "image"}}, FormatXML, ErrInvalidMessage},
		{"event with another Event", &UserEnterTempSession{Header: Header{MsgType: "event"}, Event: "debug_demo"}, FormatJSON, ErrInvalidMessage},
		{"event without Event", &UserEnterTempSession{Header: Header{MsgType: "event"}}, FormatXML, ErrInvalidMessage},
		{"invalid UTF-8 in JSON", &Text{Header: Header{MsgType: "text"}, Content: "\xff"}, FormatJSON, ErrInvalidMessage},
		{"invalid UTF-8 in XML", &Text{Header: Header{MsgType: "text", FromUserName: "\xc3"}}, FormatXML, ErrInvalidMessage},
		{"NUL in XML", &Image{Header: Header{MsgType: "image"}, PicURL: "a\x00"}, FormatXML, ErrInvalidMessage},
		{"control character in XML", &Text{Header: Header{MsgType: "text"}, Content: "\x01"}, FormatXML, ErrInvalidMessage},
		{"U+FFFE in XML", &MiniProgramPage{Header: Header{MsgType: "miniprogrampage"}, Title: "\uFFFE"}, FormatXML, ErrInvalidMessage},
		{"control character in a non-canonical XML MsgId", &Text{Header: Header{MsgType: "text"}, MsgID: "\x02"}, FormatXML, ErrInvalidMessage},
		{"MsgID not digits", &Image{Header: Header{MsgType: "image"}, MsgID: "-5"}, FormatXML, ErrInvalidMessage},
		{"MsgID with a control character", &Image{Header: Header{MsgType: "image"}, MsgID: "5\x01"}, FormatJSON, ErrInvalidMessage},
		{"MsgID with DEL", &Text{Header: Header{MsgType: "text"}, MsgID: "5\x7f"}, FormatJSON, ErrInvalidMessage},
		{"MsgID with a C1 control character", &Text{Header: Header{MsgType: "text"}, MsgID: "5\u0085"}, FormatJSON, ErrInvalidMessage},
		{"MsgID past 64 bits", &Text{Header: Header{MsgType: "text"}, MsgID: "18446744073709551616"}, FormatXML, ErrInvalidMessage},
		{"negative CreateTime", &Text{Header: Header{MsgType: "text", CreateTime: -1}}, FormatJSON, ErrInvalidMessage},
		{"Unknown with no Raw", &Unknown{Header: Header{MsgType: "x"}, Format: FormatJSON}, FormatJSON, ErrInvalidMessage},
		{"Unknown in the other format", &Unknown{Format: FormatXML, Raw: []byte("<xml/>")}, FormatJSON, ErrInvalidMessage},
		{"format zero", &Text{Header: Header{MsgType: "text"}}, 0, ErrUnknownFormat},
		{"format three", &Text{Header: Header{MsgType: "text"}}, 3, ErrUnknownFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Marshal(tc.m, tc.format)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, out)
		})
	}

	// Where the other format can carry the value, it does.
	out, err := Marshal(&MiniProgramPage{Header: Header{MsgType: "miniprogrampage"}, Title: "\uFFFE\x01"}, FormatJSON)
	require.NoError(t, err)
	m, err := Parse(out)
	require.NoError(t, err)
	assert.Equal(t, "\uFFFE\x01", m.(*MiniProgramPage).Title)
}
