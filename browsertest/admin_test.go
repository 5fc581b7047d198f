package browsertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/memstore"
)

// TestBrowserAdmin drives the inbox's admin page in headless Chromium: two
// dead letters are listed with their errors; a cross-site page's form and
// script cannot drop one; Retry runs the first again, and Drop deletes the
// second.
func TestBrowserAdmin(t *testing.T) {
	path := FindChromium()
	if path == "" {
		if os.Getenv("CSMSG_BROWSER_REQUIRED") != "" {
			t.Fatal("no chromium binary found, and CSMSG_BROWSER_REQUIRED is set")
		}
		t.Skip("no chromium binary found (install the Debian package chromium, or set $CHROMIUM): skipping the browser test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// An inbox whose jobs fail for good until fixed is set; then they
	// record their message's content in handled.
	ib := inbox.New(memstore.New(nil), inbox.Options{PollInterval: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer ib.Close()
	var fixed atomic.Bool
	var mu sync.Mutex
	var handled []string
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan error, 1)
	defer func() {
		stopRun()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	fn := func(_ context.Context, job *inbox.Job) error {
		if !fixed.Load() {
			return inbox.Permanent(errors.New("order service: 503 Service Unavailable"))
		}
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, job.Message.(*csmsg.Text).Content)
		return nil
	}
	go func() { ran <- ib.Run(runCtx, fn) }()
	for i, user := range []string{"oUserA", "oUserB"} {
		msg := &csmsg.Text{Header: csmsg.Header{ToUserName: "gh_97417a04a28d", FromUserName: user, CreateTime: time.Now().Unix(), MsgType: "text"},
			MsgID: fmt.Sprint(1001 + i), Content: []string{"where is my order?", "cancel it, please"}[i]}
		if _, err := ib.Accept(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two dead letters", func() bool {
		st, err := ib.Stats(ctx)
		return err == nil && st.Dead == 2
	})
	admin := httptest.NewServer(http.StripPrefix("/admin", ib.AdminHandler()))
	defer admin.Close()

	b, err := Launch(ctx, path, t.TempDir(), 1200, 800)
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
	p.navigate(admin.URL + "/admin/")

	// Listed, with their errors and messages.
	p.waitEval(`!!document.getElementById("dead-2")`)
	for id, want := range map[int][]string{
		1: {"oUserA", "order service: 503 Service Unavailable", "where is my order?"},
		2: {"oUserB", "order service: 503 Service Unavailable", "cancel it, please"},
	} {
		var row string
		p.eval(fmt.Sprintf(`document.getElementById("dead-%d").innerText`, id), &row)
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("dead letter %d's row %q lacks %q", id, row, w)
			}
		}
	}
	p.waitEval(`document.getElementById("deadcount").textContent === "2"`)

	// Another site's page (another origin: another port) posts a form to
	// drop dead letter 2, and a script tries the same: both are refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><body><form id="f" method="POST" action="%[1]s/admin/api/dead/2/drop">
<input name="a" value="1"></form><script>
fetch("%[1]s/admin/api/dead/2/drop", {method: "POST", mode: "no-cors", body: "{}", headers: {"Content-Type": "text/plain"}})
  .finally(() => { document.body.dataset.fetched = "1"; document.getElementById("f").submit(); });
</script></body>`, admin.URL)
	}))
	defer evil.Close()
	p.navigate(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) + "/")
	p.waitEval(`location.pathname === "/admin/api/dead/2/drop" && document.readyState === "complete"`)
	var answer string
	p.eval(`document.body.innerText`, &answer)
	if !strings.Contains(answer, "cross-site request refused") {
		t.Errorf("the cross-site form's answer is %q, want a refusal", answer)
	}
	if dl, err := ib.DeadLetters(ctx, 10); err != nil || len(dl) != 2 {
		t.Fatalf("after the cross-site requests: %d dead letters (%v), want 2", len(dl), err)
	}

	// Back on the admin page: Retry the first, once its job works.
	p.navigate(admin.URL + "/admin/")
	p.waitEval(`!!document.getElementById("dead-2")`)
	fixed.Store(true)
	p.click("#dead-1 button.retry")
	waitFor(t, "the retried job to run", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == 1
	})
	p.waitEval(`!document.getElementById("dead-1") && document.getElementById("status").textContent === "Dead letter 1 queued again."`)

	// Drop the second: it never runs.
	p.click("#dead-2 button.drop")
	p.waitEval(`!document.getElementById("dead-2") && !document.getElementById("none").hidden`)
	p.waitEval(`document.getElementById("status").textContent === "Dead letter 2 dropped." && document.getElementById("deadcount").textContent === "0"`)
	if dl, err := ib.DeadLetters(ctx, 10); err != nil || len(dl) != 0 {
		t.Errorf("after Drop: %d dead letters (%v), want none", len(dl), err)
	}
	time.Sleep(50 * time.Millisecond) // a dropped job that ran would have by now
	mu.Lock()
	if fmt.Sprint(handled) != "[where is my order?]" {
		t.Errorf("handled %q, want only the retried job", handled)
	}
	mu.Unlock()

	// The cross-site form's refusal shows as a failed resource load; the
	// admin page itself logs nothing (no CSP violation, no script error).
	var errs []string
	for _, e := range consoleErrors(p.Events()) {
		if !strings.Contains(e, "403") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// navigate loads url in the page.
func (p *page) navigate(url string) {
	p.t.Helper()
	if err := p.Call(p.ctx, "Page.navigate", map[string]any{"url": url}, nil); err != nil {
		p.t.Fatal(err)
	}
}

// waitEval waits up to 15 seconds for the JavaScript expression cond to be
// true.
func (p *page) waitEval(cond string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		if err := p.Eval(p.ctx, cond, &ok); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var shown string
			p.Eval(p.ctx, `document.body ? document.body.innerText : ""`, &shown)
			p.t.Fatalf("waiting for %s; the page shows:\n%s", cond, shown)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor waits up to 15 seconds for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
