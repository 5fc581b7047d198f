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
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
// answers go through a Client pointed at the emulator (set later). Its
// Token is botToken: token, or a mistake.
func newBot(t *testing.T, client *atomic.Pointer[kf.Client], botToken string) *httptest.Server {
	r, err := csmsg.NewReceiver(csmsg.Config{Token: botToken, EncodingAESKey: aesKey, AppID: appID})
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

// binDir holds the csmsg binary the tests build once (csmsgBinary).
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "browsertest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// csmsgBinary builds csmsg once and returns its path.
func csmsgBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "csmsg")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, "github.com/csmsg/csmsg/cmd/csmsg").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// emulator is a csmsg emulate process, which a test may stop and start
// again at the same address.
type emulator struct {
	t        *testing.T
	endpoint string
	base     string // the page's URL, ending in '/'
	cmd      *exec.Cmd
}

// startEmulator builds csmsg and runs csmsg emulate against endpoint.
func startEmulator(t *testing.T, endpoint string) *emulator {
	em := &emulator{t: t, endpoint: endpoint}
	em.start("127.0.0.1:0")
	t.Cleanup(em.stop)
	return em
}

// start runs csmsg emulate on addr and waits until it listens.
func (em *emulator) start(addr string) {
	t := em.t
	t.Helper()
	cmd := exec.Command(csmsgBinary(t), "emulate", "--endpoint", em.endpoint, "--addr", addr,
		"--token", token, "--aes-key", aesKey, "--appid", appID, "--format", "json", "--retry-pause", "10ms")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	em.cmd = cmd
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
		em.base = u
	case <-time.After(30 * time.Second):
		t.Fatal("csmsg emulate did not start")
	}
}

// stop interrupts csmsg emulate and waits for it to end.
func (em *emulator) stop() {
	if em.cmd == nil {
		return
	}
	em.cmd.Process.Signal(os.Interrupt)
	em.cmd.Wait()
	em.cmd = nil
}

// restart starts csmsg emulate again where it was.
func (em *emulator) restart() {
	em.t.Helper()
	u, err := url.Parse(em.base)
	if err != nil {
		em.t.Fatal(err)
	}
	em.start(u.Host)
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

// typeText types text into the message input, as the user does.
func (p *page) typeText(text string) {
	p.t.Helper()
	p.click("#text")
	if err := p.Call(p.ctx, "Input.insertText", map[string]any{"text": text}, nil); err != nil {
		p.t.Fatal(err)
	}
}

// upload chooses file in the file input matching selector, as the user
// does in the file dialog.
func (p *page) upload(selector, file string) {
	p.t.Helper()
	var doc struct {
		Root struct {
			NodeID int `json:"nodeId"`
		} `json:"root"`
	}
	if err := p.Call(p.ctx, "DOM.getDocument", nil, &doc); err != nil {
		p.t.Fatal(err)
	}
	var q struct {
		NodeID int `json:"nodeId"`
	}
	if err := p.Call(p.ctx, "DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": selector}, &q); err != nil {
		p.t.Fatal(err)
	}
	if err := p.Call(p.ctx, "DOM.setFileInputFiles", map[string]any{"nodeId": q.NodeID, "files": []string{file}}, nil); err != nil {
		p.t.Fatal(err)
	}
}

// waitTrue waits until the JavaScript expression expr is true.
func (p *page) waitTrue(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		p.eval(expr, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited in vain for %s (%s)", what, expr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// imagesLoaded waits a moment and asserts that every image loaded.
func (p *page) imagesLoaded() {
	p.t.Helper()
	var broken int
	p.eval(`new Promise(r => setTimeout(() => r([...document.images].filter(i => !i.complete || i.naturalWidth === 0).length), 300))`, &broken)
	if broken != 0 {
		p.t.Errorf("%d images did not load", broken)
	}
}

// outsideColumn lists the visible elements that do not fit in the chat
// column (#app) horizontally, or in the log (#log) for those in it: the log
// cuts them off.
const outsideColumn = `(() => {
  const log = document.getElementById("log"), app = document.getElementById("app");
  const out = [];
  if (log.scrollWidth > log.clientWidth) out.push("#log scrolls sideways: " + log.scrollWidth + " > " + log.clientWidth);
  for (const e of app.querySelectorAll("*")) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const c = (log.contains(e) ? log : app).getBoundingClientRect();
    if (r.left < c.left - 0.5 || r.right > c.right + 0.5) {
      out.push(e.tagName.toLowerCase() + "." + e.className + " " + JSON.stringify((e.textContent || "").slice(0, 40)) + ": " + Math.round(r.left) + ".." + Math.round(r.right) + " outside " + Math.round(c.left) + ".." + Math.round(c.right));
    }
  }
  return out;
})()`

// fitsColumn asserts that nothing spills out of the chat column.
func (p *page) fitsColumn() {
	p.t.Helper()
	var out []string
	p.eval(outsideColumn, &out)
	if len(out) > 0 {
		p.t.Errorf("outside the chat column:\n%s", strings.Join(out, "\n"))
	}
}

// newestVisible asserts that the newest line of the log is in view.
func (p *page) newestVisible() {
	p.t.Helper()
	var got struct {
		Text             string
		Top, Bottom      float64
		LogTop, LogBotom float64
	}
	p.eval(`new Promise(r => setTimeout(() => {
  const log = document.getElementById("log"), last = log.lastElementChild;
  const a = last.getBoundingClientRect(), l = log.getBoundingClientRect();
  r({Text: last.innerText.slice(0, 60), Top: a.top, Bottom: a.bottom, LogTop: l.top, LogBotom: l.bottom});
}, 300))`, &got)
	if got.Bottom > got.LogBotom+1 || got.Top < got.LogTop-1 {
		p.t.Errorf("the newest line %q (%.0f..%.0f) is out of view (the log shows %.0f..%.0f)", got.Text, got.Top, got.Bottom, got.LogTop, got.LogBotom)
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

// chromium returns the browser's path, or skips the test.
func chromium(t *testing.T) string {
	path := FindChromium()
	if path == "" {
		if os.Getenv("CSMSG_BROWSER_REQUIRED") != "" {
			t.Fatal("no chromium binary found, and CSMSG_BROWSER_REQUIRED is set")
		}
		t.Skip("no chromium binary found (install the Debian package chromium, or set $CHROMIUM): skipping the browser test")
	}
	return path
}

// connect points the bot's client at the emulator.
func connect(t *testing.T, client *atomic.Pointer[kf.Client], base string) {
	c, err := kf.NewClient(kf.Config{AppID: appID, AppSecret: secret, BaseURL: strings.TrimSuffix(base, "/")})
	if err != nil {
		t.Fatal(err)
	}
	client.Store(c)
}

// openPage opens the chat page at base in a headless browser of width by
// height pixels, and waits until it rendered the conversation once.
func openPage(t *testing.T, ctx context.Context, base string, width, height int) *page {
	b, err := Launch(ctx, chromium(t), t.TempDir(), width, height)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	conn, err := b.Page(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &page{t: t, ctx: ctx, Conn: conn}
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if err := p.Call(ctx, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
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
	return p
}

func TestBrowserChat(t *testing.T) {
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var client atomic.Pointer[kf.Client]
	bot := newBot(t, &client, token)
	base := startEmulator(t, bot.URL+"/wechat").base
	connect(t, &client, base)
	p := openPage(t, ctx, base, 540, 1180)

	// An empty conversation says what to do.
	p.waitText("No messages yet")
	p.waitText("press Enter chat")

	// The user enters the chat: two welcomes, and the third is refused.
	p.click("#enter")
	p.waitText("Ask me anything")
	p.waitText("45047")

	// The user types a message and presses Send: the bot's reply appears.
	p.typeText("Where is my order?")
	p.click("#send")
	p.waitText("echo: Where is my order?")
	// The bot typed before it answered: once it answered, neither the
	// title nor the history says it is typing.
	p.waitTrue("the typing status to end", `document.getElementById("typing").hidden`)
	var typing bool
	p.eval(`document.getElementById("log").innerText.includes("typing")`, &typing)
	if typing {
		t.Error("the history still shows the bot typing after its answer")
	}
	var left string
	p.eval(`document.getElementById("window").textContent`, &left)
	if !strings.Contains(left, "4 of 5 replies left") {
		t.Errorf("reply window badge = %q, want 4 of 5 replies left", left)
	}

	// A mini program card, answered with one.
	p.click("#card")
	p.waitText("Your order #1024")

	// The images (the covers) load.
	p.imagesLoaded()

	// Expired tokens: the bot's client gets 42001, refetches and answers.
	// The 42001 is shown as an event it recovered from, not as an error.
	p.click("#expire")
	p.waitText("access tokens expired")
	p.typeText("still there?")
	p.click("#send")
	p.waitText("echo: still there?")
	p.waitTrue("the recovered 42001", `[...document.querySelectorAll("#log .note.recovered")].some(n => n.innerText.includes("42001"))`)
	var red struct {
		Errors []string
		Color  string
	}
	p.eval(`({Errors: [...document.querySelectorAll("#log .note.error")].map(n => n.innerText).filter(t => t.includes("42001")),
  Color: getComputedStyle(document.querySelector("#log .note.recovered span")).backgroundColor + " " + getComputedStyle(document.querySelector("#log .note.recovered span")).color})`, &red)
	if len(red.Errors) > 0 || strings.Contains(red.Color, "250, 81, 81") {
		t.Errorf("the recovered 42001 is shown as an error: %q, colours %s", red.Errors, red.Color)
	}
	p.fitsColumn()

	if errs := consoleErrors(p.Events()); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestBrowserRefused runs a bot whose Token is wrong, on a phone-sized page:
// each push is refused (401), and the page shows why next to the message,
// as it does once the bot stopped (connection refused);
// the delivery details the user opens stay open across updates and stay
// inside the column, and the newest message stays in view.
func TestBrowserRefused(t *testing.T) {
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var client atomic.Pointer[kf.Client]
	bot := newBot(t, &client, "wrong-token")
	base := startEmulator(t, bot.URL+"/wechat").base
	connect(t, &client, base)
	p := openPage(t, ctx, base, 390, 844)

	p.click("#enter")
	p.waitText("not delivered after 3 attempts")
	// The cause is the last attempt's error, in view, not behind a click.
	var got struct {
		Cause   string
		Visible bool
		Want    string
	}
	p.eval(`fetch("api/conversation").then(r => r.json()).then(c => {
  const a = c.entries[0].delivery.attempts, cause = document.querySelector('#log [data-id="1"] .cause');
  return {Cause: cause ? cause.innerText : "", Visible: !!cause && !cause.closest("details") && cause.getBoundingClientRect().height > 0, Want: a[a.length - 1].error};
})`, &got)
	if got.Want == "" || !strings.Contains(got.Want, "401") {
		t.Errorf("the last attempt's error is %q, want one that names the 401", got.Want)
	}
	if got.Cause != got.Want || !got.Visible {
		t.Errorf("the page shows the cause %q (in view: %v) next to the refused push, want %q in view", got.Cause, got.Visible, got.Want)
	}

	// More messages, each refused: the log fills beyond its height.
	for i, text := range []string{"Where is my order?", "Hello?", "Is anyone there?", "I ordered a blue mug."} {
		p.typeText(text)
		p.click("#send")
		p.waitTrue("the refusal of message "+fmt.Sprint(i+1), fmt.Sprintf(`document.querySelectorAll("#log .meta.failed").length === %d`, i+2))
	}
	p.waitText("I ordered a blue mug.")
	// The bot stops: the cause is a refused connection, with the push's
	// URL, a long word that must wrap rather than push the row sideways.
	bot.Close()
	p.typeText("Hello? Is the shop open?")
	p.click("#send")
	p.waitTrue("the failure of the push to the stopped bot", `document.querySelectorAll("#log .meta.failed").length === 6`)
	p.waitText("connection refused")
	var overflows bool
	p.eval(`(() => { const l = document.getElementById("log"); return l.scrollHeight > l.clientHeight; })()`, &overflows)
	if !overflows {
		t.Fatal("the log does not overflow: the test of the newest message in view proves nothing")
	}
	p.newestVisible()
	p.fitsColumn()

	// The user opens the details of the last refused message; an update
	// (the clock moves on) keeps them open, and inside the column.
	var id string
	p.eval(`[...document.querySelectorAll("#log .row")].pop().dataset.id`, &id)
	last := fmt.Sprintf(`document.querySelector('#log [data-id="%s"] details')`, id)
	p.click(fmt.Sprintf(`#log [data-id="%s"] summary`, id))
	p.waitTrue("the details to open", last+`.open`)
	p.click("#skip-minute")
	p.waitText("the clock moved ahead 1m0s")
	var open bool
	p.eval(last+`.open`, &open)
	if !open {
		t.Error("the update closed the details the user opened")
	}
	p.fitsColumn()
	p.newestVisible()
}

// TestBrowserEmulatorDown stops the emulator mid-conversation: the page
// says the connection is lost, a message sent meanwhile stays in the input
// with the reason shown, the reconnection is shown, and Send then sends it.
func TestBrowserEmulatorDown(t *testing.T) {
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var client atomic.Pointer[kf.Client]
	bot := newBot(t, &client, token)
	em := startEmulator(t, bot.URL+"/wechat")
	connect(t, &client, em.base)
	p := openPage(t, ctx, em.base, 540, 900)

	p.typeText("first")
	p.click("#send")
	p.waitText("echo: first")

	em.stop()
	p.waitTrue("the lost connection shown", `document.getElementById("conn").innerText.includes("connection to the emulator lost")`)
	p.typeText("second")
	p.click("#send")
	p.waitTrue("the failed send explained", `!document.getElementById("flash").hidden && document.getElementById("flash").innerText.includes("not reachable")`)
	var kept string
	p.eval(`document.getElementById("text").value`, &kept)
	if kept != "second" {
		t.Errorf("after a failed send the input holds %q, want the text kept: %q", kept, "second")
	}

	em.restart()
	p.waitTrue("the reconnection shown", `document.getElementById("conn").innerText.includes("reconnected")`)
	p.click("#send")
	p.waitText("echo: second")
	p.eval(`document.getElementById("text").value`, &kept)
	if kept != "" {
		t.Errorf("after the send the input holds %q, want it empty", kept)
	}
	var flash bool
	p.eval(`document.getElementById("flash").hidden`, &flash)
	if !flash {
		t.Error("the flash still shows the failure after a send went through")
	}
	// Network errors are logged by the browser; exceptions (such as an
	// unhandled rejection of the failed fetch) must not be.
	for _, e := range p.Events() {
		if e.Method == "Runtime.exceptionThrown" {
			t.Errorf("exception: %s", e.Params)
		}
	}
}

// newEchoBot starts a bot like examples/echobot, speaking Chinese as a
// shop's customer service does.
func newEchoBot(t *testing.T, client *atomic.Pointer[kf.Client]) *httptest.Server {
	r, err := csmsg.NewReceiver(csmsg.Config{Token: token, EncodingAESKey: aesKey, AppID: appID})
	if err != nil {
		t.Fatal(err)
	}
	bot := httptest.NewServer(r.Handler(func(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
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
	}))
	t.Cleanup(bot.Close)
	return bot
}

// photo draws the picture the user sends.
func photo() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			c := color.RGBA{R: uint8(90 + y/3), G: uint8(160 + x/8), B: uint8(230 - y/4), A: 255} // sky
			if y > 150+x/10 {
				c = color.RGBA{R: uint8(60 + x/8), G: uint8(140 - (y-150)/3), B: 70, A: 255} // hill
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// TestBrowserScreenshot plays the README's conversation on a phone-sized
// page: a user enters, writes 你好, sends a picture and a card, and an
// echobot-like bot answers in Chinese. -screenshot saves it
// (../docs/emulate.png).
func TestBrowserScreenshot(t *testing.T) {
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var client atomic.Pointer[kf.Client]
	bot := newEchoBot(t, &client)
	base := startEmulator(t, bot.URL+"/wechat").base
	connect(t, &client, base)
	p := openPage(t, ctx, base, 390, 844)

	p.click("#enter")
	p.waitText("欢迎光临小店")
	p.typeText("你好")
	p.click("#send")
	p.waitText("您说：“你好”")
	pic := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(pic, photo(), 0o644); err != nil {
		t.Fatal(err)
	}
	p.upload("#image", pic)
	p.waitText("图片收到了")
	p.click("#card")
	p.waitText("您分享了小程序页面")

	p.imagesLoaded()
	// An image is shown as itself: no bubble's padding or colour around it.
	var frame string
	p.eval(`(() => { const b = document.querySelector("#log .bubble.image"); const s = getComputedStyle(b); return s.paddingTop + " " + s.backgroundColor; })()`, &frame)
	if frame != "0px rgba(0, 0, 0, 0)" {
		t.Errorf("the image bubble's padding and background are %q, want none", frame)
	}
	p.fitsColumn()
	p.newestVisible()
	if errs := consoleErrors(p.Events()); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}

	// The screenshot shows the whole conversation: the page grows to it.
	var tall int
	p.eval(`(() => { const l = document.getElementById("log"); return Math.ceil(document.body.scrollHeight + l.scrollHeight - l.clientHeight); })()`, &tall)
	if err := p.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": tall, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	p.newestVisible()
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
