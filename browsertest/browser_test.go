package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/kf"
)

var screenshot = flag.String("screenshot", "", "save a PNG screenshot of the conversation to this `file` (e.g. ../docs/emulate.png)")

const (
	token  = "browser-test-token"
	aesKey = "Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA"
	appID  = "wx0123456789abcdef"
	secret = "csmsg-emulate-secret"
)

// newBot starts the bot a developer would write: a Receiver.Handler whose
// answers go through a Client pointed at the emulator (set later).
func newBot(t *testing.T, client *atomic.Pointer[kf.Client]) *httptest.Server {
	r, err := csmsg.NewReceiver(csmsg.Config{Token: token, EncodingAESKey: aesKey, AppID: appID})
	if err != nil {
		t.Fatal(err)
	}
	bot := httptest.NewServer(r.Handler(func(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
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
	}))
	t.Cleanup(bot.Close)
	return bot
}

// cover draws a small card cover.
func cover() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 240; x++ {
			img.Set(x, y, color.RGBA{R: uint8(250 - x/4), G: uint8(120 + y/2), B: 60, A: 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

var listeningRE = regexp.MustCompile(`a local WeChat on (http://\S+)`)

// startEmulator builds csmsg and runs csmsg emulate against endpoint.
func startEmulator(t *testing.T, endpoint string) string {
	bin := filepath.Join(t.TempDir(), "csmsg")
	build := exec.Command("go", "build", "-o", bin, "github.com/csmsg/csmsg/cmd/csmsg")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "emulate", "--endpoint", endpoint, "--addr", "127.0.0.1:0",
		"--token", token, "--aes-key", aesKey, "--appid", appID, "--format", "json", "--retry-pause", "10ms")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("csmsg emulate did not start")
	}
	return ""
}

// consoleErrors returns the console errors, exceptions and error log
// entries among events.
func consoleErrors(events []Event) []string {
	var errs []string
	for _, e := range events {
		switch e.Method {
		case "Runtime.exceptionThrown":
			errs = append(errs, "exception: "+string(e.Params))
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string `json:"type"`
			}
			json.Unmarshal(e.Params, &p)
			if p.Type == "error" || p.Type == "assert" {
				errs = append(errs, "console."+p.Type+": "+string(e.Params))
			}
		case "Log.entryAdded":
			var p struct {
				Entry struct {
					Level string `json:"level"`
				} `json:"entry"`
			}
			json.Unmarshal(e.Params, &p)
			if p.Entry.Level == "error" {
				errs = append(errs, "log: "+string(e.Params))
			}
		}
	}
	return errs
}

// page is a CDP connection to the chat page, with the test's helpers.
type page struct {
	t   *testing.T
	ctx context.Context
	*Conn
}

func (p *page) eval(expr string, result any) {
	p.t.Helper()
	if err := p.Eval(p.ctx, expr, result); err != nil {
		p.t.Fatal(err)
	}
}

// click clicks the element matching selector with the mouse, at its centre.
func (p *page) click(selector string) {
	p.t.Helper()
	var pt struct{ X, Y float64 }
	p.eval(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {X: r.x + r.width/2, Y: r.y + r.height/2}; })()`, selector), &pt)
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		if err := p.Call(p.ctx, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": pt.X, "y": pt.Y, "button": "left", "clickCount": 1}, nil); err != nil {
			p.t.Fatal(err)
		}
	}
}

// waitText waits until the conversation shows text.
func (p *page) waitText(text string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		p.eval(fmt.Sprintf(`document.getElementById("log").innerText.includes(%q)`, text), &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var shown string
			p.eval(`document.getElementById("log").innerText`, &shown)
			p.t.Fatalf("the page does not show %q; it shows:\n%s", text, shown)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBrowserChat(t *testing.T) {
	path := FindChromium()
	if path == "" {
		if os.Getenv("CSMSG_BROWSER_REQUIRED") != "" {
			t.Fatal("no chromium binary found, and CSMSG_BROWSER_REQUIRED is set")
		}
		t.Skip("no chromium binary found (install the Debian package chromium, or set $CHROMIUM): skipping the browser test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var client atomic.Pointer[kf.Client]
	bot := newBot(t, &client)
	base := startEmulator(t, bot.URL+"/wechat")
	c, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: strings.TrimSuffix(base, "/")})
	if err != nil {
		t.Fatal(err)
	}
	client.Store(c)

	b, err := Launch(ctx, path, t.TempDir(), 540, 1180)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	conn, err := b.Page(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := &page{t: t, ctx: ctx, Conn: conn}
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if err := p.Call(ctx, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 540, "height": 1180, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Call(ctx, "Page.navigate", map[string]any{"url": base}, nil); err != nil {
		t.Fatal(err)
	}
	// Loaded: the page rendered the conversation once.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var seq string
		p.Eval(ctx, `document.readyState === "complete" ? (document.body.dataset.seq || "") : ""`, &seq)
		if seq != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page did not load")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The user enters the chat: two welcomes, and the third is refused.
	p.click("#enter")
	p.waitText("Ask me anything")
	p.waitText("45047")

	// The user types a message and presses Send: the bot's reply appears.
	p.click("#text")
	if err := p.Call(ctx, "Input.insertText", map[string]any{"text": "Where is my order?"}, nil); err != nil {
		t.Fatal(err)
	}
	p.click("#send")
	p.waitText("echo: Where is my order?")
	var left string
	p.eval(`document.getElementById("window").textContent`, &left)
	if !strings.Contains(left, "4 of 5 replies left") {
		t.Errorf("reply window badge = %q, want 4 of 5 replies left", left)
	}

	// A mini program card, answered with one.
	p.click("#card")
	p.waitText("Your order #1024")

	// The images (the covers) load.
	var broken int
	p.eval(`new Promise(r => setTimeout(() => r([...document.images].filter(i => !i.complete || i.naturalWidth === 0).length), 300))`, &broken)
	if broken != 0 {
		t.Errorf("%d images did not load", broken)
	}

	if errs := consoleErrors(p.Events()); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}

	var shot struct {
		Data string `json:"data"`
	}
	if err := p.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		t.Fatal(err)
	}
	img, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	out := *screenshot
	if out == "" {
		out = filepath.Join(t.TempDir(), "emulate.png")
	}
	if err := os.WriteFile(out, img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)
}
