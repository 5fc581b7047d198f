package wxcrypto

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendPush(t *testing.T) {
	cases := []struct {
		json     bool
		to, want string
	}{
		{false, "gh_97417a04a28d", `<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[ab+/=]]></Encrypt></xml>`},
		{true, "gh_97417a04a28d", `{"ToUserName":"gh_97417a04a28d","Encrypt":"ab+/="}`},
		{false, "", `<xml><ToUserName></ToUserName><Encrypt><![CDATA[ab+/=]]></Encrypt></xml>`},
		{false, "a]]>b<&", `<xml><ToUserName><![CDATA[a]]]]><![CDATA[>b<&]]></ToUserName><Encrypt><![CDATA[ab+/=]]></Encrypt></xml>`},
		{true, `a"b\c<&>`, `{"ToUserName":"a\"b\\c<&>","Encrypt":"ab+/="}`},
		{true, "你好", `{"ToUserName":"你好","Encrypt":"ab+/="}`},
	}
	for _, tc := range cases {
		got, err := AppendPush([]byte("prefix:"), tc.json, tc.to, "ab+/=")
		require.NoError(t, err)
		assert.Equal(t, "prefix:"+tc.want, string(got))
	}
	for _, bad := range []string{"a\x00", "a\nb", "\xff", "\uFFFE"} {
		for _, json := range []bool{false, true} {
			_, err := AppendPush(nil, json, bad, "x")
			require.ErrorIs(t, err, ErrEnvelope, "%q", bad)
			assert.EqualError(t, err, "bad envelope: ToUserName holds a control character, a non-character or invalid UTF-8")
		}
	}
}

func TestAddEncrypt(t *testing.T) {
	cases := []struct {
		json       bool
		body, want string
		err        string
	}{
		{false, `<xml><MsgType>text</MsgType></xml>`, `<xml><MsgType>text</MsgType><Encrypt><![CDATA[E=]]></Encrypt></xml>`, ""},
		{false, "<xml>\n<MsgType>text</MsgType>\n</xml>\n", "<xml>\n<MsgType>text</MsgType>\n<Encrypt><![CDATA[E=]]></Encrypt></xml>\n", ""},
		{true, `{"MsgType":"text"}`, `{"MsgType":"text","Encrypt":"E="}`, ""},
		{true, "\uFEFF { }", "\uFEFF { \"Encrypt\":\"E=\"}", ""},
		{true, `{}`, `{"Encrypt":"E="}`, ""},
		{false, `<root><MsgType>text</MsgType></root>`, "", "bad envelope: no </xml> that ends the root, to add Encrypt before"},
		{true, `[1]`, "", "bad envelope: no } that ends the root, to add Encrypt before"},
	}
	for _, tc := range cases {
		got, err := AddEncrypt([]byte(tc.body), tc.json, "E=")
		if tc.err != "" {
			require.ErrorIs(t, err, ErrEnvelope)
			assert.EqualError(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(got))
	}
}

// TestSealReply: the worked vector's reply in both formats, and what
// ReadReply and Open read back.
func TestSealReply(t *testing.T) {
	k := mustKey(t, vecKey)
	cases := []struct {
		json bool
		want string
	}{
		{false, `<xml><Encrypt><![CDATA[` + replyEnc + `]]></Encrypt><MsgSignature><![CDATA[` + replySig + `]]></MsgSignature><TimeStamp>1713424427</TimeStamp><Nonce><![CDATA[415670741]]></Nonce></xml>`},
		{true, `{"Encrypt":"` + replyEnc + `","MsgSignature":"` + replySig + `","TimeStamp":1713424427,"Nonce":"415670741"}`},
	}
	for _, tc := range cases {
		out, err := SealReply(k, strings.NewReader(replyRand), vecToken, vecAppID, replyTime, vecNonce, []byte(replyPlain), tc.json)
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(out))

		env, err := ReadReply(out)
		require.NoError(t, err)
		assert.Equal(t, Reply{Encrypt: replyEnc, MsgSignature: replySig, TimeStamp: replyTime, Nonce: vecNonce}, env)
		plain, err := env.Open(k, vecToken, vecAppID)
		require.NoError(t, err)
		assert.Equal(t, replyPlain, string(plain))
	}

	_, err := SealReply(k, strings.NewReader(replyRand), vecToken, vecAppID, replyTime, "a\x00", []byte(replyPlain), true)
	require.ErrorIs(t, err, ErrEnvelope)
	_, err = SealReply(k, strings.NewReader(replyRand), vecToken, vecAppID, replyTime, "", []byte(replyPlain), true)
	require.ErrorIs(t, err, ErrEnvelope)
	assert.EqualError(t, err, "bad envelope: empty Nonce")
	_, err = SealReply(k, strings.NewReader(replyRand), vecToken, vecAppID, "soon", vecNonce, []byte(replyPlain), true)
	require.ErrorIs(t, err, ErrEnvelope)
	assert.EqualError(t, err, `bad envelope: TimeStamp "soon" is not a number`)
}

func TestReadReply(t *testing.T) {
	cases := []struct {
		body string
		want Reply
		err  string
	}{
		{`{"Encrypt":"e","MsgSignature":"s","TimeStamp":"12","Nonce":"n"}`, Reply{"e", "s", "12", "n"}, ""},
		{` {"TimeStamp":12} `, Reply{TimeStamp: "12"}, ""},
		{"<xml><Encrypt>e</Encrypt><TimeStamp> 12 </TimeStamp></xml>", Reply{Encrypt: "e", TimeStamp: "12"}, ""},
		{`{"TimeStamp":1.5}`, Reply{TimeStamp: "1.5"}, `bad envelope: TimeStamp "1.5" is not an integer`},
		{`{"Encrypt":1}`, Reply{}, "bad envelope: not a JSON envelope: json: cannot unmarshal number into Go struct field .Encrypt of type string"},
		{`<root/>`, Reply{}, "bad envelope: not an XML envelope: expected element type <xml> but have <root>"},
	}
	for _, tc := range cases {
		got, err := ReadReply([]byte(tc.body))
		assert.Equal(t, tc.want, got, tc.body)
		if tc.err != "" {
			require.ErrorIs(t, err, ErrEnvelope)
			assert.EqualError(t, err, tc.err)
		} else {
			require.NoError(t, err)
		}
	}
}

func TestReplyOpenErrors(t *testing.T) {
	k := mustKey(t, vecKey)
	seal := func(token, appID, nonce string) string {
		out, err := SealReply(k, strings.NewReader(replyRand), token, appID, replyTime, nonce, []byte(replyPlain), true)
		require.NoError(t, err)
		return string(out)
	}
	good := seal(vecToken, vecAppID, vecNonce)
	cases := []struct {
		name, body string
		err        error
		text       string
	}{
		{"no Nonce", strings.Replace(good, `,"Nonce":"415670741"`, "", 1), ErrEnvelope, "bad envelope: an encrypted reply needs Encrypt, MsgSignature, TimeStamp and Nonce"},
		{"another token", seal("BBBBB", vecAppID, vecNonce), ErrSignature, "MsgSignature does not match sha1(sort(Token, TimeStamp, Nonce, Encrypt))"},
		{"edited nonce", strings.Replace(good, vecNonce, "1", 1), ErrSignature, "MsgSignature does not match sha1(sort(Token, TimeStamp, Nonce, Encrypt))"},
		{"another appid", seal(vecToken, "wx0000000000000000", vecNonce), ErrAppIDMismatch, "appid mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ReadReply([]byte(tc.body))
			require.NoError(t, err)
			plain, err := env.Open(k, vecToken, vecAppID)
			assert.Nil(t, plain)
			require.ErrorIs(t, err, tc.err)
			assert.EqualError(t, err, tc.text)
		})
	}
	// Another key's reply does not decrypt.
	env, err := ReadReply([]byte(good))
	require.NoError(t, err)
	_, err = env.Open(mustKey(t, strings.Repeat("B", 43)), vecToken, vecAppID)
	require.ErrorIs(t, err, ErrDecrypt)
}
