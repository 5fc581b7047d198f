package csmsg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"strconv"
)

// Mode is how a push is protected, as the mini program's admin chose it.
type Mode int

// The three modes of WeChat's message-push settings.
const (
	ModePlaintext  Mode = iota // 明文模式: the body as is, the query signed
	ModeCompatible             // 兼容模式: the plaintext fields and Encrypt in one body
	ModeSafe                   // 安全模式: only ToUserName and Encrypt
)

// String returns "plaintext", "compatible", "safe", or "Mode(n)".
func (m Mode) String() string {
	switch m {
	case ModePlaintext:
		return "plaintext"
	case ModeCompatible:
		return "compatible"
	case ModeSafe:
		return "safe"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// SignPush builds what WeChat would send to r's URL for a push body (a
// plaintext message, such as [Marshal] writes) in the given mode: the URL
// query and the request body, signed with r's Token, timestamped with r's
// clock, and in compatible and safe mode encrypted with r's key in an
// envelope of the body's format. It is for tests, of a backend's handler and
// of this package, as Stripe's GenerateTestSignedPayload is; r accepts what it
// returns.
func (r *Receiver) SignPush(body []byte, mode Mode) (url.Values, []byte, error) {
	if mode < ModePlaintext || mode > ModeSafe {
		return nil, nil, fmt.Errorf("%w: SignPush of %v", ErrInvalidConfig, mode)
	}
	f, err := sniff(body)
	if err != nil {
		return nil, nil, err
	}
	var h Header
	if msg, err := Parse(body); err == nil {
		h = *msg.MsgHeader()
	}
	var n [4]byte
	if _, err := io.ReadFull(r.rand, n[:]); err != nil {
		return nil, nil, fmt.Errorf("csmsg: reading random bytes: %w", err)
	}
	timestamp := strconv.FormatInt(r.now().Unix(), 10)
	nonce := strconv.FormatUint(uint64(binary.BigEndian.Uint32(n[:])), 10)
	query := url.Values{
		"signature": {Signature(r.token, timestamp, nonce)},
		"timestamp": {timestamp},
		"nonce":     {nonce},
	}
	if mode == ModePlaintext {
		return query, bytes.Clone(body), nil
	}
	encrypt, err := r.Encrypt(body)
	if err != nil {
		return nil, nil, err
	}
	query.Set("encrypt_type", "aes")
	query.Set("msg_signature", Signature(r.token, timestamp, nonce, encrypt))
	query.Set("openid", h.FromUserName)

	if mode == ModeSafe {
		env := encoder{format: f}
		env.open()
		env.str("ToUserName", h.ToUserName)
		env.str("Encrypt", encrypt)
		env.close()
		return query, env.buf, env.err
	}
	compatible, err := withEncrypt(body, f, encrypt)
	return query, compatible, err
}

// withEncrypt returns a copy of body with an Encrypt field added as the last
// field of its root element or object.
func withEncrypt(body []byte, f Format, encrypt string) ([]byte, error) {
	e := encoder{format: f, n: 1} // n: JSON needs a comma first
	e.str("Encrypt", encrypt)
	closing := []byte("</xml>")
	if f == FormatJSON {
		closing = []byte("}")
		if bytes.Equal(bytes.TrimSpace(trimLeft(body)), []byte("{}")) {
			e.buf = e.buf[1:] // an empty object: no comma
		}
	}
	end := bytes.LastIndex(body, closing)
	if end < 0 {
		return nil, fmt.Errorf("%w: no end of the root to add Encrypt before", ErrMalformed)
	}
	out := make([]byte, 0, len(body)+len(e.buf))
	out = append(out, body[:end]...)
	out = append(out, e.buf...)
	return append(out, body[end:]...), nil
}
