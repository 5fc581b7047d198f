package wxcrypto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendPush appends a safe-mode push body to dst: ToUserName and Encrypt,
// in XML (values in CDATA) or JSON, as WeChat sends it.
func AppendPush(dst []byte, json bool, toUserName, encrypt string) ([]byte, error) {
	w := writer{buf: dst, json: json}
	w.open()
	w.str("ToUserName", toUserName)
	w.str("Encrypt", encrypt)
	w.close()
	return w.buf, w.err
}

// AddEncrypt returns a compatible-mode body: a copy of body, a plaintext
// push whose root is <xml> or a JSON object, with an Encrypt field added as
// the last field of its root.
func AddEncrypt(body []byte, json bool, encrypt string) ([]byte, error) {
	closing := []byte("</xml>")
	if json {
		closing = []byte("}")
	}
	end := bytes.LastIndex(body, closing)
	if end < 0 {
		return nil, fmt.Errorf("%w: no %s that ends the root, to add Encrypt before", ErrEnvelope, closing)
	}
	empty := json && len(bytes.TrimSpace(bytes.TrimLeft(body[:end], "\uFEFF \t\r\n{"))) == 0
	w := writer{buf: make([]byte, 0, len(body)+len(encrypt)+32), json: json}
	w.buf = append(w.buf, body[:end]...)
	if !empty {
		w.n = 1 // a comma before Encrypt
	}
	w.str("Encrypt", encrypt)
	if w.err != nil {
		return nil, w.err
	}
	return append(w.buf, body[end:]...), nil
}

// Reply is the envelope of an encrypted passive reply. MsgSignature is the
// signature of Token, TimeStamp, Nonce and Encrypt; TimeStamp is Unix
// seconds in decimal.
type Reply struct {
	Encrypt, MsgSignature, TimeStamp, Nonce string
}

// SealReply encrypts plain, a passive reply, with key for appID, signs it
// with token, timestamp and nonce, and returns the envelope in XML or JSON,
// as WeChat takes it. A failure is [ErrTooLong], an error reading rand, or
// matches [ErrEnvelope]: an empty nonce, or one the envelope cannot carry.
func SealReply(key *Key, rand io.Reader, token, appID, timestamp, nonce string, plain []byte, json bool) ([]byte, error) {
	if nonce == "" {
		return nil, fmt.Errorf("%w: empty Nonce", ErrEnvelope)
	}
	encrypt, err := key.Seal(rand, plain, appID)
	if err != nil {
		return nil, err
	}
	var sig [SignatureLen]byte
	Sign(&sig, token, timestamp, nonce, []byte(encrypt))
	return AppendReply(nil, json, Reply{Encrypt: encrypt, MsgSignature: string(sig[:]), TimeStamp: timestamp, Nonce: nonce})
}

// AppendReply appends the envelope r to dst, in XML (TimeStamp a number,
// the rest in CDATA) or JSON (TimeStamp a number).
func AppendReply(dst []byte, json bool, r Reply) ([]byte, error) {
	w := writer{buf: dst, json: json}
	w.open()
	w.str("Encrypt", r.Encrypt)
	w.str("MsgSignature", r.MsgSignature)
	w.number("TimeStamp", r.TimeStamp)
	w.str("Nonce", r.Nonce)
	w.close()
	return w.buf, w.err
}

// ReadReply reads an encrypted passive reply's envelope, XML or JSON (by
// its first byte after white space), with TimeStamp a number or a string
// of one. It checks neither that every field is there nor the signature:
// see [Reply.Open]. An error matches [ErrEnvelope].
func ReadReply(body []byte) (Reply, error) {
	var r Reply
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var j struct {
			Encrypt, MsgSignature, Nonce string
			TimeStamp                    json.RawMessage
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return r, fmt.Errorf("%w: not a JSON envelope: %v", ErrEnvelope, err)
		}
		r = Reply{Encrypt: j.Encrypt, MsgSignature: j.MsgSignature, Nonce: j.Nonce, TimeStamp: strings.Trim(string(j.TimeStamp), `"`)}
	} else {
		var x struct {
			XMLName                                 xml.Name `xml:"xml"`
			Encrypt, MsgSignature, TimeStamp, Nonce string
		}
		if err := xml.Unmarshal(body, &x); err != nil {
			return r, fmt.Errorf("%w: not an XML envelope: %v", ErrEnvelope, err)
		}
		r = Reply{Encrypt: x.Encrypt, MsgSignature: x.MsgSignature, Nonce: x.Nonce, TimeStamp: strings.TrimSpace(x.TimeStamp)}
	}
	if _, err := strconv.ParseInt(r.TimeStamp, 10, 64); r.TimeStamp != "" && err != nil {
		return r, fmt.Errorf("%w: TimeStamp %q is not an integer", ErrEnvelope, shorten(r.TimeStamp, 20))
	}
	return r, nil
}

// Open checks an encrypted passive reply's envelope as WeChat does: it
// must hold Encrypt, MsgSignature, TimeStamp and Nonce, MsgSignature must
// be the signature of token, TimeStamp, Nonce and Encrypt, and Encrypt must
// decrypt with key to a payload ending with appID. It returns the reply
// the envelope holds. A failure matches [ErrEnvelope], [ErrSignature] or
// [ErrDecrypt], or is [ErrAppIDMismatch].
func (r Reply) Open(key *Key, token, appID string) ([]byte, error) {
	if r.Encrypt == "" || r.MsgSignature == "" || r.TimeStamp == "" || r.Nonce == "" {
		return nil, fmt.Errorf("%w: an encrypted reply needs Encrypt, MsgSignature, TimeStamp and Nonce", ErrEnvelope)
	}
	var want [SignatureLen]byte
	Sign(&want, token, r.TimeStamp, r.Nonce, []byte(r.Encrypt))
	if !SignatureEqual(&want, r.MsgSignature) {
		return nil, fmt.Errorf("%w sha1(sort(Token, TimeStamp, Nonce, Encrypt))", ErrSignature)
	}
	return Decrypt(key, nil, []byte(r.Encrypt), appID)
}

// shorten returns at most n runes of s, for an error message.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

// writer writes the fields of one flat envelope. The first error sticks;
// later writes do nothing.
type writer struct {
	buf  []byte
	json bool
	n    int // fields written, for JSON's commas
	err  error
}

func (w *writer) open() {
	if w.json {
		w.buf = append(w.buf, '{')
	} else {
		w.buf = append(w.buf, "<xml>"...)
	}
}

func (w *writer) close() {
	if w.json {
		w.buf = append(w.buf, '}')
	} else {
		w.buf = append(w.buf, "</xml>"...)
	}
}

// field writes the field name with its value, already written for the
// format by value.
func (w *writer) field(name string, value func()) {
	if w.json {
		if w.n > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = append(w.buf, '"')
		w.buf = append(w.buf, name...)
		w.buf = append(w.buf, '"', ':')
		value()
	} else {
		w.buf = append(w.buf, '<')
		w.buf = append(w.buf, name...)
		w.buf = append(w.buf, '>')
		value()
		w.buf = append(w.buf, '<', '/')
		w.buf = append(w.buf, name...)
		w.buf = append(w.buf, '>')
	}
	w.n++
}

// number writes a field whose value is a decimal integer.
func (w *writer) number(name, digits string) {
	if w.err != nil {
		return
	}
	if _, err := strconv.ParseInt(digits, 10, 64); err != nil {
		w.err = fmt.Errorf("%w: %s %q is not a number", ErrEnvelope, name, shorten(digits, 20))
		return
	}
	w.field(name, func() { w.buf = append(w.buf, digits...) })
}

// str writes a field with a string value: a JSON string, or CDATA (nothing
// for an empty value). The values of an envelope are base64, hex, digits
// and ids, so a value with a control character, U+FFFE, U+FFFF or invalid
// UTF-8 is refused rather than escaped.
func (w *writer) str(name, v string) {
	if w.err != nil {
		return
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0xFFFE || r == 0xFFFF }) {
		w.err = fmt.Errorf("%w: %s holds a control character, a non-character or invalid UTF-8", ErrEnvelope, name)
		return
	}
	w.field(name, func() {
		switch {
		case w.json:
			w.buf = append(w.buf, '"')
			for i := 0; i < len(v); i++ {
				if v[i] == '"' || v[i] == '\\' {
					w.buf = append(w.buf, '\\')
				}
				w.buf = append(w.buf, v[i])
			}
			w.buf = append(w.buf, '"')
		case v != "":
			w.buf = append(w.buf, "<![CDATA["...)
			w.buf = append(w.buf, strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>")...)
			w.buf = append(w.buf, "]]>"...)
		}
	})
}
