package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testToken = "test-token"
	testKey   = demoAESKey
	testAppID = "wxba5fad812f8e6fb9"
)

// fast are the flags that shorten WeChat's timings for tests.
var fast = []string{"--timeout", "2s", "--retry-pause", "1ms"}

// runCmd runs the command with args and returns its exit status and output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// recordingBot is a library handler on loopback that records what its
// HandlerFunc is called with.
type recordingBot struct {
	*httptest.Server
	mu   sync.Mutex
	msgs []csmsg.Message
}

func (b *recordingBot) got() []csmsg.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]csmsg.Message(nil), b.msgs...)
}

// newBot starts a Receiver.Handler for cfg; with transfer, it answers
// Transfer (a passive reply to messages, "success" to events).
func newBot(t *testing.T, cfg csmsg.Config, transfer bool) *recordingBot {
	t.Helper()
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	b := &recordingBot{}
	b.Server = httptest.NewServer(r.Handler(func(_ context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
		b.mu.Lock()
		b.msgs = append(b.msgs, msg)
		b.mu.Unlock()
		if transfer {
			return csmsg.Transfer(msg), nil
		}
		return nil, nil
	}))
	t.Cleanup(b.Close)
	return b
}

// modeConfig returns the receiver config and the flags of mode.
func modeConfig(mode string) (csmsg.Config, []string) {
	if mode == "plain" {
		return csmsg.Config{Token: testToken}, []string{"--token", testToken, "--mode", mode}
	}
	return csmsg.Config{Token: testToken, EncodingAESKey: testKey, AppID: testAppID},
		[]string{"--token", testToken, "--aes-key", testKey, "--appid", testAppID, "--mode", mode}
}

func TestSendEveryKindFormatMode(t *testing.T) {
	want := map[string]csmsg.Message{
		"text": &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_test", FromUserName: "oUser", CreateTime: 1714112445, MsgType: "text"},
			MsgID: "6054768590064713728", Content: "hello <&> 你好"},
		"image": &csmsg.Image{Header: csmsg.Header{ToUserName: "gh_test", FromUserName: "oUser", CreateTime: 1714112445, MsgType: "image"},
			MsgID: "6054768590064713728", PicURL: "http://pic/1?a=b&c=d", MediaID: "MEDIA"},
		"miniprogrampage": &csmsg.MiniProgramPage{Header: csmsg.Header{ToUserName: "gh_test", FromUserName: "oUser", CreateTime: 1714112445, MsgType: "miniprogrampage"},
			MsgID: "6054768590064713728", Title: "T", AppID: "wxcard", PagePath: "pages/a?b=c", ThumbURL: "http://thumb", ThumbMediaID: "THUMB"},
		"user_enter_tempsession": &csmsg.UserEnterTempSession{Header: csmsg.Header{ToUserName: "gh_test", FromUserName: "oUser", CreateTime: 1714112445, MsgType: "event"},
			Event: "user_enter_tempsession", SessionFrom: "from-button"},
	}
	fields := []string{"--to", "gh_test", "--from", "oUser", "--create-time", "1714112445", "--msgid", "6054768590064713728",
		"--content", "hello <&> 你好", "--pic-url", "http://pic/1?a=b&c=d", "--media-id", "MEDIA", "--title", "T", "--card-appid", "wxcard",
		"--page-path", "pages/a?b=c", "--thumb-url", "http://thumb", "--thumb-media-id", "THUMB", "--session-from", "from-button"}
	for _, kind := range []string{"text", "image", "miniprogrampage", "user_enter_tempsession"} {
		for _, format := range []string{"xml", "json"} {
			for _, mode := range []string{"plain", "compatible", "safe"} {
				for _, transfer := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/%s/%s/transfer=%v", kind, format, mode, transfer), func(t *testing.T) {
						cfg, flags := modeConfig(mode)
						cfg.Tolerance = -1 // the pushes are dated 2024
						bot := newBot(t, cfg, transfer)
						args := append([]string{"send", kind, "--url", bot.URL + "/wechat?x=1", "--format", format}, flags...)
						args = append(append(args, fields...), fast...)
						code, stdout, stderr := runCmd(t, "", args...)
						require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
						assert.Empty(t, stderr)
						assert.Contains(t, stdout, "attempt 1/3: status 200")
						if transfer && kind != "user_enter_tempsession" {
							assert.Contains(t, stdout, "passive reply transfer_customer_service to oUser, well-formed")
						}
						got := bot.got()
						require.Len(t, got, 1)
						assert.Equal(t, want[kind], got[0])
					})
				}
			}
		}
	}
}

func TestSendRaw(t *testing.T) {
	for _, name := range []string{"text.xml", "image.json", "subscribe_msg_popup_event.xml"} {
		for _, mode := range []string{"plain", "safe"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				path := filepath.Join("..", "..", "testdata", name)
				body, err := os.ReadFile(path)
				require.NoError(t, err)
				cfg, flags := modeConfig(mode)
				bot := newBot(t, cfg, false)
				for _, src := range []struct{ file, stdin string }{{path, ""}, {"-", string(body)}} {
					args := append(append([]string{"send", "raw", "--url", bot.URL, "--body", src.file}, flags...), fast...)
					code, stdout, stderr := runCmd(t, src.stdin, args...)
					require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
				}
				want, err := csmsg.Parse(body)
				require.NoError(t, err)
				got := bot.got()
				require.Len(t, got, 1, "the second push is the same push: deduplicated")
				assert.Equal(t, want.MsgHeader(), got[0].MsgHeader())
			})
		}
	}
}

// TestSendRawRefusesBadInput checks that a --body that is not a plaintext
// push is refused before anything is sent, unless --force.
func TestSendRawRefusesBadInput(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.bin")
	require.NoError(t, os.WriteFile(junk, []byte("\x00\x01junk"), 0o600))
	encrypted := filepath.Join("..", "..", "testdata", "encrypted.xml")
	cfg, flags := modeConfig("plain")
	bot := newBot(t, cfg, false)
	cases := []struct {
		body, stdin string
		stderr      string
	}{
		{junk, "", "csmsg: send raw: " + junk + " is not a push: unknown body format: body starts with '\\x00' (--force sends it anyway)\n"},
		{"-", "", "csmsg: send raw: standard input is not a push: unknown body format: empty body (--force sends it anyway)\n"},
		{"-", "<xml><MsgType>text", "csmsg: send raw: standard input is not a push: malformed body: XML syntax error on line 1: unexpected EOF (--force sends it anyway)\n"},
		{encrypted, "", "csmsg: send raw: " + encrypted + " is an encrypted envelope: --body takes the plaintext push, which send signs and encrypts itself (--force sends it anyway)\n"},
		{"-", strings.Repeat(" ", 16<<20+1), "csmsg: standard input is larger than 16 MiB\n"},
	}
	for _, tc := range cases {
		t.Run(tc.body, func(t *testing.T) {
			args := append(append([]string{"send", "raw", "--url", bot.URL, "--body", tc.body}, flags...), fast...)
			code, stdout, stderr := runCmd(t, tc.stdin, args...)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout, "nothing is sent")
			assert.Equal(t, tc.stderr, stderr)
		})
	}
	assert.Empty(t, bot.got())

	args := append(append([]string{"send", "raw", "--url", bot.URL, "--body", "-", "--force"}, flags...), fast...)
	code, stdout, _ := runCmd(t, "<xml><MsgType>text", args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, millis.ReplaceAllString(stdout, " in 0ms:"), "attempt 1/3: status 400 in 0ms: the endpoint could not read the push (WeChat retries)\n")
}

func TestSendRepeatIsDeduplicated(t *testing.T) {
	for _, kind := range []string{"text", "user_enter_tempsession"} {
		t.Run(kind, func(t *testing.T) {
			cfg, flags := modeConfig("safe")
			bot := newBot(t, cfg, false)
			args := append(append([]string{"send", kind, "--url", bot.URL, "--repeat", "3"}, flags...), fast...)
			code, stdout, stderr := runCmd(t, "", args...)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Equal(t, 3, strings.Count(stdout, "attempt 1/3: status 200"), stdout)
			assert.Len(t, bot.got(), 1, "the HandlerFunc runs once for the same push")
		})
	}
	t.Run("a new MsgId each run", func(t *testing.T) {
		cfg, flags := modeConfig("plain")
		bot := newBot(t, cfg, false)
		for range 2 {
			code, _, stderr := runCmd(t, "", append(append([]string{"send", "text", "--url", bot.URL}, flags...), fast...)...)
			require.Equal(t, 0, code, stderr)
		}
		assert.Len(t, bot.got(), 2)
	})
}

// replyEndpoint answers every push with the passive reply reply, built by
// fn from the push's query and body and the receiver of cfg.
func replyEndpoint(t *testing.T, cfg csmsg.Config, fn func(r *csmsg.Receiver, req *http.Request, msg csmsg.Message) []byte) string {
	t.Helper()
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		msg, err := r.ParseRequest(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(fn(r, req, msg))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestSendMisbehavingEndpoints(t *testing.T) {
	safeCfg, safeFlags := modeConfig("safe")
	plainCfg, plainFlags := modeConfig("plain")
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then a closed connection cancels r's context
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before slow.Close
	status := func(code int, body string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			w.Write([]byte(body))
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	// encrypted returns the reply the library would write, then lets edit
	// change it.
	encrypted := func(edit func(b []byte) []byte) func(*csmsg.Receiver, *http.Request, csmsg.Message) []byte {
		return func(r *csmsg.Receiver, req *http.Request, msg csmsg.Message) []byte {
			body, _ := csmsg.Marshal(msg, csmsg.FormatJSON)
			out, _, err := r.EncodeReply(req.URL.Query(), body, csmsg.Transfer(msg))
			require.NoError(t, err)
			return edit(out)
		}
	}
	plainReply := func(toUser string) func(*csmsg.Receiver, *http.Request, csmsg.Message) []byte {
		return func(_ *csmsg.Receiver, _ *http.Request, msg csmsg.Message) []byte {
			return []byte(fmt.Sprintf(`{"ToUserName":%q,"FromUserName":%q,"CreateTime":1,"MsgType":"transfer_customer_service"}`,
				toUser, msg.MsgHeader().ToUserName))
		}
	}
	otherToken, _ := modeConfig("safe")
	otherToken.Token = "another-token"
	jsonSafe := append([]string{"--format", "json"}, safeFlags...)
	cases := []struct {
		name  string
		url   string
		flags []string
		kind  string
		want  string
	}{
		{"slow past the timeout", slow.URL, plainFlags, "text", "no answer within 200ms"},
		{"500", status(500, "oops"), plainFlags, "text", `status 500 in 0ms: the bot failed: see its log (it says "oops") (WeChat retries)`},
		{"redirect", status(302, ""), plainFlags, "text", "WeChat does not follow redirects"},
		{"wrong body", status(200, "ok"), plainFlags, "text", `answer is neither "success", empty, nor a passive reply: starts with "ok"`},
		{"reply with a bad signature", replyEndpoint(t, safeCfg, encrypted(func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"MsgSignature":"`), []byte(`"MsgSignature":"0`), 1)
		})), jsonSafe, "text", "MsgSignature does not match"},
		{"reply signed with another token", replyEndpoint(t, safeCfg, func(_ *csmsg.Receiver, req *http.Request, msg csmsg.Message) []byte {
			other, err := csmsg.NewReceiver(otherToken)
			require.NoError(t, err)
			body, _ := csmsg.Marshal(msg, csmsg.FormatJSON)
			out, _, err := other.EncodeReply(req.URL.Query(), body, csmsg.Transfer(msg))
			require.NoError(t, err)
			return out
		}), jsonSafe, "text", "MsgSignature does not match"},
		{"plaintext reply to a safe push", replyEndpoint(t, safeCfg, plainReply("oCSMSG-demo-user-0000000001")), jsonSafe, "text", "passive reply is not encrypted"},
		{"reply to the wrong user", replyEndpoint(t, plainCfg, plainReply("oSomeoneElse")), append([]string{"--format", "json"}, plainFlags...), "text", `passive reply addressed to "oSomeoneElse"`},
		{"reply in the wrong format", replyEndpoint(t, plainCfg, plainReply("oCSMSG-demo-user-0000000001")), plainFlags, "text", "passive reply in json, but the push was xml"},
		{"transfer of an event", replyEndpoint(t, plainCfg, plainReply("oCSMSG-demo-user-0000000001")), append([]string{"--format", "json"}, plainFlags...), "user_enter_tempsession", "transfer_customer_service to an event"},
		{"refused push", newBot(t, safeCfg, false).URL, plainFlags, "text", "status 401 in 0ms: the endpoint accepts only encrypted pushes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"send", tc.kind, "--url", tc.url, "--timeout", "200ms", "--retry-pause", "1ms"}, tc.flags...)
			code, stdout, stderr := runCmd(t, "", args...)
			stdout = millis.ReplaceAllString(stdout, " in 0ms:")
			assert.Equal(t, 1, code)
			assert.Contains(t, stdout, tc.want)
			assert.Contains(t, stdout, "attempt 3/3", "WeChat tries three times")
			assert.NotContains(t, stdout, "attempt 4/3")
			assert.Equal(t, "csmsg: the endpoint failed 1 of 1 pushes (3 attempts each): WeChat would show the user that the service is unavailable\n", stderr)
		})
	}
}

// millis matches the time an attempt took, which tests set to 0.
var millis = regexp.MustCompile(` in [0-9]+ms:`)

// TestSendSetupMistakes checks that each likely setup mistake is named,
// with the flag to check, in every attempt's line.
func TestSendSetupMistakes(t *testing.T) {
	safeCfg, safeFlags := modeConfig("safe")
	plainCfg, plainFlags := modeConfig("plain")
	withFlag := func(flags []string, name, value string) []string {
		out := append([]string(nil), flags...)
		for i := range out {
			if out[i] == name {
				out[i+1] = value
			}
		}
		return out
	}
	stale := safeCfg
	stale.Now = func() time.Time { return time.Now().Add(-400 * time.Second) }
	cases := []struct {
		name  string
		bot   csmsg.Config
		flags []string
		want  string
	}{
		{"wrong token", plainCfg, withFlag(plainFlags, "--token", "wrong-token"), "status 401 in 0ms: the endpoint refused the signature: check that --token matches the bot's Token (WeChat retries)"},
		{"wrong token, safe", safeCfg, withFlag(safeFlags, "--token", "wrong-token"), "status 401 in 0ms: the endpoint refused the signature: check that --token matches the bot's Token (WeChat retries)"},
		{"stale timestamp", stale, safeFlags, "status 401 in 0ms: the endpoint refused the timestamp as too old or too new: check that this machine's clock and the bot's agree (WeChat retries)"},
		{"wrong appid", safeCfg, withFlag(safeFlags, "--appid", "wx0000000000000000"), "status 400 in 0ms: the endpoint could not decrypt the push: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID (WeChat retries)"},
		{"wrong key", safeCfg, withFlag(safeFlags, "--aes-key", strings.Repeat("B", 43)), "status 400 in 0ms: the endpoint could not decrypt the push: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID (WeChat retries)"},
		{"encrypted push at a plaintext bot", plainCfg, safeFlags, "status 400 in 0ms: the endpoint has no EncodingAESKey and refused the encrypted push: check that --mode matches the bot's mode (plain without a key) (WeChat retries)"},
		{"plaintext push at a bot with a key", safeCfg, plainFlags, "status 401 in 0ms: the endpoint accepts only encrypted pushes: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID (WeChat retries)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := newBot(t, tc.bot, false).URL
			args := append([]string{"send", "text", "--url", url}, append(tc.flags, fast...)...)
			code, stdout, stderr := runCmd(t, "", args...)
			assert.Equal(t, 1, code)
			lines := strings.Split(millis.ReplaceAllString(stdout, " in 0ms:"), "\n")
			require.Len(t, lines, 5, stdout)
			for i, line := range lines[1:4] {
				assert.Equal(t, fmt.Sprintf("  attempt %d/3: %s", i+1, tc.want), line)
			}
			assert.Equal(t, "csmsg: the endpoint failed 1 of 1 pushes (3 attempts each): WeChat would show the user that the service is unavailable\n", stderr)
		})
	}
}

func TestSendRetriesUntilAnAttemptSucceeds(t *testing.T) {
	cfg, flags := modeConfig("safe")
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	var mu sync.Mutex
	attempts := 0
	handler := r.Handler(nil)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		attempts++
		n := attempts
		mu.Unlock()
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, req)
	}))
	defer s.Close()
	code, stdout, stderr := runCmd(t, "", append(append([]string{"send", "image", "--url", s.URL}, flags...), fast...)...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "attempt 1/3: status 503")
	assert.Contains(t, stdout, "attempt 2/3: status 200")
	assert.NotContains(t, stdout, "attempt 3/3")
}

func TestSendUsage(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"send"}, "csmsg: send takes one KIND (text, image, miniprogrampage, user_enter_tempsession, raw); run 'csmsg send --help'\n"},
		{[]string{"send", "text", "--token", "t"}, "csmsg: send: --url is required\n"},
		{[]string{"send", "text", "--url", "http://x"}, "csmsg: send: --token is required\n"},
		{[]string{"send", "video", "--url", "http://x", "--token", "t"}, "csmsg: send: unknown KIND \"video\": want one of text, image, miniprogrampage, user_enter_tempsession, raw\n"},
		{[]string{"send", "raw", "--url", "http://x", "--token", "t"}, "csmsg: send raw needs --body FILE\n"},
		{[]string{"send", "text", "--url", "ftp://x", "--token", "t"}, "csmsg: URL \"ftp://x\": want an http:// or https:// URL\n"},
		{[]string{"send", "text", "--url", "http://x", "--token", "t", "--mode", "safe"}, "csmsg: --mode safe needs --aes-key and --appid\n"},
		{[]string{"send", "text", "--url", "http://x", "--token", "t", "--format", "yaml"}, "csmsg: --format \"yaml\": want xml or json\n"},
		{[]string{"send", "text", "--url", "http://x", "--token", "t", "--aes-key", "short", "--appid", "wx"}, "csmsg: invalid config: --aes-key must be 43 characters, not 5\n"},
		{[]string{"send", "text", "--url", "http://x", "--token", "t", "--aes-key", testKey}, "csmsg: invalid config: --appid is required with --aes-key\n"},
		{[]string{"send", "text", "--nope"}, "csmsg: send: flag provided but not defined: -nope; run 'csmsg send --help'\n"},
		{[]string{"send", "miniprogrampage", "--app-id", "wxcard"}, "csmsg: send: --app-id is now --card-appid (the card's AppId); --appid is the mini program's, for encryption\n"},
		{[]string{"send", "miniprogrampage", "-app-id=wxcard"}, "csmsg: send: --app-id is now --card-appid (the card's AppId); --appid is the mini program's, for encryption\n"},
		{[]string{"verify-url", "--url", "http://x"}, "csmsg: verify-url: --token is required\n"},
		{[]string{"serve", "extra"}, "csmsg: serve takes no arguments; run 'csmsg serve --help'\n"},
		{[]string{"emulate", "--token", "t"}, "csmsg: emulate: --endpoint is required\n"},
		{[]string{"parse", "--token", "t", "-"}, "csmsg: parse: verifying a push needs both --token and --query\n"},
		{[]string{"parse", "--token", "t", "--query", "a=b", "--now", "yesterday", "-"}, "csmsg: --now \"yesterday\": want Unix seconds or an RFC 3339 time\n"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "", tc.args...)
			assert.Equal(t, 2, code)
			assert.Equal(t, tc.stderr, stderr)
			assert.Empty(t, stdout)
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			code, stdout, stderr := runCmd(t, "", args...)
			assert.Equal(t, 0, code, args)
			assert.Empty(t, stderr)
			assert.Contains(t, stdout, "usage: csmsg "+name)
			assert.Contains(t, stdout, "example:\n  ")
			assert.Contains(t, stdout, "exit status: 0 ok, 1 the endpoint or the input failed, 2 usage error")
		}
	}
}

func TestVerifyURL(t *testing.T) {
	bot := newBot(t, csmsg.Config{Token: testToken}, false)
	code, stdout, stderr := runCmd(t, "", "verify-url", "--url", bot.URL+"/wechat", "--token", testToken, "--echostr", "4375120948345356249")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "echostr echoed")

	code, _, stderr = runCmd(t, "", "verify-url", "--url", bot.URL, "--token", "wrong")
	assert.Equal(t, 1, code)
	assert.Equal(t, "csmsg: verify-url: status 401 Unauthorized: the endpoint refused the signature: check that --token matches the bot's Token\n", stderr)

	stale := csmsg.Config{Token: testToken, Now: func() time.Time { return time.Now().Add(time.Hour) }}
	code, _, stderr = runCmd(t, "", "verify-url", "--url", newBot(t, stale, false).URL, "--token", testToken)
	assert.Equal(t, 1, code)
	assert.Equal(t, "csmsg: verify-url: status 401 Unauthorized: the endpoint refused the timestamp as too old or too new: check that this machine's clock and the bot's agree\n", stderr)

	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("success")) }))
	defer wrong.Close()
	code, _, stderr = runCmd(t, "", "verify-url", "--url", wrong.URL, "--token", testToken, "--echostr", "42")
	assert.Equal(t, 1, code)
	assert.Equal(t, "csmsg: verify-url: the answer \"success\" is not the echostr \"42\", verbatim\n", stderr)
}

// The worked vectors of PROTOCOL.md, section 7.
const (
	vectorToken      = "AAAAA"
	vectorKey        = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	vectorAppID      = "wxba5fad812f8e6fb9"
	vectorQuery      = "signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
	vectorBody       = `{"ToUserName":"gh_97417a04a28d","Encrypt":"+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="}`
	vectorPlainQuery = "signature=899cf89e464efb63f54ddac96b0a0a235f53aa78&timestamp=1714037059&nonce=486452656"
	vectorPlainBody  = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`
)

func TestParseCapturedPush(t *testing.T) {
	safe := []string{"parse", "--token", vectorToken, "--aes-key", vectorKey, "--appid", vectorAppID}
	wantSafe := `{
  "kind": "Unknown",
  "message": {
    "ToUserName": "gh_97417a04a28d",
    "FromUserName": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
    "CreateTime": 1714112445,
    "MsgType": "event",
    "Event": "debug_demo",
    "Format": "json",
    "Raw": "{\"ToUserName\":\"gh_97417a04a28d\",\"FromUserName\":\"o9AgO5Kd5ggOC-bXrbNODIiE3bGY\",\"CreateTime\":1714112445,\"MsgType\":\"event\",\"Event\":\"debug_demo\",\"debug_str\":\"hello world\"}"
  }
}
`
	cases := []struct {
		name   string
		args   []string
		body   string
		code   int
		stdout string
		stderr string
	}{
		{"safe", append(safe, "--query", vectorQuery, "-"), vectorBody, 0, wantSafe, ""},
		{"safe, a whole URL", append(safe, "--query", "https://example.com/wechat?"+vectorQuery, "-"), vectorBody, 0, wantSafe, ""},
		{"safe, at its time", append(safe, "--query", vectorQuery, "--now", "2024-04-26T06:22:00Z", "-"), vectorBody, 0, wantSafe, ""},
		{"safe, stale", append(safe, "--query", vectorQuery, "--now", "1714212445", "-"), vectorBody, 1, "", "csmsg: timestamp outside the allowed window: timestamp 1714112445 (2024-04-26 06:20:45 UTC) is 1 day 3 hours behind the receiver's clock (tolerance 5m0s)\n"},
		{"safe, wrong token", []string{"parse", "--token", "B", "--aes-key", vectorKey, "--appid", vectorAppID, "--query", vectorQuery, "-"}, vectorBody, 1, "", "csmsg: invalid signature: msg_signature does not match: check that --token is the bot's Token and --query the captured request's whole query\n"},
		{"safe, wrong appid", []string{"parse", "--token", vectorToken, "--aes-key", vectorKey, "--appid", "wxother", "--query", vectorQuery, "-"}, vectorBody, 1, "", "csmsg: appid mismatch: check that --appid is the mini program's appid\n"},
		{"safe, wrong key", []string{"parse", "--token", vectorToken, "--aes-key", strings.Repeat("B", 43), "--appid", vectorAppID, "--query", vectorQuery, "-"}, vectorBody, 1, "", "csmsg: cannot decrypt: bad padding: check that --aes-key is the bot's EncodingAESKey\n"},
		{"safe, no key", []string{"parse", "--token", vectorToken, "--query", vectorQuery, "-"}, vectorBody, 1, "", ""},
		{"plaintext", []string{"parse", "--token", vectorToken, "--query", vectorPlainQuery, "-"}, vectorPlainBody, 0, "", ""},
		{"plaintext, tampered", []string{"parse", "--token", vectorToken, "--query", strings.Replace(vectorPlainQuery, "486452656", "486452657", 1), "-"}, vectorPlainBody, 1, "", "csmsg: invalid signature: signature does not match: check that --token is the bot's Token and --query the captured request's whole query\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.body, tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			if tc.stdout != "" {
				assert.Equal(t, tc.stdout, stdout)
			}
			if tc.code != 0 {
				assert.Empty(t, stdout)
				assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			}
			if tc.stderr != "" {
				assert.Equal(t, tc.stderr, stderr)
			}
		})
	}
}

// startServer runs a serving command (serve, emulate) until the test ends,
// and returns its base URL and its output.
func startServer(t *testing.T, args ...string) (string, *syncBuffer, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan int, 1)
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, ready: func(u string) { ready <- u }}
	go func() { done <- runEnv(e, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, 0, code, "stderr: %s", stderr.String())
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop")
		}
	})
	select {
	case u := <-ready:
		return u, stdout, stderr
	case code := <-done:
		t.Fatalf("exited with %d: %s", code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not start")
	}
	return "", nil, nil
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeDemo(t *testing.T) {
	base, stdout, stderr := startServer(t, "serve", "--addr", "127.0.0.1:0")
	banner := stderr.String()
	assert.Contains(t, banner, "--token "+demoToken+" --aes-key "+demoAESKey+" --appid "+demoAppID)
	for _, mode := range []string{"safe", "compatible"} {
		code, out, errs := runCmd(t, "", "send", "text", "--url", base, "--token", demoToken, "--aes-key", demoAESKey,
			"--appid", demoAppID, "--mode", mode, "--format", "json", "--content", "hi "+mode)
		require.Equal(t, 0, code, out, errs)
	}
	code, _, errs := runCmd(t, "", "verify-url", "--url", base, "--token", demoToken)
	require.Equal(t, 0, code, errs)
	code, _, _ = runCmd(t, "", append([]string{"send", "text", "--url", base, "--token", demoToken, "--mode", "plain"}, fast...)...)
	assert.Equal(t, 1, code, "a receiver with a key refuses plaintext pushes")

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	assert.Contains(t, lines[0], `"kind":"Text"`)
	assert.Contains(t, lines[0], `"Content":"hi safe"`)
	assert.Contains(t, lines[1], `"Content":"hi compatible"`)
	assert.Contains(t, stdout.String(), `"status":401`, "refusals are JSON lines too")
	code, _, _ = runCmd(t, "", append([]string{"send", "text", "--url", base, "--token", "wrong", "--aes-key", demoAESKey, "--appid", demoAppID}, fast...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout.String(), `"cause":"the signature does not match: check that --token is the Token of the message-push settings"`, "the cause in serve's flags")
}

func TestServePlaintextWithTransfer(t *testing.T) {
	base, stdout, _ := startServer(t, "serve", "--addr", "127.0.0.1:0", "--token", testToken, "--transfer")
	code, out, errs := runCmd(t, "", "send", "miniprogrampage", "--url", base, "--token", testToken, "--title", "a card")
	require.Equal(t, 0, code, out, errs)
	assert.Contains(t, out, "passive reply transfer_customer_service")
	assert.Contains(t, stdout.String(), `"Title":"a card"`)
}

// csmsgtest.Modes must stay the three modes send takes.
func TestModesMatchTheFlag(t *testing.T) {
	for _, m := range csmsgtest.Modes() {
		got, err := parseMode(modeName(m), true)
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
}

// TestSendCoversEveryKind holds "csmsg send" to the kinds table
// (csmsg.Kinds): every kind is a KIND, named in the help with a flag for
// each of its fields, and sent with the defaults it pushes the kind's
// sample under send's header, summarised by its MsgId or Event.
func TestSendCoversEveryKind(t *testing.T) {
	code, help, _ := runCmd(t, "", "send", "--help")
	require.Equal(t, 0, code)
	cfg, flags := modeConfig("plain")
	bot := newBot(t, cfg, false)
	for i, k := range csmsg.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			assert.Contains(t, help, k.Name+", ", "the help names the KIND")
			msgID := fmt.Sprint(6054768590064713728 + i)
			values := k.Values(k.Sample)
			summary := k.MsgType + " " + k.Event
			for j, name := range k.Fields {
				switch name {
				case "MsgId":
					values[j] = msgID
					summary = k.MsgType + " MsgId " + msgID
				case "Event":
				default:
					assert.Contains(t, help, "  -"+fieldFlag(name)+" ", "a flag for %s", name)
					assert.Contains(t, help, k.Name, "the flag of %s names the kind", name)
				}
			}
			args := append([]string{"send", k.Name, "--url", bot.URL, "--create-time", "1714112445", "--msgid", msgID}, flags...)
			code, stdout, stderr := runCmd(t, "", append(args, fast...)...)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, "push 1/1: "+summary+" from "+defaultUser+", xml, mode plain, to "+bot.URL+"\n")
			got := bot.got()
			require.NotEmpty(t, got)
			want := k.New(csmsg.Header{ToUserName: defaultBotID, FromUserName: defaultUser, CreateTime: 1714112445}, values...)
			assert.Equal(t, want, got[len(got)-1])
		})
	}
}
