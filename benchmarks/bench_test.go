package benchmarks

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/csmsg/csmsg"
	goccy "github.com/goccy/go-json"
	jsoniter "github.com/json-iterator/go"
	weapp "github.com/medivhzhan/weapp/v3/server"
	segmentio "github.com/segmentio/encoding/json"
	silenceper "github.com/silenceper/wechat/v2/miniprogram/message"
)

// bodies are csmsg's realistic test bodies, one per typed kind and format,
// the one whose SessionFrom holds escaped JSON, and WeChat's own samples
// from its documentation (official_*).
var bodies = []string{
	"text.xml", "image.xml", "miniprogrampage.xml", "user_enter_tempsession.xml",
	"user_enter_tempsession_json_from.xml",
	"official_text.xml", "official_image.xml", "official_miniprogrampage.xml", "official_user_enter_tempsession.xml",
	"text.json", "image.json", "miniprogrampage.json", "user_enter_tempsession.json",
	"user_enter_tempsession_json_from.json",
	"official_text.json", "official_image.json", "official_miniprogrampage.json", "official_user_enter_tempsession.json",
}

// flatMessage holds exactly the fields of the four kinds: what a Go
// developer would decode a push into with a general-purpose decoder, and
// the standard library's fastest decode, as in csmsg's own benchmarks.
type flatMessage struct {
	XMLName      xml.Name `xml:"xml" json:"-"`
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      string
	MsgId        int64
	Content      string
	PicUrl       string
	MediaId      string
	Title        string
	AppId        string
	PagePath     string
	ThumbUrl     string
	ThumbMediaId string
	Event        string
	SessionFrom  string
}

func isXML(name string) bool { return strings.HasSuffix(name, ".xml") }

// unmarshaler returns the standard decoder for a body's format.
func unmarshaler(name string) func([]byte, any) error {
	if isXML(name) {
		return xml.Unmarshal
	}
	return json.Unmarshal
}

// jsoniterFastest is json-iterator's fastest configuration; for decoding
// into a struct it differs from its standard-library-compatible one in
// nothing these bodies exercise.
var jsoniterFastest = jsoniter.ConfigFastest

// jsonDecoders are the general-purpose JSON decoders, each into
// flatMessage. bytedance/sonic v1.15 supports Go up to 1.27 on amd64 and
// arm64, so it builds with this module's Go 1.26; its default
// configuration is its fastest (no UTF-8 validation, unlike the others).
var jsonDecoders = []struct {
	name      string
	unmarshal func([]byte, any) error
}{
	{"goccy", goccy.Unmarshal},
	{"sonic", sonic.Unmarshal},
	{"segmentio", segmentio.Unmarshal},
	{"jsoniter", jsoniterFastest.Unmarshal},
}

// silenceperParse is silenceper/wechat v2.1.10's typed path, as its users
// run it: PushReceiver.GetMsgData decodes the common fields to dispatch, and
// the caller decodes the body again into MiniProgramMixMessage.
func silenceperParse(unmarshal func([]byte, any) error, body []byte) error {
	var common silenceper.CommonPushData
	if err := unmarshal(body, &common); err != nil {
		return err
	}
	var msg silenceper.MiniProgramMixMessage
	return unmarshal(body, &msg)
}

// weappParse is medivhzhan/weapp v3.8.1's server decode path
// (Server.handleRequest): the common fields, then the kind's own type.
func weappParse(unmarshal func([]byte, any) error, body []byte) error {
	var common weapp.CommonServerResult
	if err := unmarshal(body, &common); err != nil {
		return err
	}
	var msg any
	switch common.MsgType {
	case weapp.MsgText:
		msg = new(weapp.TextMessageResult)
	case weapp.MsgImg:
		msg = new(weapp.ImageMessageResult)
	case weapp.MsgCard:
		msg = new(weapp.CardMessageResult)
	default:
		msg = new(weapp.UserTempsessionEnterResult)
	}
	return unmarshal(body, msg)
}

// impl is one implementation under benchmark: fn decodes one body.
type impl struct {
	name string
	fn   func(body []byte) error
}

// impls returns what decodes a body of this name's format: csmsg first,
// the SDKs, the standard library, and for JSON the general-purpose decoders.
func impls(name string) []impl {
	unmarshal := unmarshaler(name)
	list := []impl{
		{"csmsg", func(body []byte) error { _, err := csmsg.Parse(body); return err }},
		{"silenceper", func(body []byte) error { return silenceperParse(unmarshal, body) }},
		{"weapp", func(body []byte) error { return weappParse(unmarshal, body) }},
		{"stdlib", func(body []byte) error { var m flatMessage; return unmarshal(body, &m) }},
	}
	if !isXML(name) {
		for _, d := range jsonDecoders {
			list = append(list, impl{d.name, func(body []byte) error { var m flatMessage; return d.unmarshal(body, &m) }})
		}
	}
	return list
}

func readBody(tb testing.TB, name string) []byte {
	body, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkParse decodes the same body every iteration.
func BenchmarkParse(b *testing.B) {
	for _, name := range bodies {
		body := readBody(b, name)
		for _, im := range impls(name) {
			b.Run("body="+name+"/impl="+im.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := im.fn(body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkParseVaried decodes numVariants different bodies of each kind in
// turn (other openids, ids, times and contents; see variants), so that no
// decoder gains from seeing the same bytes every iteration. Bytes per
// operation are the variants' mean length.
func BenchmarkParseVaried(b *testing.B) {
	for _, name := range bodies {
		vs := variants(b, name, readBody(b, name))
		total := 0
		for _, v := range vs {
			total += len(v)
		}
		for _, im := range impls(name) {
			b.Run("body="+name+"/impl="+im.name, func(b *testing.B) {
				b.SetBytes(int64(total / len(vs)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := im.fn(vs[i%len(vs)]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestSameValues checks that every decoder decodes every body, so that the
// benchmarks compare work that succeeds, and that the general-purpose
// decoders find the values csmsg finds.
func TestSameValues(t *testing.T) {
	for _, name := range bodies {
		body := readBody(t, name)
		msg, err := csmsg.Parse(body)
		if err != nil {
			t.Fatalf("%s: csmsg: %v", name, err)
		}
		var mix silenceper.MiniProgramMixMessage
		if err := unmarshaler(name)(body, &mix); err != nil {
			t.Fatalf("%s: silenceper: %v", name, err)
		}
		if err := weappParse(unmarshaler(name), body); err != nil {
			t.Fatalf("%s: weapp: %v", name, err)
		}
		h := msg.MsgHeader()
		if h.FromUserName != mix.FromUserName || h.CreateTime != mix.CreateTime || string(mix.MsgType) != h.MsgType {
			t.Errorf("%s: csmsg %+v, silenceper %+v", name, h, mix.CommonToken)
		}
		var want flatMessage
		if err := unmarshaler(name)(body, &want); err != nil {
			t.Fatalf("%s: stdlib: %v", name, err)
		}
		if want.FromUserName != h.FromUserName || want.ToUserName != h.ToUserName || want.CreateTime != h.CreateTime || want.MsgType != h.MsgType {
			t.Errorf("%s: csmsg %+v, stdlib %+v", name, h, want)
		}
		if isXML(name) {
			continue
		}
		for _, d := range jsonDecoders {
			var got flatMessage
			if err := d.unmarshal(body, &got); err != nil {
				t.Fatalf("%s: %s: %v", name, d.name, err)
			}
			if got != want {
				t.Errorf("%s: %s decodes %+v, encoding/json %+v", name, d.name, got, want)
			}
		}
	}
}
