package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

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
