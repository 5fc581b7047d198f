package inbox_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/memstore"
)

var cfg = csmsg.Config{Token: "token"}

const appID = "gh_97417a04a28d"

// text is a text message from user.
func text(user, id, content string) *csmsg.Text {
	return &csmsg.Text{
		Header: csmsg.Header{ToUserName: appID, FromUserName: user, CreateTime: time.Now().Unix(), MsgType: "text"},
		MsgID:  id, Content: content,
	}
}

// testOptions are fast options: short polls and backoffs.
func testOptions(o inbox.Options) inbox.Options {
	if o.PollInterval == 0 {
		o.PollInterval = 2 * time.Millisecond
	}
	if o.Backoff == nil {
		o.Backoff = func(int) time.Duration { return time.Millisecond }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// opener returns an Inbox on a new, empty store.
type opener func(t *testing.T, o inbox.Options) *inbox.Inbox

// newInbox returns an Inbox on a memory store.
func newInbox(t *testing.T, o inbox.Options) *inbox.Inbox {
	ib := inbox.New(memstore.New(nil), testOptions(o))
	t.Cleanup(func() { ib.Close() })
	return ib
}

// newFileInbox returns an Inbox on a new file.
func newFileInbox(t *testing.T, o inbox.Options) *inbox.Inbox {
	ib, err := inbox.Open(filepath.Join(t.TempDir(), "bot.inbox"), testOptions(o))
	require.NoError(t, err)
	t.Cleanup(func() { ib.Close() })
	return ib
}

// eachStore runs test on an inbox in memory, and on one in a file.
func eachStore(t *testing.T, test func(t *testing.T, newInbox opener)) {
	for _, s := range []struct {
		name string
		open opener
	}{{"memory", newInbox}, {"file", newFileInbox}} {
		t.Run(s.name, func(t *testing.T) { test(t, s.open) })
	}
}

// handler returns the push handler of a Receiver on ib.
func handler(t testing.TB, ib *inbox.Inbox) http.Handler {
	c := cfg
	c.Dedup = ib
	r, err := csmsg.NewReceiver(c)
	require.NoError(t, err)
	return r.Handler(ib.Accept)
}

// send pushes msg through h, as WeChat would, and returns the answer.
func send(t *testing.T, h http.Handler, msg csmsg.Message) *httptest.ResponseRecorder {
	t.Helper()
	req, err := csmsgtest.NewRequest("/wx", cfg, csmsgtest.ModePlaintext, msg, csmsg.FormatJSON)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// accept accepts msg into ib directly.
func accept(t *testing.T, ib *inbox.Inbox, msg csmsg.Message) {
	t.Helper()
	reply, err := ib.Accept(context.Background(), msg)
	require.NoError(t, err)
	require.Nil(t, reply)
}

// run runs ib with fn until the returned stop is called.
func run(t *testing.T, ib *inbox.Inbox, fn inbox.Func) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx, fn) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually waits up to 10 seconds for cond.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, msg)
}

// recorder records the contents of the text messages fn handled, per user.
type recorder struct {
	mu   sync.Mutex
	seen map[string][]string
	n    int
}

func (r *recorder) add(msg csmsg.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string][]string{}
	}
	m := msg.(*csmsg.Text)
	r.seen[m.FromUserName] = append(r.seen[m.FromUserName], m.Content)
	r.n++
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *recorder) of(user string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen[user]...)
}

// logBuffer is a Logger whose lines a test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}
