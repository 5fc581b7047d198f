package csmsg

import (
	"os"
	"path/filepath"
	"testing"
)

// addSeeds adds every body in testdata/ (and its marshal/ goldens) to f's corpus.
func addSeeds(f *testing.F) {
	for _, pattern := range []string{"testdata/*.xml", "testdata/*.json", "testdata/marshal/*"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range paths {
			body, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(body)
		}
	}
	for _, tc := range inlineCases {
		f.Add([]byte(tc.xml))
		f.Add([]byte(tc.json))
	}
	for _, tc := range badCases {
		f.Add([]byte(tc.body))
	}
}

// FuzzParse checks that no input panics, that every result is one of the
// five message types or a sentinel error, that Parse agrees with the explicit
// parser of the sniffed format, and that whatever Marshal can write parses
// back to the same value.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body)
		if err != nil {
			if m != nil || !isSentinel(err) {
				t.Fatalf("Parse = %#v, %v", m, err)
			}
		}
		format, sniffErr := sniff(body)
		for _, parse := range []func([]byte) (Message, error){ParseXML, ParseJSON} {
			m2, err2 := parse(body)
			if err2 != nil && (m2 != nil || !isSentinel(err2)) {
				t.Fatalf("explicit parser = %#v, %v", m2, err2)
			}
		}
		if sniffErr == nil {
			explicit := map[Format]func([]byte) (Message, error){FormatXML: ParseXML, FormatJSON: ParseJSON}[format]
			m2, err2 := explicit(body)
			if !sameResult(m, err, m2, err2) {
				t.Fatalf("Parse = %#v, %v; explicit %v parser = %#v, %v", m, err, format, m2, err2)
			}
		}
		if err != nil {
			return
		}
		switch m := m.(type) {
		case *Text, *Image, *MiniProgramPage, *UserEnterTempSession:
			checkRoundTrip(t, m)
		case *Unknown:
			if string(m.Raw) != string(body) || m.Format != format {
				t.Fatalf("Unknown holds %v %q, not the body", m.Format, m.Raw)
			}
			out, err := Marshal(m, m.Format)
			if err != nil || string(out) != string(body) {
				t.Fatalf("Marshal(Unknown) = %q, %v", out, err)
			}
		default:
			t.Fatalf("Parse returned a %T", m)
		}
	})
}

// FuzzMarshal builds typed messages from arbitrary strings and checks that
// Marshal either refuses them with ErrInvalidMessage or writes a body that
// parses back to the same value, in both formats.
func FuzzMarshal(f *testing.F) {
	f.Add(uint8(0), "gh_97417a04a28d", openID, int64(1714037059), zhText, bigID, "")
	f.Add(uint8(1), "a]]>b", "\r\n", int64(-1), "]]]]>\r", "0123", "\uFFFE")
	f.Add(uint8(2), "", "\x00", int64(0), "\"\\\t", "-5", "\xff")
	f.Add(uint8(3), "<xml>", "&amp;", int64(1<<62), "]]", " 1 ", "{\"a\":1}")
	f.Fuzz(func(t *testing.T, kind uint8, a, b string, n int64, c, d, e string) {
		h := Header{ToUserName: a, FromUserName: b, CreateTime: n}
		var m Message
		switch kind % 4 {
		case 0:
			h.MsgType = MsgTypeText
			m = &Text{Header: h, MsgID: d, Content: c}
		case 1:
			h.MsgType = MsgTypeImage
			m = &Image{Header: h, MsgID: d, PicURL: c, MediaID: e}
		case 2:
			h.MsgType = MsgTypeMiniProgramPage
			m = &MiniProgramPage{Header: h, MsgID: d, Title: c, AppID: e, PagePath: a, ThumbURL: b, ThumbMediaID: c + e}
		case 3:
			h.MsgType = MsgTypeEvent
			m = &UserEnterTempSession{Header: h, Event: EventUserEnterTempSession, SessionFrom: c}
		}
		checkRoundTrip(t, m)
	})
}

// checkRoundTrip marshals m in both formats and checks that each body that
// Marshal writes parses back to m.
func checkRoundTrip(t *testing.T, m Message) {
	t.Helper()
	for _, format := range []Format{FormatXML, FormatJSON} {
		out, err := Marshal(m, format)
		if err != nil {
			if !isInvalidMessage(err) {
				t.Fatalf("Marshal(%v) error %v is not ErrInvalidMessage", format, err)
			}
			continue
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(%v)) = %v\nbody: %q", format, err, out)
		}
		if !equalMessages(m, back) {
			t.Fatalf("Parse(Marshal(%v)) = %#v, want %#v\nbody: %q", format, back, m, out)
		}
	}
}
