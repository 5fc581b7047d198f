package wxcrypto

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
)

// SignatureLen is the length of a signature: the hex of a SHA-1.
const SignatureLen = 2 * sha1.Size

// Signature returns WeChat's signature of token, timestamp, nonce and the
// extra parts (the Encrypt value, for msg_signature and MsgSignature): the
// lowercase hex SHA-1 of the parts sorted bytewise and joined with no
// separator.
func Signature(token, timestamp, nonce string, extra ...string) string {
	parts := make([]part, 0, 3+len(extra))
	parts = append(parts, part{s: token}, part{s: timestamp}, part{s: nonce})
	for _, e := range extra {
		parts = append(parts, part{s: e})
	}
	var sig [SignatureLen]byte
	sign(&sig, parts)
	return string(sig[:])
}

// Sign is Signature for a receiver's hot path: the signature of token,
// timestamp, nonce and, if not nil, encrypt (bytes of a body), into dst,
// without allocating, however long encrypt is.
func Sign(dst *[SignatureLen]byte, token, timestamp, nonce string, encrypt []byte) {
	parts := [4]part{{s: token}, {s: timestamp}, {s: nonce}, {b: encrypt}}
	n := 3
	if encrypt != nil {
		n = 4
	}
	sign(dst, parts[:n])
}

// SignatureEqual compares a computed signature with a received one in
// constant time (the length is not secret).
func SignatureEqual(want *[SignatureLen]byte, got string) bool {
	if len(got) != len(want) {
		return false
	}
	var v byte
	for i := range want {
		v |= want[i] ^ got[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// part is one part of a signature: a string, or bytes of a body.
type part struct {
	s string
	b []byte
}

// less orders parts bytewise, without converting bytes to a new string.
func (p part) less(q part) bool {
	switch {
	case p.b == nil && q.b == nil:
		return p.s < q.s
	case p.b == nil:
		return p.s < string(q.b)
	case q.b == nil:
		return string(p.b) < q.s
	}
	return string(p.b) < string(q.b)
}

// sign sorts parts bytewise and writes the hex SHA-1 of them joined into
// dst, without allocating.
func sign(dst *[SignatureLen]byte, parts []part) {
	for i := 1; i < len(parts); i++ { // insertion sort: three or four parts
		for j := i; j > 0 && parts[j].less(parts[j-1]); j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	h := sha1.New() // the parts go in one by one: no joined copy, of any length
	for _, p := range parts {
		h.Write([]byte(p.s))
		h.Write(p.b)
	}
	var sum [sha1.Size]byte
	hex.Encode(dst[:], h.Sum(sum[:0]))
}
