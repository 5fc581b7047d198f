package csmsg

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Values of the realistic bodies in testdata/.
const (
	ghID    = "gh_97417a04a28d"
	openID  = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
	zhText  = "你好，请问我的订单什么时候发货？"
	bigID   = "6054768590064713728" // > 2^53: float64 would corrupt it
	encrypt = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)

func hdr(to, from string, t int64, msgType string) Header {
	return Header{ToUserName: to, FromUserName: from, CreateTime: t, MsgType: msgType}
}

var officialHeader = func(msgType string) Header { return hdr("toUser", "fromUser", 1482048670, msgType) }

// goldenCases are the bodies in testdata/: each name has a .xml file, a .json
// file, or both (twins), and every one of them must parse to want.
var goldenCases = []struct {
	name string
	want Message
}{
	// The official page's eight bodies. Its miniprogrampage twins differ in values.
	{"official_text", &Text{Header: officialHeader("text"), MsgID: "1234567890123456", Content: "this is a test"}},
	{"official_image", &Image{Header: officialHeader("image"), MsgID: "1234567890123456", PicURL: "this is a url", MediaID: "media_id"}},
	{"official_miniprogrampage.xml", &MiniProgramPage{Header: officialHeader("miniprogrampage"), MsgID: "1234567890123456",
		Title: "Title", AppID: "AppId", PagePath: "PagePath", ThumbURL: "ThumbUrl", ThumbMediaID: "ThumbMediaId"}},
	{"official_miniprogrampage.json", &MiniProgramPage{Header: officialHeader("miniprogrampage"), MsgID: "1234567890123456",
		Title: "title", AppID: "appid", PagePath: "path"}},
	{"official_user_enter_tempsession", &UserEnterTempSession{Header: officialHeader("event"), Event: "user_enter_tempsession", SessionFrom: "sessionFrom"}},

	// Realistic twins.
	{"text", &Text{Header: hdr(ghID, openID, 1714037059, "text"), MsgID: bigID, Content: zhText}},
	{"image", &Image{Header: hdr(ghID, openID, 1714037101, "image"), MsgID: "6054768590064713729",
		PicURL:  "http://mmbiz.qpic.cn/mmbiz_jpg/5wKIBPc4ibFgNb3ic1LhQvx6kM9BWyB3qgj0oA/0?wx_fmt=jpeg&from=appmsg",
		MediaID: "H3FTa6N1B_Ud5rvhOQ2Kx9xEDLsmBjwW5O-vS4_Yrd8hPx7aIT0l4c8o2pG3oq1S"}},
	{"miniprogrampage", &MiniProgramPage{Header: hdr(ghID, openID, 1714037188, "miniprogrampage"), MsgID: "6054768590064713730",
		Title: "限时特惠：新款蓝牙耳机", AppID: "wxba5fad812f8e6fb9", PagePath: "pages/goods/detail?id=10086&from=share",
		ThumbURL: "https://mmbiz.qpic.cn/mmbiz_jpg/thumb/0?wx_fmt=jpeg", ThumbMediaID: "Xb2M1d3RTzg5O-TpSK1n7Wq2dAlmZqz8cIuHWm0Sy7Lq0Y6jP4vXo3sK9nA2BcDe"}},
	{"user_enter_tempsession", &UserEnterTempSession{Header: hdr(ghID, openID, 1714037001, "event"), Event: "user_enter_tempsession",
		SessionFrom: "商品详情页|goods_id=10086"}},
	{"user_enter_tempsession_json_from", &UserEnterTempSession{Header: hdr(ghID, openID, 1714037001, "event"), Event: "user_enter_tempsession",
		SessionFrom: `{"page":"order","orderId":"20240425001"}`}},
	// WeChat's cloud-function delivery, whose MsgId is a JSON string of
	// text (its documentation's own value).
	{"text_cloud.json", &Text{Header: hdr(ghID, "oVneZ57wJnV-ObtCiGv26PRrOz2g", 1555684067, "text"),
		MsgID: "49d72d67b16d115e7935ac386f2f0fa41535298877_1555684067", Content: "欢迎使用云开发"}},
	{"text_quirks", &Text{Header: hdr(ghID, openID, 1714037059, "text"), MsgID: bigID, Content: "line one\nline \"two\" 你好 😀"}},
	{"compatible_text", &Text{Header: hdr(ghID, openID, 1714037059, "text"), MsgID: bigID, Content: zhText}},

	// Unknown kinds come back whole; Format and Raw are filled in per file.
	{"debug_demo", &Unknown{Header: hdr(ghID, openID, 1714037059, "event"), Event: "debug_demo"}},
	{"subscribe_msg_popup_event", &Unknown{Header: hdr(ghID, "otFpruAK8D-E6EfStSYonYSBZ8_4", 1610969440, "event"), Event: "subscribe_msg_popup_event"}},
}

// entryPoints are the ways to parse a body of format f: Parse and the
// explicit parser of that format.
func entryPoints(f Format) map[string]func([]byte) (Message, error) {
	explicit := map[Format]func([]byte) (Message, error){FormatXML: ParseXML, FormatJSON: ParseJSON}
	return map[string]func([]byte) (Message, error){"Parse": Parse, "Parse" + strings.ToUpper(f.String()): explicit[f]}
}

// expect returns want as parsing body in format f gives it: an Unknown
// carries the format and the exact body.
func expect(want Message, f Format, body []byte) Message {
	if u, ok := want.(*Unknown); ok {
		c := *u
		c.Format, c.Raw = f, body
		return &c
	}
	return want
}

func formatOf(ext string) Format {
	if ext == ".xml" {
		return FormatXML
	}
	return FormatJSON
}

func TestParseGolden(t *testing.T) {
	for _, tc := range goldenCases {
		paths := []string{filepath.Join("testdata", tc.name)}
		if filepath.Ext(tc.name) == "" {
			paths = []string{paths[0] + ".xml", paths[0] + ".json"}
		}
		for _, path := range paths {
			body, err := os.ReadFile(path)
			require.NoError(t, err)
			f := formatOf(filepath.Ext(path))
			for entry, parse := range entryPoints(f) {
				t.Run(filepath.Base(path)+"/"+entry, func(t *testing.T) {
					got, err := parse(body)
					require.NoError(t, err)
					assert.Equal(t, expect(tc.want, f, body), got)
				})
			}
		}
	}
}

// inlineCases are edge cases of the semantics, each as an XML body and its
// JSON twin (either may be empty), both parsing to want.
var inlineCases = []struct {
	name      string
	xml, json string
	want      Message
}{
	{
		name: "byte-order mark and leading whitespace",
		xml:  "\xEF\xBB\xBF \r\n\t<xml><MsgType>text</MsgType><Content>hi</Content></xml>\n",
		json: "\xEF\xBB\xBF \r\n\t{\"MsgType\":\"text\",\"Content\":\"hi\"}\n",
		want: &Text{Header: Header{MsgType: "text"}, Content: "hi"},
	},
	{
		name: "unknown fields skipped whatever they hold",
		xml:  `<xml><MsgType>text</MsgType><Extra><A><B>x</B></A><C/></Extra><Content>hi</Content><msgtype>image</msgtype></xml>`,
		json: `{"MsgType":"text","Extra":{"A":[1,{"B":"x"},null,true]},"Content":"hi","msgtype":"image"}`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "hi"},
	},
	{
		name: "last repeated field wins",
		xml:  `<xml><MsgType>image</MsgType><Content>a</Content><MsgType>text</MsgType><Content>b</Content></xml>`,
		json: `{"MsgType":"image","Content":"a","MsgType":"text","Content":"b"}`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "b"},
	},
	{
		name: "a wrong value is overridden by a later good one",
		xml:  `<xml><MsgType>text</MsgType><Content><b/></Content><Content>ok</Content></xml>`,
		json: `{"MsgType":"text","Content":5,"Content":"ok"}`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "ok"},
	},
	{
		name: "empty values and empty CreateTime",
		xml:  `<xml><ToUserName/><CreateTime></CreateTime><MsgType>text</MsgType><Content><![CDATA[]]></Content><MsgId></MsgId></xml>`,
		json: `{"ToUserName":"","CreateTime":"","MsgType":"text","Content":"","MsgId":""}`,
		want: &Text{Header: Header{MsgType: "text"}},
	},
	{
		name: "null is the zero value",
		json: `{"ToUserName":null,"CreateTime":null,"MsgType":"text","Content":null,"MsgId":null,"Encrypt":null}`,
		want: &Text{Header: Header{MsgType: "text"}},
	},
	{
		name: "MsgId up to 2^64-1 and CreateTime as a string",
		xml:  `<xml><CreateTime>1714037059</CreateTime><MsgType>text</MsgType><MsgId>18446744073709551615</MsgId></xml>`,
		json: `{"CreateTime":"1714037059","MsgType":"text","MsgId":18446744073709551615}`,
		want: &Text{Header: Header{CreateTime: 1714037059, MsgType: "text"}, MsgID: "18446744073709551615"},
	},
	{
		name: "MsgId keeps its digits exactly, leading zeros too",
		xml:  `<xml><MsgType>text</MsgType><MsgId>007</MsgId></xml>`,
		json: `{"MsgType":"text","MsgId":"007"}`,
		want: &Text{Header: Header{MsgType: "text"}, MsgID: "007"},
	},
	{
		name: "a JSON string MsgId is any text, kept exactly; as a number or in XML it is digits",
		xml:  `<xml><MsgType>miniprogrampage</MsgType><MsgId>0012</MsgId></xml>`,
		json: `{"MsgType":"miniprogrampage","MsgId":"0012"}`,
		want: &MiniProgramPage{Header: Header{MsgType: "miniprogrampage"}, MsgID: "0012"},
	},
	{
		name: "a JSON string MsgId of text, escapes decoded",
		json: `{"MsgType":"miniprogrampage","MsgId":"12a","MsgId":"49d7_1555684067 \u00e9-\/+1.5e3"}`,
		want: &MiniProgramPage{Header: Header{MsgType: "miniprogrampage"}, MsgID: "49d7_1555684067 é-/+1.5e3"},
	},
	{
		name: "a JSON string MsgId past 64 bits",
		json: `{"MsgType":"text","MsgId":"18446744073709551616"}`,
		want: &Text{Header: Header{MsgType: "text"}, MsgID: "18446744073709551616"},
	},
	{
		name: "an unknown kind keeps a text MsgId",
		json: `{"MsgType":"voice","MsgId":"-3"}`,
		want: &Unknown{Header: Header{MsgType: "voice"}, MsgID: "-3"},
	},
	{
		name: "an unknown kind keeps its MsgId",
		xml:  `<xml><MsgType>voice</MsgType><MsgId>6054768590064713728</MsgId></xml>`,
		json: `{"MsgType":"voice","MsgId":6054768590064713728}`,
		want: &Unknown{Header: Header{MsgType: "voice"}, MsgID: "6054768590064713728"},
	},
	{
		name: "one CDATA section with a carriage return keeps its '&' as it is",
		xml:  "<xml><MsgType>text</MsgType><Content><![CDATA[00&\rcf &amp; x]]></Content></xml>",
		json: `{"MsgType":"text","Content":"00&\ncf &amp; x"}`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "00&\ncf &amp; x"},
	},
	{
		name: "escapes, entities and split CDATA",
		xml:  "<xml><MsgType>text</MsgType><Content>a&lt;&amp;&gt;&apos;&quot;&#x4F60;&#22909;<![CDATA[]]]]><![CDATA[>]]>\t&#13;</Content></xml>",
		json: `{"MsgType":"text","Content":"a<&>'\"\u4F60\u597D]]>\t\r"}`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "a<&>'\"你好]]>\t\r"},
	},
	{
		name: "surrogate pairs and a lone surrogate",
		xml:  `<xml><MsgType>text</MsgType><Content>&#x1F600;�</Content></xml>`,
		json: `{"MsgType":"text","Content":"\ud83d\ude00\ud800"}`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "😀\uFFFD"},
	},
	{
		name: "XML line ends are normalised; a prolog, comments between elements and attributes ignored",
		xml:  "<?xml version=\"1.0\"?>\n<!-- pushed --><!DOCTYPE xml>\n<xml a=\"1\"><!-- c --><MsgType id=\"x\">text</MsgType><Content>a\r\nb\rc</Content></xml>",
		want: &Text{Header: Header{MsgType: "text"}, Content: "a\nb\nc"},
	},
	{
		name: "namespaced names are not WeChat's",
		xml:  `<xml xmlns:w="urn:w"><MsgType>text</MsgType><w:Content>no</w:Content><Content>yes</Content></xml>`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "yes"},
	},
	{
		name: "escaped JSON keys are the same keys",
		json: `{"Msg\u0054ype":"text","Content":"hi"}`,
		want: &Text{Header: Header{MsgType: "text"}, Content: "hi"},
	},
	{
		name: "a wrong value in a field the kind does not have is ignored",
		xml:  `<xml><MsgType>image</MsgType><Content><x/></Content><PicUrl>p</PicUrl></xml>`,
		json: `{"MsgType":"image","Content":{"x":1},"PicUrl":"p","Title":[],"SessionFrom":7}`,
		want: &Image{Header: Header{MsgType: "image"}, PicURL: "p"},
	},
	{
		name: "an unknown kind may hold anything in the typed kinds' fields",
		xml:  `<xml><MsgType>event</MsgType><Event>wxa_media_check</Event><Title><t/></Title></xml>`,
		json: `{"MsgType":"event","Event":"wxa_media_check","Title":{"t":1},"SessionFrom":[1]}`,
		want: &Unknown{Header: Header{MsgType: "event"}, Event: "wxa_media_check"},
	},
	{
		name: "an event without Event is unknown",
		xml:  `<xml><MsgType>event</MsgType></xml>`,
		json: `{"MsgType":"event"}`,
		want: &Unknown{Header: Header{MsgType: "event"}},
	},
	{
		name: "MsgType values are case-sensitive",
		xml:  `<xml><MsgType>Text</MsgType><Event>x</Event></xml>`,
		json: `{"MsgType":"Text","Event":"x"}`,
		want: &Unknown{Header: Header{MsgType: "Text"}, Event: "x"},
	},
	{
		name: "user_enter_tempsession needs MsgType event",
		xml:  `<xml><MsgType>text</MsgType><Event>user_enter_tempsession</Event></xml>`,
		json: `{"MsgType":"text","Event":"user_enter_tempsession"}`,
		want: &Text{Header: Header{MsgType: "text"}},
	},
	{
		name: "compatible mode parses the plaintext fields",
		xml:  `<xml><Encrypt>abc</Encrypt><MsgType>image</MsgType><MediaId>m</MediaId></xml>`,
		json: `{"Encrypt":"abc","MsgType":"image","MediaId":"m"}`,
		want: &Image{Header: Header{MsgType: "image"}, MediaID: "m"},
	},
}

func TestParseInline(t *testing.T) {
	for _, tc := range inlineCases {
		for f, body := range map[Format]string{FormatXML: tc.xml, FormatJSON: tc.json} {
			if body == "" {
				continue
			}
			for entry, parse := range entryPoints(f) {
				t.Run(tc.name+"/"+f.String()+"/"+entry, func(t *testing.T) {
					got, err := parse([]byte(body))
					require.NoError(t, err)
					assert.Equal(t, expect(tc.want, f, []byte(body)), got)
				})
			}
		}
	}
}

// TestParseTwins checks that the XML and JSON forms of each realistic body
// give equal values: for an Unknown, all but Format and Raw.
func TestParseTwins(t *testing.T) {
	for _, name := range []string{"official_text", "official_image", "official_user_enter_tempsession", "text", "image",
		"miniprogrampage", "user_enter_tempsession", "user_enter_tempsession_json_from", "text_quirks", "compatible_text", "debug_demo", "subscribe_msg_popup_event"} {
		t.Run(name, func(t *testing.T) {
			var got [2]Message
			for i, ext := range []string{".xml", ".json"} {
				body, err := os.ReadFile(filepath.Join("testdata", name+ext))
				require.NoError(t, err)
				got[i], err = Parse(body)
				require.NoError(t, err)
				if u, ok := got[i].(*Unknown); ok {
					got[i] = &Unknown{Header: u.Header, Event: u.Event}
				}
			}
			assert.Equal(t, got[0], got[1])
		})
	}
}

// badCases are bodies every entry point must refuse. parseErr is what Parse
// returns; the explicit parser of the body's format returns explicitErr, or
// parseErr when that is nil.
var badCases = []struct {
	name        string
	body        string
	format      Format // the explicit parser to try as well: 0 for both
	parseErr    error
	explicitErr error
}{
	{"empty", "", 0, ErrUnknownFormat, ErrMalformed},
	{"whitespace", " \r\n\t", 0, ErrUnknownFormat, ErrMalformed},
	{"byte-order mark only", "\xEF\xBB\xBF", 0, ErrUnknownFormat, ErrMalformed},
	{"plain text", "success", 0, ErrUnknownFormat, ErrMalformed},
	{"JSON array", `[{"MsgType":"text"}]`, FormatJSON, ErrUnknownFormat, ErrMalformed},
	{"JSON null", `null`, FormatJSON, ErrUnknownFormat, ErrMalformed},
	{"query string", "MsgType=text", 0, ErrUnknownFormat, ErrMalformed},
	{"XML to the JSON parser", `<xml><MsgType>text</MsgType></xml>`, FormatJSON, nil, ErrMalformed},
	{"JSON to the XML parser", `{"MsgType":"text"}`, FormatXML, nil, ErrMalformed},

	{"XML safe-mode envelope", "<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>", FormatXML, ErrEncrypted, nil},
	{"JSON safe-mode envelope", `{"ToUserName":"gh","Encrypt":"` + encrypt + `"}`, FormatJSON, ErrEncrypted, nil},
	{"XML empty Encrypt", `<xml><Encrypt></Encrypt></xml>`, FormatXML, ErrMalformed, nil},
	{"JSON empty Encrypt", `{"Encrypt":""}`, FormatJSON, ErrMalformed, nil},
	{"JSON null Encrypt", `{"Encrypt":null}`, FormatJSON, ErrMalformed, nil},
	{"JSON numeric Encrypt", `{"Encrypt":5}`, FormatJSON, ErrMalformed, nil},

	{"XML truncated", `<xml><MsgType>text</MsgType>`, FormatXML, ErrMalformed, nil},
	{"XML truncated in a value", `<xml><MsgType>te`, FormatXML, ErrMalformed, nil},
	{"XML truncated in an unknown element", `<xml><MsgType>text</MsgType><A><B>`, FormatXML, ErrMalformed, nil},
	{"XML only a prolog", `<?xml version="1.0"?>`, FormatXML, ErrMalformed, nil},
	{"XML wrong root", `<root><MsgType>text</MsgType></root>`, FormatXML, ErrMalformed, nil},
	{"XML root in lower case only", `<XML><MsgType>text</MsgType></XML>`, FormatXML, ErrMalformed, nil},
	{"XML no MsgType", `<xml><Content>hi</Content></xml>`, FormatXML, ErrMalformed, nil},
	{"XML empty MsgType", `<xml><MsgType></MsgType></xml>`, FormatXML, ErrMalformed, nil},
	{"XML msgtype in lower case", `<xml><msgtype>text</msgtype></xml>`, FormatXML, ErrMalformed, nil},
	{"XML text after the root", `<xml><MsgType>text</MsgType></xml>x`, FormatXML, ErrMalformed, nil},
	{"XML element after the root", `<xml><MsgType>text</MsgType></xml><xml/>`, FormatXML, ErrMalformed, nil},
	{"XML comment after the root", `<xml><MsgType>text</MsgType></xml><!-- -->`, FormatXML, ErrMalformed, nil},
	{"XML text in the root", `<xml>hi<MsgType>text</MsgType></xml>`, FormatXML, ErrMalformed, nil},
	{"XML text before the root", `<?xml version="1.0"?>hi<xml><MsgType>text</MsgType></xml>`, FormatXML, ErrMalformed, nil},
	{"XML mismatched end", `<xml><MsgType>text</Content></xml>`, FormatXML, ErrMalformed, nil},
	{"XML unknown entity", `<xml><MsgType>text</MsgType><Content>&nbsp;</Content></xml>`, FormatXML, ErrMalformed, nil},
	{"XML illegal character reference", `<xml><MsgType>text</MsgType><Content>&#0;</Content></xml>`, FormatXML, ErrMalformed, nil},
	{"XML invalid UTF-8", "<xml><MsgType>text</MsgType><Content>\xff</Content></xml>", FormatXML, ErrMalformed, nil},
	{"XML other encoding", `<?xml version="1.0" encoding="GBK"?><xml><MsgType>text</MsgType></xml>`, FormatXML, ErrMalformed, nil},
	{"XML element in MsgType", `<xml><MsgType><b>text</b></MsgType></xml>`, FormatXML, ErrMalformed, nil},
	{"XML element in FromUserName", `<xml><MsgType>event</MsgType><FromUserName>a<b/></FromUserName></xml>`, FormatXML, ErrMalformed, nil},
	{"XML element in Content", `<xml><MsgType>text</MsgType><Content><![CDATA[a]]><b/></Content></xml>`, FormatXML, ErrMalformed, nil},
	{"XML element in SessionFrom", `<xml><MsgType>event</MsgType><Event>user_enter_tempsession</Event><SessionFrom><a/></SessionFrom></xml>`, FormatXML, ErrMalformed, nil},
	{"XML CreateTime not a number", `<xml><MsgType>text</MsgType><CreateTime>abc</CreateTime></xml>`, FormatXML, ErrMalformed, nil},
	{"XML CreateTime with spaces", `<xml><MsgType>text</MsgType><CreateTime> 1 </CreateTime></xml>`, FormatXML, ErrMalformed, nil},
	{"XML CreateTime overflow", `<xml><MsgType>text</MsgType><CreateTime>9223372036854775808</CreateTime></xml>`, FormatXML, ErrMalformed, nil},

	{"JSON truncated", `{"MsgType":"text"`, FormatJSON, ErrMalformed, nil},
	{"JSON truncated in a string", `{"MsgType":"te`, FormatJSON, ErrMalformed, nil},
	{"JSON text after the object", `{"MsgType":"text"} x`, FormatJSON, ErrMalformed, nil},
	{"JSON second object", `{"MsgType":"text"}{}`, FormatJSON, ErrMalformed, nil},
	{"JSON trailing comma", `{"MsgType":"text",}`, FormatJSON, ErrMalformed, nil},
	{"JSON single quotes", `{'MsgType':'text'}`, FormatJSON, ErrMalformed, nil},
	{"JSON bad escape", `{"MsgType":"text","Content":"\x"}`, FormatJSON, ErrMalformed, nil},
	{"JSON raw control character", "{\"MsgType\":\"text\",\"Content\":\"a\x01\"}", FormatJSON, ErrMalformed, nil},
	{"JSON invalid UTF-8", "{\"MsgType\":\"text\",\"Content\":\"\xc3\x28\"}", FormatJSON, ErrMalformed, nil},
	{"JSON invalid UTF-8 in an unknown key", "{\"MsgType\":\"text\",\"x\xff\":1}", FormatJSON, ErrMalformed, nil},
	{"JSON no MsgType", `{"Content":"hi"}`, FormatJSON, ErrMalformed, nil},
	{"JSON null MsgType", `{"MsgType":null}`, FormatJSON, ErrMalformed, nil},
	{"JSON msgtype in lower case", `{"msgtype":"text","MSGTYPE":"text"}`, FormatJSON, ErrMalformed, nil},
	{"JSON numeric MsgType", `{"MsgType":5}`, FormatJSON, ErrMalformed, nil},
	{"JSON object MsgType", `{"MsgType":{"a":"text"}}`, FormatJSON, ErrMalformed, nil},
	{"JSON numeric ToUserName", `{"MsgType":"event","ToUserName":1}`, FormatJSON, ErrMalformed, nil},
	{"JSON array Event", `{"MsgType":"event","Event":["user_enter_tempsession"]}`, FormatJSON, ErrMalformed, nil},
	{"JSON numeric Content", `{"MsgType":"text","Content":5}`, FormatJSON, ErrMalformed, nil},
	{"JSON boolean MsgId", `{"MsgType":"text","MsgId":true}`, FormatJSON, ErrMalformed, nil},
	{"JSON object MsgId", `{"MsgType":"image","MsgId":{}}`, FormatJSON, ErrMalformed, nil},
	{"JSON numeric PicUrl", `{"MsgType":"image","PicUrl":1}`, FormatJSON, ErrMalformed, nil},
	{"JSON numeric Title", `{"MsgType":"miniprogrampage","Title":1}`, FormatJSON, ErrMalformed, nil},
	{"JSON numeric SessionFrom", `{"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":1}`, FormatJSON, ErrMalformed, nil},
	{"JSON CreateTime fraction", `{"MsgType":"text","CreateTime":1.5}`, FormatJSON, ErrMalformed, nil},
	{"JSON CreateTime exponent", `{"MsgType":"text","CreateTime":1e9}`, FormatJSON, ErrMalformed, nil},
	{"JSON CreateTime string not a number", `{"MsgType":"text","CreateTime":"soon"}`, FormatJSON, ErrMalformed, nil},
	{"JSON CreateTime overflow", `{"MsgType":"text","CreateTime":99999999999999999999}`, FormatJSON, ErrMalformed, nil},
	{"JSON CreateTime boolean", `{"MsgType":"text","CreateTime":true}`, FormatJSON, ErrMalformed, nil},

	// Values are plain: markup inside a known element, and numbers with a
	// sign, a fraction, an exponent, or past 64 bits, are refused.
	{"XML directive in Content", `<xml><MsgType>text</MsgType><Content>a<!DOCTYPE x>b</Content></xml>`, FormatXML, ErrMalformed, nil},
	{"XML broken CDATA in Content", "<xml><MsgType>text</MsgType><Content><!\x00[CDATA[hello]]></Content></xml>", FormatXML, ErrMalformed, nil},
	{"XML comment in Content", `<xml><MsgType>text</MsgType><Content>a<!-- c -->b</Content></xml>`, FormatXML, ErrMalformed, nil},
	{"XML processing instruction in MsgType", `<xml><MsgType>te<?pi x?>xt</MsgType></xml>`, FormatXML, ErrMalformed, nil},
	{"XML CreateTime with a plus", `<xml><MsgType>text</MsgType><CreateTime>+1</CreateTime></xml>`, FormatXML, ErrMalformed, nil},
	{"XML CreateTime negative", `<xml><MsgType>text</MsgType><CreateTime>-1</CreateTime></xml>`, FormatXML, ErrMalformed, nil},
	{"XML MsgId with a sign", `<xml><MsgType>text</MsgType><MsgId>+1</MsgId></xml>`, FormatXML, ErrMalformed, nil},
	{"XML MsgId not a number", `<xml><MsgType>image</MsgType><MsgId>abc</MsgId></xml>`, FormatXML, ErrMalformed, nil},
	{"XML MsgId of an unknown kind", `<xml><MsgType>voice</MsgType><MsgId>1.5</MsgId></xml>`, FormatXML, ErrMalformed, nil},
	{"JSON CreateTime with a leading space", `{"MsgType":"text","CreateTime":" 1"}`, FormatJSON, ErrMalformed, nil},
	{"JSON CreateTime string with a plus", `{"MsgType":"text","CreateTime":"+1"}`, FormatJSON, ErrMalformed, nil},
	{"JSON CreateTime negative", `{"MsgType":"text","CreateTime":-1}`, FormatJSON, ErrMalformed, nil},
	{"JSON MsgId exponent", `{"MsgType":"text","MsgId":1e400}`, FormatJSON, ErrMalformed, nil},
	{"JSON MsgId fraction", `{"MsgType":"text","MsgId":-1.5e-7}`, FormatJSON, ErrMalformed, nil},
	{"JSON MsgId past 64 bits", `{"MsgType":"text","MsgId":18446744073709551616}`, FormatJSON, ErrMalformed, nil},
	{"JSON MsgId a megabyte of digits", `{"MsgType":"text","MsgId":` + strings.Repeat("9", 1<<20) + `}`, FormatJSON, ErrMalformed, nil},
	{"JSON MsgId string with a control character", `{"MsgType":"miniprogrampage","MsgId":"12\u0001a"}`, FormatJSON, ErrMalformed, nil},
	{"JSON MsgId string with DEL", "{\"MsgType\":\"text\",\"MsgId\":\"1\x7f\"}", FormatJSON, ErrMalformed, nil},
	{"JSON MsgId string with a C1 control character", "{\"MsgType\":\"text\",\"MsgId\":\"1\u0085\"}", FormatJSON, ErrMalformed, nil},
	{"JSON MsgId string with a newline of an unknown kind", `{"MsgType":"voice","MsgId":"a\nb"}`, FormatJSON, ErrMalformed, nil},
	{"XML MsgId text", `<xml><MsgType>text</MsgType><MsgId>49d72d67b16d_1555684067</MsgId></xml>`, FormatXML, ErrMalformed, nil},
	{"JSON MsgId of an unknown kind", `{"MsgType":"video","MsgId":-3}`, FormatJSON, ErrMalformed, nil},
	{"JSON MsgId of an unknown kind, wrong type", `{"MsgType":"video","MsgId":[1]}`, FormatJSON, ErrMalformed, nil},
}

func TestParseBad(t *testing.T) {
	for _, tc := range badCases {
		entries := map[string]func([]byte) (Message, error){"Parse": Parse, "ParseXML": ParseXML, "ParseJSON": ParseJSON}
		switch tc.format {
		case FormatXML:
			delete(entries, "ParseJSON")
		case FormatJSON:
			delete(entries, "ParseXML")
		}
		for entry, parse := range entries {
			want := tc.parseErr
			if entry != "Parse" && tc.explicitErr != nil {
				want = tc.explicitErr
			}
			if want == nil {
				continue
			}
			t.Run(tc.name+"/"+entry, func(t *testing.T) {
				m, err := parse([]byte(tc.body))
				require.ErrorIs(t, err, want)
				assert.Nil(t, m)
				assert.True(t, strings.HasPrefix(err.Error(), "csmsg: "), err.Error())
				if len(tc.body) > 20 {
					assert.NotContains(t, err.Error(), tc.body, "error text holds the body")
				}
			})
		}
	}
}

func TestParseErrorChain(t *testing.T) {
	_, err := Parse([]byte(`{"MsgType":"text"`))
	var jsonErr *json.SyntaxError
	require.ErrorAs(t, err, &jsonErr)

	_, err = Parse([]byte(`<xml><MsgType>text</Content></xml>`))
	var xmlErr *xml.SyntaxError
	require.ErrorAs(t, err, &xmlErr)

	_, err = Parse([]byte(`{"MsgType":"text","CreateTime":"` + strings.Repeat("9", 5000) + `"}`))
	require.ErrorIs(t, err, ErrMalformed)
	assert.Equal(t, "csmsg: malformed body: CreateTime is not decimal digits of an int64", err.Error())

	_, err = Parse([]byte(`{"MsgType":"text","Content":5}`))
	assert.Equal(t, "csmsg: malformed body: Content does not hold a text value", err.Error())

	_, err = Parse([]byte(`{"Encrypt":"abc"}`))
	assert.Equal(t, ErrEncrypted, err)
}

func TestParseDoesNotAliasBody(t *testing.T) {
	body := []byte(`{"MsgType":"event","Event":"debug_demo","Content":"abc"}`)
	m, err := Parse(body)
	require.NoError(t, err)
	want := string(body)
	for i := range body {
		body[i] = 'x'
	}
	assert.Equal(t, want, string(m.(*Unknown).Raw))
	assert.Equal(t, "debug_demo", m.(*Unknown).Event)

	body = []byte(`{"MsgType":"text","Content":"abc"}`)
	m, err = Parse(body)
	require.NoError(t, err)
	copy(body, `{"MsgType":"text","Content":"xyz"}`)
	assert.Equal(t, "abc", m.(*Text).Content)
}

func TestHeader(t *testing.T) {
	m, err := Parse([]byte(`{"ToUserName":"gh","FromUserName":"o","CreateTime":1714037059,"MsgType":"text"}`))
	require.NoError(t, err)
	h := m.MsgHeader()
	assert.Equal(t, &Header{ToUserName: "gh", FromUserName: "o", CreateTime: 1714037059, MsgType: "text"}, h)
	assert.Same(t, &m.(*Text).Header, h)
	assert.Equal(t, "2024-04-25T09:24:19Z", h.Time().UTC().Format("2006-01-02T15:04:05Z07:00"))
}

func TestFormatString(t *testing.T) {
	assert.Equal(t, "xml", FormatXML.String())
	assert.Equal(t, "json", FormatJSON.String())
	assert.Equal(t, "Format(0)", Format(0).String())
	assert.Equal(t, "Format(7)", Format(7).String())
}

// isSentinel reports whether err matches one of Parse's sentinel errors.
func isSentinel(err error) bool {
	return errors.Is(err, ErrUnknownFormat) || errors.Is(err, ErrMalformed) || errors.Is(err, ErrEncrypted)
}

func isInvalidMessage(err error) bool { return errors.Is(err, ErrInvalidMessage) }

// sameResult reports whether two parses agree: equal messages, or errors
// matching the same sentinel.
func sameResult(m1 Message, err1 error, m2 Message, err2 error) bool {
	if err1 != nil || err2 != nil {
		return err1 != nil && err2 != nil && sentinelOf(err1) == sentinelOf(err2)
	}
	return equalMessages(m1, m2)
}

// sentinelOf returns the sentinel err matches, or nil.
func sentinelOf(err error) error {
	for _, s := range []error{ErrUnknownFormat, ErrMalformed, ErrEncrypted, ErrInvalidMessage, ErrInvalidConfig,
		ErrInvalidSignature, ErrExpired, ErrDecrypt, ErrAppIDMismatch, ErrBodyTooLarge} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// equalMessages compares two messages field by field.
func equalMessages(a, b Message) bool {
	return assert.ObjectsAreEqual(a, b)
}
