package csmsg

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

// flatMessage holds exactly the fields of the four typed kinds: decoding
// into it with xml.Unmarshal or json.Unmarshal is the fastest thing the
// standard library does with a push, and the baseline of the benchmarks.
// (It matches names case-insensitively in JSON and checks nothing, so it is
// faster than a correct decoder.)
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

// benchBodies are the realistic bodies of each typed kind: 28-character
// openids, Chinese text, 19-digit MsgIds; one whose SessionFrom holds JSON,
// which the JSON push escapes (eight escaped quotes); and WeChat's own
// samples from its documentation, indented (official_*).
var benchBodies = []string{
	"text.xml", "image.xml", "miniprogrampage.xml", "user_enter_tempsession.xml",
	"user_enter_tempsession_json_from.xml",
	"official_text.xml", "official_image.xml", "official_miniprogrampage.xml", "official_user_enter_tempsession.xml",
	"text.json", "image.json", "miniprogrampage.json", "user_enter_tempsession.json",
	"user_enter_tempsession_json_from.json",
	"official_text.json", "official_image.json", "official_miniprogrampage.json", "official_user_enter_tempsession.json",
}

func readBench(b *testing.B, name string) []byte {
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkDecode compares, on each body: Parse ("csmsg"), the reference
// decoders ("reference"), the standard library into flatMessage ("stdlib"),
// and the floor of copying the body into a string ("copy").
func BenchmarkDecode(b *testing.B) {
	for _, name := range benchBodies {
		body := readBench(b, name)
		isXML := filepath.Ext(name) == ".xml"
		reference, unmarshal := parseJSONReference, json.Unmarshal
		if isXML {
			reference, unmarshal = parseXMLReference, xml.Unmarshal
		}
		impls := []struct {
			name string
			fn   func() error
		}{
			{"csmsg", func() error { _, err := Parse(body); return err }},
			{"reference", func() error { _, err := reference(body); return err }},
			{"stdlib", func() error { var m flatMessage; return unmarshal(body, &m) }},
			{"copy", func() error { sink = string(body); return nil }},
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

// sink keeps the compiler from dropping a benchmark's work.
var sink string

// BenchmarkReceiverParse verifies, decrypts and parses a safe-mode push of
// each body, checks and parses a plaintext one, and, for comparison, parses
// the body alone with Parse.
func BenchmarkReceiverParse(b *testing.B) {
	keyed := newReceiver(b, true, fixtureTime, nil)
	plain := newReceiver(b, false, fixtureTime, nil)
	for _, name := range benchBodies {
		body := readBench(b, name)
		safeQuery, safeBody, err := signPush(keyed, body, ModeSafe)
		if err != nil {
			b.Fatal(err)
		}
		plainQuery, plainBody, err := signPush(plain, body, ModePlaintext)
		if err != nil {
			b.Fatal(err)
		}
		modes := []struct {
			name string
			size int
			fn   func() error
		}{
			{"safe", len(safeBody), func() error { _, err := keyed.Parse(safeQuery, safeBody); return err }},
			{"plaintext", len(plainBody), func() error { _, err := plain.Parse(plainQuery, plainBody); return err }},
			{"Parse", len(body), func() error { _, err := Parse(body); return err }},
		}
		for _, mode := range modes {
			b.Run("body="+name+"/mode="+mode.name, func(b *testing.B) {
				b.SetBytes(int64(mode.size))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := mode.fn(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
