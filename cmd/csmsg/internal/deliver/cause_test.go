package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefusal(t *testing.T) {
	emulate := Wording{Tool: "csmsg emulate", URLFlag: "--endpoint"}
	cases := []struct {
		status         int
		body           string
		send, emulated string
	}{
		{401, "Unauthorized: invalid signature\n",
			"the endpoint refused the signature: check that --token matches the bot's Token",
			"the endpoint refused the signature: check that the bot's Token matches csmsg emulate's --token"},
		{401, "Unauthorized\n", // not a csmsg Handler: the likeliest cause
			"the endpoint refused the signature: check that --token matches the bot's Token",
			"the endpoint refused the signature: check that the bot's Token matches csmsg emulate's --token"},
		{401, "Unauthorized: timestamp outside the allowed window\n",
			"the endpoint refused the timestamp as too old or too new: check that this machine's clock and the bot's agree",
			"the endpoint refused the timestamp as too old or too new: check that this machine's clock and the bot's agree"},
		{401, "Unauthorized: the receiver accepts only encrypted pushes (encrypt_type=aes)\n",
			"the endpoint accepts only encrypted pushes: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID",
			"the endpoint accepts only encrypted pushes: check that the bot's EncodingAESKey matches csmsg emulate's --aes-key and the bot's AppID matches csmsg emulate's --appid"},
		{400, "Bad Request: encrypted push, and the receiver has no EncodingAESKey\n",
			"the endpoint has no EncodingAESKey and refused the encrypted push: check that --mode matches the bot's mode (plain without a key)",
			"the endpoint has no EncodingAESKey and refused the encrypted push: check that the bot's mode (plain without a key) matches csmsg emulate's --mode"},
		{400, "Bad Request: cannot decrypt\n",
			"the endpoint could not decrypt the push: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID",
			"the endpoint could not decrypt the push: check that the bot's EncodingAESKey matches csmsg emulate's --aes-key and the bot's AppID matches csmsg emulate's --appid"},
		{400, "Bad Request: malformed body\n", "the endpoint could not read the push", "the endpoint could not read the push"},
		{413, "Request Entity Too Large: body too large\n", "the endpoint refused the push as too large", "the endpoint refused the push as too large"},
		{302, "", "the endpoint redirects, and WeChat does not follow redirects: check --url",
			"the endpoint redirects, and WeChat does not follow redirects: check --endpoint"},
		{404, "404 page not found\n", "no push URL there: check --url", "no push URL there: check --endpoint"},
		{500, "Internal Server Error\n", "the bot failed: see its log", "the bot failed: see its log"},
		{503, "busy", `the bot failed: see its log (it says "busy")`, `the bot failed: see its log (it says "busy")`},
		{418, "", "the endpoint refused it", "the endpoint refused it"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.send, Wording{}.Refusal(tc.status, []byte(tc.body)), "%d %s", tc.status, tc.body)
		assert.Equal(t, tc.emulated, emulate.Refusal(tc.status, []byte(tc.body)), "%d %s", tc.status, tc.body)
	}
}

// TestRefusalOfTheHandler holds Refusal to the answers of the library's
// Handler, so that the two cannot drift apart.
func TestRefusalOfTheHandler(t *testing.T) {
	const token, key, appID = "test-token", "Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA", "wxba5fad812f8e6fb9"
	safe := csmsg.Config{Token: token, EncodingAESKey: key, AppID: appID}
	plain := csmsg.Config{Token: token}
	stale := safe
	stale.Now = func() time.Time { return time.Now().Add(time.Hour) }
	edit := func(cfg csmsg.Config, f func(*csmsg.Config)) csmsg.Config { f(&cfg); return cfg }
	cases := []struct {
		name      string
		bot, sign csmsg.Config
		mode      csmsgtest.Mode
		want      string
	}{
		{"wrong token", safe, edit(safe, func(c *csmsg.Config) { c.Token = "wrong" }), csmsgtest.ModeSafe,
			"the endpoint refused the signature: check that --token matches the bot's Token (WeChat retries)"},
		{"stale", stale, safe, csmsgtest.ModeSafe,
			"the endpoint refused the timestamp as too old or too new: check that this machine's clock and the bot's agree (WeChat retries)"},
		{"wrong appid", safe, edit(safe, func(c *csmsg.Config) { c.AppID = "wx0000000000000000" }), csmsgtest.ModeSafe,
			"the endpoint could not decrypt the push: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID (WeChat retries)"},
		{"wrong key", safe, edit(safe, func(c *csmsg.Config) { c.EncodingAESKey = strings.Repeat("B", 43) }), csmsgtest.ModeCompatible,
			"the endpoint could not decrypt the push: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID (WeChat retries)"},
		{"encrypted at plaintext", plain, safe, csmsgtest.ModeSafe,
			"the endpoint has no EncodingAESKey and refused the encrypted push: check that --mode matches the bot's mode (plain without a key) (WeChat retries)"},
		{"plaintext at encrypted", safe, safe, csmsgtest.ModePlaintext,
			"the endpoint accepts only encrypted pushes: check that --aes-key matches the bot's EncodingAESKey and --appid matches the bot's AppID (WeChat retries)"},
	}
	body := []byte(`<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := csmsg.NewReceiver(tc.bot)
			require.NoError(t, err)
			s := httptest.NewServer(r.Handler(nil))
			defer s.Close()
			d := New(s.URL, tc.sign, tc.mode)
			d.Pause = 0
			res := d.Deliver(context.Background(), body, nil)
			require.Len(t, res.Attempts, Attempts)
			assert.False(t, res.OK)
			for _, a := range res.Attempts {
				assert.Equal(t, tc.want, a.Error)
				assert.NotEqual(t, http.StatusOK, a.Status)
			}
		})
	}
}
