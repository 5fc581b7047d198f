package csmsg

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds seedBodies to f's corpus.
func addSeeds(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body)
	}
}

// seedBodies are every body in testdata/ (and its marshal/ goldens), the
// inline and bad cases, and the sample of every kind in the kinds table in
// both formats.
func seedBodies(tb testing.TB) [][]byte {
	var bodies [][]byte
	for _, pattern := range []string{"testdata/*.xml", "testdata/*.json", "testdata/marshal/*"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatal(err)
		}
		for _, path := range paths {
			body, err := os.ReadFile(path)
			if err != nil {
				tb.Fatal(err)
			}
			bodies = append(bodies, body)
		}
	}
	for _, tc := range inlineCases {
		bodies = append(bodies, []byte(tc.xml), []byte(tc.json))
	}
	for _, tc := range badCases {
		bodies = append(bodies, []byte(tc.body))
	}
	return append(bodies, kindSamples(tb)...)
}

// isTyped reports whether m is a message of a kind in the kinds table.
func isTyped(m Message) bool {
	k, _, _ := kindOfMessage(m)
	return k != nil
}

// FuzzParse checks that no input panics, that every result is a message of
// a kind in the kinds table or an Unknown, or a sentinel error, that Parse agrees with the explicit
// parser of the sniffed format, and that whatever Marshal can write parses
// back to the same value.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body)
		if err != nil {
			if m != nil || !isSentinel(err) {
				t.Fatalf("Parse = %s, %v", short(m), err)
			}
		}
		format, sniffErr := sniff(body)
		for _, parse := range []func([]byte) (Message, error){ParseXML, ParseJSON} {
			m2, err2 := parse(body)
			if err2 != nil && (m2 != nil || !isSentinel(err2)) {
				t.Fatalf("explicit parser = %s, %v", short(m2), err2)
			}
		}
		if sniffErr == nil {
			explicit := map[Format]func([]byte) (Message, error){FormatXML: ParseXML, FormatJSON: ParseJSON}[format]
			m2, err2 := explicit(body)
			if !sameResult(m, err, m2, err2) {
				t.Fatalf("Parse = %s, %v; explicit %v parser = %s, %v", short(m), err, format, short(m2), err2)
			}
		}
		if err != nil {
			return
		}
		if u, ok := m.(*Unknown); ok {
			if string(u.Raw) != string(body) || u.Format != format {
				t.Fatalf("Unknown holds %v %.200q, not the body", u.Format, u.Raw)
			}
			out, err := Marshal(u, u.Format)
			if err != nil || string(out) != string(body) {
				t.Fatalf("Marshal(Unknown) = %.200q, %v", out, err)
			}
		} else if isTyped(m) {
			checkRoundTrip(t, m)
		} else {
			t.Fatalf("Parse returned a %T", m)
		}
	})
}

// FuzzMarshal builds typed messages of every kind in the kinds table from
// arbitrary strings (fuzzMessage) and checks that Marshal either refuses
// them with ErrInvalidMessage or writes a body that parses back to the same
// value, in both formats.
func FuzzMarshal(f *testing.F) {
	f.Add(uint8(0), "gh_97417a04a28d", openID, int64(1714037059), zhText, bigID, "")
	f.Add(uint8(1), "a]]>b", "\r\n", int64(-1), "]]]]>\r", "0123", "\uFFFE")
	f.Add(uint8(2), "", "\x00", int64(0), "\"\\\t", "-5", "\xff")
	f.Add(uint8(3), "<xml>", "&amp;", int64(1<<62), "]]", " 1 ", "{\"a\":1}")
	f.Fuzz(func(t *testing.T, kind uint8, a, b string, n int64, c, d, e string) {
		checkRoundTrip(t, fuzzMessage(kind, a, b, n, c, d, e))
	})
}

// fuzzMessage builds a message of the kind at kind (modulo the number of
// kinds) in Kinds: header a, b and n; MsgId d; its other fields, in order,
// c, e, a, b, c+e, e+c, a+b and b+a; Event the kind's.
func fuzzMessage(kind uint8, a, b string, n int64, c, d, e string) Message {
	ks := Kinds()
	k := ks[int(kind)%len(ks)]
	pool := []string{c, e, a, b, c + e, e + c, a + b, b + a}
	values := make([]string, len(k.Fields))
	for i, name := range k.Fields {
		switch name {
		case "MsgId":
			values[i] = d
		case "Event": // New sets the kind's
		default:
			values[i], pool = pool[0], pool[1:]
		}
	}
	return k.New(Header{ToUserName: a, FromUserName: b, CreateTime: n}, values...)
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
			t.Fatalf("Parse(Marshal(%v)) = %v\nbody: %.300q", format, err, out)
		}
		if !equalMessages(m, back) {
			t.Fatalf("Parse(Marshal(%v)) = %s, want %s\nbody: %.300q", format, short(back), short(m), out)
		}
	}
}

// FuzzDecrypt checks that no Encrypt value panics the decryption, that
// every failure is ErrDecrypt or ErrAppIDMismatch, and that Decrypt undoes
// Encrypt. The receiver has a previous key too, so both paths run.
func FuzzDecrypt(f *testing.F) {
	f.Add(encrypt, []byte(vecSafePlain))
	f.Add("ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==", []byte(`{"demo_resp":"good luck"}`))
	f.Add("", []byte{})
	f.Add("AAAA", []byte("x"))
	f.Add(sealRaw(f, vecKey, bytes.Repeat([]byte{32}, 32)), []byte(nil))
	f.Add(sealRaw(f, vecKey, bytes.Repeat([]byte{16}, 32)), []byte(nil))
	f.Add(sealRaw(f, vecKey, withBlocks(payload(1<<32-1, "m", vecAppID, nil), 0, 1)), []byte(nil))
	for _, fx := range loadFixtures(f) {
		if fx.Mode != ModePlaintext.String() {
			f.Add(fx.Body, []byte(fx.Name))
		}
	}
	r := newReceiver(f, true, hostileNow, func(c *Config) { c.PreviousEncodingAESKey = strings.Repeat("B", 43) })
	f.Fuzz(func(t *testing.T, encrypt string, plain []byte) {
		if msg, err := decryptString(r, encrypt); err != nil {
			if msg != nil || !(errors.Is(err, ErrDecrypt) || errors.Is(err, ErrAppIDMismatch)) {
				t.Fatalf("Decrypt = %.200q, %v", msg, err)
			}
		}
		enc := encryptReply(t, r, plain)
		got, err := decryptString(r, enc)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Decrypt(Encrypt(%.200q)) = %.200q, %v", plain, got, err)
		}
	})
}

// FuzzReceiverParse checks that no request panics a receiver, with a key or
// without, that every failure is a sentinel error, and that a body signed
// (and encrypted) by csmsgtest.Sign gives the receiver the same result as Parse of
// the plain body.
func FuzzReceiverParse(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.Query, []byte(fx.Body))
	}
	for _, tc := range hostileCases {
		if q, body := tc.req(f); len(body) < 4096 {
			f.Add(q.Encode(), body)
		}
	}
	f.Add(vecSafeQuery, []byte(vecSafeBody))
	f.Add(vecPlainQuery, []byte(vecPlainBody))
	for _, body := range kindSamples(f) {
		f.Add("", body)
	}
	plain := newReceiver(f, false, fixtureTime, nil)
	keyed := newReceiver(f, true, fixtureTime, nil)
	f.Fuzz(func(t *testing.T, rawQuery string, body []byte) {
		q, _ := url.ParseQuery(rawQuery) // what parses of it
		for _, r := range []*Receiver{plain, keyed} {
			m, err := r.Parse(q, body)
			checkResult(t, m, err)
		}
		for mode, r := range map[Mode]*Receiver{ModePlaintext: plain, ModeCompatible: keyed, ModeSafe: keyed} {
			sq, signed, err := signPush(r, body, mode)
			if err != nil {
				continue // not XML or JSON, or not flat enough to be a compatible-mode envelope
			}
			m, err := r.Parse(sq, signed)
			if errors.Is(err, ErrBodyTooLarge) && len(signed) > DefaultMaxBodyBytes {
				continue
			}
			m2, err2 := Parse(body)
			if mode == ModeCompatible && err2 != nil && err != nil {
				// The body is the envelope here: a receiver may refuse a
				// body Parse refuses for its layout before it reads the
				// message (ErrMalformed for ErrEncrypted, say).
				continue
			}
			if !sameResult(m, err, m2, err2) {
				t.Fatalf("%v: Receiver.Parse = %s, %v; Parse = %s, %v", mode, short(m), err, short(m2), err2)
			}
		}
	})
}

// checkResult fails unless a receiver's result is a message of this
// package's types, or a nil message and a sentinel error.
func checkResult(t *testing.T, m Message, err error) {
	t.Helper()
	if err != nil {
		if m != nil || sentinelOf(err) == nil {
			t.Fatalf("result %s, %v", short(m), err)
		}
		return
	}
	if _, ok := m.(*Unknown); !ok && !isTyped(m) {
		t.Fatalf("result is a %T", m)
	}
}

// kindSamples are the sample of every kind in the kinds table, in both
// formats.
func kindSamples(tb testing.TB) [][]byte {
	var bodies [][]byte
	for _, k := range Kinds() {
		for _, f := range []Format{FormatXML, FormatJSON} {
			body, err := Marshal(k.Sample, f)
			if err != nil {
				tb.Fatal(err)
			}
			bodies = append(bodies, body)
		}
	}
	return bodies
}

// short formats a message for a failure report, cut to a readable length.
func short(m Message) string {
	s := fmt.Sprintf("%#v", m)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}
