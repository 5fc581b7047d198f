package benchmarks

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmsg/csmsg"
	weapp "github.com/medivhzhan/weapp/v3/server"
	silenceper "github.com/silenceper/wechat/v2/miniprogram/message"
)

// bodies are csmsg's realistic test bodies, one per typed kind and format.
var bodies = []string{
	"text.xml", "image.xml", "miniprogrampage.xml", "user_enter_tempsession.xml",
	"text.json", "image.json", "miniprogrampage.json", "user_enter_tempsession.json",
}

// flatMessage holds exactly the fields of the four kinds: the standard
// library's fastest decode, as in csmsg's own benchmarks.
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

// unmarshaler returns the standard decoder for a body's format.
func unmarshaler(name string) func([]byte, any) error {
	if strings.HasSuffix(name, ".xml") {
		return xml.Unmarshal
	}
	return json.Unmarshal
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

func BenchmarkParse(b *testing.B) {
	for _, name := range bodies {
		body, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			b.Fatal(err)
		}
		unmarshal := unmarshaler(name)
		impls := []struct {
			name string
			fn   func() error
		}{
			{"csmsg", func() error { _, err := csmsg.Parse(body); return err }},
			{"silenceper", func() error { return silenceperParse(unmarshal, body) }},
			{"weapp", func() error { return weappParse(unmarshal, body) }},
			{"stdlib", func() error { var m flatMessage; return unmarshal(body, &m) }},
		}
		for _, impl := range impls {
			b.Run("body="+name+"/impl="+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := impl.fn(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestSameValues checks that every SDK decodes the bodies, so that the
// benchmarks compare work that succeeds.
func TestSameValues(t *testing.T) {
	for _, name := range bodies {
		body, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
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
		if h := msg.MsgHeader(); h.FromUserName != mix.FromUserName || h.CreateTime != mix.CreateTime || string(mix.MsgType) != h.MsgType {
			t.Errorf("%s: csmsg %+v, silenceper %+v", name, h, mix.CommonToken)
		}
	}
}
