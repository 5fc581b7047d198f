package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/emulator"
	"github.com/csmsg/csmsg/kf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testBot is a bot as a developer writes one: a Receiver.Handler for the
// pushes and a Client for the answers, pointed at the emulator.
type testBot struct {
	*httptest.Server
	client atomic.Pointer[kf.Client]
}

// newTestBot starts a bot that answers a text "echo: " and the text, an
// image with its size as GetTempMedia returns it, and entering the chat with
// three welcome messages (one more than the window allows).
func newTestBot(t *testing.T, cfg csmsg.Config) *testBot {
	t.Helper()
	r, err := csmsg.NewReceiver(cfg)
	require.NoError(t, err)
	b := &testBot{}
	b.Server = httptest.NewServer(r.Handler(func(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
		c := b.client.Load()
		user := msg.MsgHeader().FromUserName
		switch m := msg.(type) {
		case *csmsg.Text:
			if m.Content == "transfer me" {
				return csmsg.Transfer(msg), nil
			}
			if err := c.SetTyping(ctx, user, true); err != nil {
				return nil, err
			}
			return nil, c.SendText(ctx, user, "echo: "+m.Content)
		case *csmsg.Image:
			var buf bytes.Buffer
			ct, err := c.GetTempMedia(ctx, m.MediaID, &buf)
			if err != nil {
				return nil, err
			}
			return nil, c.SendText(ctx, user, fmt.Sprintf("got %d bytes of %s", buf.Len(), ct))
		case *csmsg.MiniProgramPage:
			id, err := c.UploadTempMedia(ctx, "reply.png", bytes.NewReader(testPNG(t)))
			if err != nil {
				return nil, err
			}
			if err := c.SendImage(ctx, user, id); err != nil {
				return nil, err
			}
			return nil, c.SendMiniProgramPage(ctx, user, kf.MiniProgramCard{Title: "re: " + m.Title, PagePath: m.PagePath, ThumbMediaID: id})
		case *csmsg.UserEnterTempSession:
			for i := 1; i <= 3; i++ {
				c.SendText(ctx, user, fmt.Sprintf("welcome %d", i)) // the third is refused: 45047
			}
		}
		return nil, nil
	}))
	t.Cleanup(b.Close)
	return b
}

// connect points the bot's client at the emulator.
func (b *testBot) connect(t *testing.T, baseURL, appID, secret string) {
	c, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: strings.TrimSuffix(baseURL, "/")})
	require.NoError(t, err)
	b.client.Store(c)
}

func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// getConversation fetches the emulator's conversation.
func getConversation(t *testing.T, base string) emulator.Conversation {
	t.Helper()
	resp, err := http.Get(base + "api/conversation")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var c emulator.Conversation
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	return c
}

// waitFor polls the conversation until cond holds.
func waitFor(t *testing.T, base string, what string, cond func(emulator.Conversation) bool) emulator.Conversation {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := getConversation(t, base)
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(c, "", "  ")
			t.Fatalf("waiting for %s; conversation:\n%s", what, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func postJSON(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, string(msg))
}

// findEntry returns the first entry from from of kind whose text contains
// text.
func findEntry(c emulator.Conversation, from, kind, text string) *emulator.Entry {
	for _, e := range c.Entries {
		if e.From == from && e.Kind == kind && strings.Contains(e.Text+e.Title, text) {
			return e
		}
	}
	return nil
}

func TestEmulate(t *testing.T) {
	for _, tc := range []struct{ format, mode string }{{"xml", "safe"}, {"json", "compatible"}, {"json", "plain"}} {
		t.Run(tc.format+"/"+tc.mode, func(t *testing.T) {
			cfg, flags := modeConfig(tc.mode)
			bot := newTestBot(t, cfg)
			args := append([]string{"emulate", "--endpoint", bot.URL + "/wechat", "--addr", "127.0.0.1:0", "--format", tc.format}, flags...)
			args = append(args, fast...)
			base, stdout, stderr := startServer(t, args...)
			appID := cfg.AppID
			if appID == "" {
				appID = defaultAppID
			}
			assert.Contains(t, stderr.String(), fmt.Sprintf("kf.Config{AppID: %q, AppSecret: %q, BaseURL: %q}", appID, defaultSecret, strings.TrimSuffix(base, "/")))
			bot.connect(t, base, appID, defaultSecret)

			// A text: the bot sets typing and answers through the API.
			postJSON(t, base+"api/text", `{"content":"hello"}`)
			// The bot may send its echo before the push's answer is in:
			// wait for both.
			c := waitFor(t, base, "the echo and the push's answer", func(c emulator.Conversation) bool {
				user := findEntry(c, "user", "text", "hello")
				return findEntry(c, "bot", "text", "echo: hello") != nil && user != nil && user.Delivery != nil && user.Delivery.State != "sending"
			})
			user := findEntry(c, "user", "text", "hello")
			require.NotNil(t, user)
			require.NotEmpty(t, user.Delivery.Attempts)
			assert.Equal(t, "ok", user.Delivery.State)
			assert.Equal(t, tc.format, user.Delivery.Format)
			assert.Equal(t, "success", user.Delivery.Attempts[0].Answer)
			assert.Equal(t, "4 of 5 replies left", findEntry(c, "bot", "text", "echo: hello").Window)
			assert.NotNil(t, findEntry(c, "bot", "typing", "Typing"))
			assert.True(t, c.Window.Open)
			assert.Equal(t, 4, c.Window.Left)

			// An image: uploaded as temp media the bot fetches back.
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, err := mw.CreateFormFile("image", "cat.png")
			require.NoError(t, err)
			img := testPNG(t)
			fw.Write(img)
			mw.Close()
			resp, err := http.Post(base+"api/image", mw.FormDataContentType(), &body)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			c = waitFor(t, base, "the image's answer", func(c emulator.Conversation) bool {
				return findEntry(c, "bot", "text", fmt.Sprintf("got %d bytes of image/png", len(img))) != nil
			})
			sent := findEntry(c, "user", "image", "")
			require.NotNil(t, sent)
			resp, err = http.Get(strings.TrimSuffix(base, "/") + sent.ImageURL)
			require.NoError(t, err)
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, img, got, "the page shows the image the user sent")

			// A card: the bot uploads an image and sends it and a card.
			postJSON(t, base+"api/card", `{"title":"my card"}`)
			c = waitFor(t, base, "the card's answer", func(c emulator.Conversation) bool {
				return findEntry(c, "bot", "miniprogrampage", "re: my card") != nil
			})
			assert.NotNil(t, findEntry(c, "bot", "image", ""))
			assert.Equal(t, "4 of 5 replies left", findEntry(c, "bot", "image", "").Window, "a new message reset the quota")
			assert.Equal(t, "3 of 5 replies left", findEntry(c, "bot", "miniprogrampage", "re: my card").Window)

			// A passive reply.
			postJSON(t, base+"api/text", `{"content":"transfer me"}`)
			waitFor(t, base, "the transfer", func(c emulator.Conversation) bool { return findEntry(c, "bot", "transfer", "") != nil })

			// Entering the chat: 2 replies allowed, the third is 45047.
			postJSON(t, base+"api/enter", `{}`)
			c = waitFor(t, base, "the quota error", func(c emulator.Conversation) bool {
				return findEntry(c, "bot", "error", "out of response count limit") != nil
			})
			e := findEntry(c, "bot", "error", "out of response count limit")
			assert.Equal(t, 45047, e.Code)
			assert.Equal(t, "message/custom/send", e.Call)
			assert.Contains(t, e.Title, "welcome 3")
			assert.Equal(t, "0 of 2 replies left", findEntry(c, "bot", "text", "welcome 2").Window)

			// A minute later the window is closed: 45015.
			postJSON(t, base+"api/advance", `{"seconds":61}`)
			c = getConversation(t, base)
			assert.False(t, c.Window.Open)
			err = bot.client.Load().SendText(context.Background(), defaultUser, "late")
			var apiErr *kf.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, kf.CodeOutsideWindow, apiErr.Code)
			waitFor(t, base, "the window error", func(c emulator.Conversation) bool { return findEntry(c, "bot", "error", "out of time limit") != nil })

			// Expired tokens: the bot's client is refused once, refetches
			// and answers.
			postJSON(t, base+"api/expire-tokens", `{}`)
			postJSON(t, base+"api/text", `{"content":"after expiry"}`)
			c = waitFor(t, base, "the echo after expiry", func(c emulator.Conversation) bool { return findEntry(c, "bot", "text", "echo: after expiry") != nil })
			var codes []int
			for _, e := range c.Entries {
				if e.Kind == "error" {
					codes = append(codes, e.Code)
				}
			}
			assert.Contains(t, codes, kf.CodeAccessTokenExpired)
			for _, e := range c.Entries {
				if e.Kind == "error" && e.Code == kf.CodeAccessTokenExpired {
					assert.True(t, e.Recovered, "the 42001 the client got over")
				}
			}

			// Every push and API call is a JSON line on stdout. A line may
			// follow the conversation's update by a moment: count until
			// all are there, or a few seconds have passed.
			var pushes, calls int
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				pushes, calls = 0, 0
				for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
					var v map[string]any
					require.NoError(t, json.Unmarshal([]byte(line), &v), line)
					switch v["type"] {
					case "push":
						pushes++
					case "api":
						calls++
					}
					assert.NotContains(t, line, "ACCESS_TOKEN_", "no access token is logged")
					assert.NotContains(t, line, defaultSecret)
				}
				if pushes >= 6 && calls >= 10 || time.Now().After(deadline) {
					break
				}
			}
			assert.GreaterOrEqual(t, pushes, 6)
			assert.GreaterOrEqual(t, calls, 10)
		})
	}
}

// TestEmulateNamesAWrongToken checks that a bot with another Token shows
// on the page as the cause of the failed push, in the emulator's words.
func TestEmulateNamesAWrongToken(t *testing.T) {
	cfg, flags := modeConfig("safe")
	cfg.Token = "the-bot-s-token"
	bot := newTestBot(t, cfg)
	args := append([]string{"emulate", "--endpoint", bot.URL + "/wechat", "--addr", "127.0.0.1:0"}, append(flags, fast...)...)
	base, _, _ := startServer(t, args...)
	postJSON(t, base+"api/text", `{"content":"hello"}`)
	c := waitFor(t, base, "the failed push", func(c emulator.Conversation) bool {
		return findEntry(c, "wechat", "error", "") != nil
	})
	const cause = "the endpoint refused the signature: check that the bot's Token matches csmsg emulate's --token (WeChat retries)"
	user := findEntry(c, "user", "text", "hello")
	require.NotNil(t, user)
	assert.Equal(t, "failed", user.Delivery.State)
	require.Len(t, user.Delivery.Attempts, 3)
	for _, a := range user.Delivery.Attempts {
		assert.Equal(t, cause, a.Error)
		assert.Equal(t, http.StatusUnauthorized, a.Status)
	}
	assert.Equal(t, "the bot did not answer the push well in 3 attempts: "+cause, findEntry(c, "wechat", "error", "").Text)
}
