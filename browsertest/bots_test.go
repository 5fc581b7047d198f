package browsertest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/kf"
)

// The mini program's settings, shared by csmsg emulate and the bots.
const (
	token  = "browser-test-token"
	aesKey = "Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA"
	appID  = "wx0123456789abcdef"
	secret = "csmsg-emulate-secret"
)

// newBot starts the bot a developer would write: a Receiver.Handler whose
// answers go through a Client pointed at the emulator (set later). Its
// Token is botToken: token, or a mistake.
func newBot(t *testing.T, client *atomic.Pointer[kf.Client], botToken string) *httptest.Server {
	return serveBot(t, botToken, func(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
		c := client.Load()
		user := msg.MsgHeader().FromUserName
		switch m := msg.(type) {
		case *csmsg.UserEnterTempSession:
			c.SendText(ctx, user, "Welcome to the csmsg demo shop!")
			c.SendText(ctx, user, "Ask me anything: I answer within the reply window.")
			c.SendText(ctx, user, "One more thing…") // past the 2 replies entering allows: 45047
		case *csmsg.Text:
			if err := c.SetTyping(ctx, user, true); err != nil {
				return nil, err
			}
			return nil, c.SendText(ctx, user, "echo: "+m.Content)
		case *csmsg.MiniProgramPage:
			id, err := c.UploadTempMedia(ctx, "cover.png", bytes.NewReader(cover()))
			if err != nil {
				return nil, err
			}
			return nil, c.SendMiniProgramPage(ctx, user, kf.MiniProgramCard{Title: "Your order #1024", PagePath: "pages/order/detail?id=1024", ThumbMediaID: id})
		}
		return nil, nil
	})
}

// serveBot serves fn as a bot whose Token is botToken, until the test ends.
func serveBot(t *testing.T, botToken string, fn csmsg.HandlerFunc) *httptest.Server {
	r, err := csmsg.NewReceiver(csmsg.Config{Token: botToken, EncodingAESKey: aesKey, AppID: appID})
	if err != nil {
		t.Fatal(err)
	}
	bot := httptest.NewServer(r.Handler(fn))
	t.Cleanup(bot.Close)
	return bot
}

// drawPNG draws a w by h PNG image, each pixel's colour given by pixel.
func drawPNG(w, h int, pixel func(x, y int) color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, pixel(x, y))
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// cover draws a small card cover.
func cover() []byte {
	return drawPNG(240, 120, func(x, y int) color.RGBA {
		return color.RGBA{R: uint8(250 - x/4), G: uint8(120 + y/2), B: 60, A: 255}
	})
}

// connect points the bot's client at the emulator.
func connect(t *testing.T, client *atomic.Pointer[kf.Client], base string) {
	c, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: strings.TrimSuffix(base, "/")})
	if err != nil {
		t.Fatal(err)
	}
	client.Store(c)
}

// newEchoBot starts a bot like examples/echobot, speaking Chinese as a
// shop's customer service does.
func newEchoBot(t *testing.T, client *atomic.Pointer[kf.Client]) *httptest.Server {
	return serveBot(t, token, func(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
		c := client.Load()
		user := msg.MsgHeader().FromUserName
		switch m := msg.(type) {
		case *csmsg.UserEnterTempSession:
			return nil, c.SendText(ctx, user, "您好！欢迎光临小店，有什么可以帮您？")
		case *csmsg.Text:
			if err := c.SetTyping(ctx, user, true); err != nil {
				return nil, err
			}
			return nil, c.SendText(ctx, user, "您说：“"+m.Content+"”。客服稍后为您详细解答。")
		case *csmsg.Image:
			return nil, c.SendText(ctx, user, "图片收到了，谢谢！")
		case *csmsg.MiniProgramPage:
			return nil, c.SendText(ctx, user, "您分享了小程序页面「"+m.Title+"」。")
		}
		return nil, nil
	})
}

// photo draws the picture the user sends: a hill under the sky.
func photo() []byte {
	return drawPNG(320, 240, func(x, y int) color.RGBA {
		if y > 150+x/10 {
			return color.RGBA{R: uint8(60 + x/8), G: uint8(140 - (y-150)/3), B: 70, A: 255}
		}
		return color.RGBA{R: uint8(90 + y/3), G: uint8(160 + x/8), B: uint8(230 - y/4), A: 255}
	})
}
