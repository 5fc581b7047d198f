package wxcrypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzReply checks that no body panics ReadReply or Open, that every
// failure is one of the package's errors, and that ReadReply and Open undo
// SealReply for any reply and nonce SealReply takes.
func FuzzReply(f *testing.F) {
	k, err := ParseKey(vecKey)
	if err != nil {
		f.Fatal(err)
	}
	for _, json := range []bool{false, true} {
		out, err := SealReply(k, strings.NewReader(replyRand), vecToken, vecAppID, replyTime, vecNonce, []byte(replyPlain), json)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out, []byte(replyPlain), vecNonce)
	}
	f.Add([]byte(`{"Encrypt":"AAAA","MsgSignature":"x","TimeStamp":"1","Nonce":"n"}`), []byte{}, "]]>")
	f.Add([]byte(`<xml><TimeStamp>x</TimeStamp></xml>`), []byte("x"), `"\`)
	f.Fuzz(func(t *testing.T, body, plain []byte, nonce string) {
		if env, err := ReadReply(body); err != nil {
			if !errors.Is(err, ErrEnvelope) {
				t.Fatalf("ReadReply: %v", err)
			}
		} else if msg, err := env.Open(k, vecToken, vecAppID); err != nil {
			if msg != nil || !(errors.Is(err, ErrEnvelope) || errors.Is(err, ErrSignature) || errors.Is(err, ErrDecrypt) || err == ErrAppIDMismatch) {
				t.Fatalf("Open = %.200q, %v", msg, err)
			}
		}
		for _, json := range []bool{false, true} {
			out, err := SealReply(k, strings.NewReader(replyRand), vecToken, vecAppID, replyTime, nonce, plain, json)
			if err != nil {
				if !errors.Is(err, ErrEnvelope) {
					t.Fatalf("SealReply: %v", err)
				}
				continue
			}
			env, err := ReadReply(out)
			if err != nil {
				t.Fatalf("ReadReply(SealReply(nonce %q)): %v\n%s", nonce, err, out)
			}
			got, err := env.Open(k, vecToken, vecAppID)
			if err != nil || !bytes.Equal(got, plain) || env.Nonce != nonce {
				t.Fatalf("Open(SealReply(%.200q, nonce %q)) = %.200q, nonce %q, %v", plain, nonce, got, env.Nonce, err)
			}
		}
	})
}
