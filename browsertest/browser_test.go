package browsertest

// The browser tests: each plays a scenario on the chat page of csmsg
// emulate (emulator_test.go) with a bot (bots_test.go), through the page's
// helpers (page_test.go).

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg/kf"
)

var screenshot = flag.String("screenshot", "", "save a PNG screenshot of the conversation to this `file` (e.g. ../docs/emulate.png)")

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
	const cause = "the endpoint refused the signature: check that the bot's Token matches csmsg emulate's --token"
	if !strings.Contains(got.Want, cause) {
		t.Errorf("the last attempt's error is %q, want one that names the cause: %q", got.Want, cause)
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
