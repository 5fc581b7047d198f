package inbox_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/memstore"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/admin")

// adminT0 is the store's clock in the admin tests: fixed, so that the
// answers are golden.
var adminT0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// adminInbox returns an Inbox holding one dead letter (user oUserA's
// message, failed for good) and one queued job (user oUserB's), on a
// store whose clock stands at adminT0, seen 90 seconds later.
func adminInbox(t *testing.T) *inbox.Inbox {
	ib := inbox.New(memstore.New(func() time.Time { return adminT0 }),
		testOptions(inbox.Options{Now: func() time.Time { return adminT0.Add(90 * time.Second) }}))
	t.Cleanup(func() { ib.Close() })
	msg := func(user, id, content string) *csmsg.Text {
		return &csmsg.Text{Header: csmsg.Header{ToUserName: appID, FromUserName: user, CreateTime: adminT0.Unix(), MsgType: "text"},
			MsgID: id, Content: content}
	}
	accept(t, ib, msg("oUserA", "1001", "where is my order?"))
	stop := run(t, ib, func(context.Context, *inbox.Job) error {
		return inbox.Permanent(errors.New("order service: 503 Service Unavailable"))
	})
	eventually(t, func() bool {
		st, err := ib.Stats(context.Background())
		return err == nil && st.Dead == 1
	}, "the job did not dead-letter")
	stop()
	accept(t, ib, msg("oUserB", "1002", "hello"))
	return ib
}

// golden compares got with testdata/admin/name, or writes it with -update.
// cmd/csmsg's tests read the same files: they are the API's contract.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "admin", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

// do serves one request through h.
func do(h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1:8081"+path, strings.NewReader("{}"))
	for k, vs := range header {
		req.Header[k] = vs
	}
	if host := header.Get("Host"); host != "" { // as net/http's server does
		req.Host = host
		req.Header.Del("Host")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

var jsonType = http.Header{"Content-Type": {"application/json"}}

// TestAdminAPI checks the answers of the API against the golden files the
// CLI's tests serve.
func TestAdminAPI(t *testing.T) {
	ib := adminInbox(t)
	h := ib.AdminHandler()
	for _, tc := range []struct {
		name, method, path string
		header             http.Header
		status             int
		golden             string
	}{
		{"stats", "GET", "/api/stats", nil, 200, "stats.json"},
		{"dead", "GET", "/api/dead", nil, 200, "dead.json"},
		{"dead limit", "GET", "/api/dead?limit=1", nil, 200, "dead.json"},
		{"drop unknown", "POST", "/api/dead/99/drop", jsonType, 404, "notfound.json"},
		{"retry unknown", "POST", "/api/dead/99/retry", jsonType, 404, "notfound.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(h, tc.method, tc.path, tc.header)
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			golden(t, tc.golden, w.Body.Bytes())
		})
	}
	t.Run("retry", func(t *testing.T) {
		w := do(h, "POST", "/api/dead/1/retry", jsonType)
		assert.Equal(t, 200, w.Code)
		golden(t, "retry.json", w.Body.Bytes())
		st, err := ib.Stats(context.Background())
		require.NoError(t, err)
		assert.Equal(t, inbox.Stats{Queued: 2, Bytes: 128 + 141, OldestAge: 90 * time.Second}, st)
	})
}

func TestAdminDrop(t *testing.T) {
	ib := adminInbox(t)
	w := do(ib.AdminHandler(), "POST", "/api/dead/1/drop", jsonType)
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, `{"id":1,"done":"drop"}`+"\n", w.Body.String())
	dl, err := ib.DeadLetters(context.Background(), 10)
	require.NoError(t, err)
	assert.Empty(t, dl)
}

// TestAdminRefusals checks the answers to what the API refuses, the
// cross-site requests among them; none changes the dead letter.
func TestAdminRefusals(t *testing.T) {
	ib := adminInbox(t)
	h := ib.AdminHandler()
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	with := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name, method, path string
		header             http.Header
		status             int
		body               string
	}{
		{"cross-site fetch", "POST", "/api/dead/1/drop", with("Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"), 403,
			`{"error":"inbox: cross-site request refused: Sec-Fetch-Site \"cross-site\""}`},
		{"same-site fetch", "POST", "/api/dead/1/retry", with("Sec-Fetch-Site", "same-site"), 403,
			`{"error":"inbox: cross-site request refused: Sec-Fetch-Site \"same-site\""}`},
		{"foreign origin", "POST", "/api/dead/1/drop", with("Origin", "https://evil.example"), 403,
			`{"error":"inbox: cross-site request refused: Origin \"https://evil.example\" is not this host"}`},
		{"null origin", "POST", "/api/dead/1/drop", with("Origin", "null"), 403,
			`{"error":"inbox: cross-site request refused: Origin \"null\" is not this host"}`},
		{"origin on another port", "POST", "/api/dead/1/drop", with("Origin", "http://127.0.0.1:9999"), 403,
			`{"error":"inbox: cross-site request refused: Origin \"http://127.0.0.1:9999\" is not this host"}`},
		{"origin on the other default port", "POST", "/api/dead/1/drop", with("Origin", "https://admin.example", "Host", "admin.example:80"), 403,
			`{"error":"inbox: cross-site request refused: Origin \"https://admin.example\" is not this host"}`},
		{"origin on a default port, host not", "POST", "/api/dead/1/drop", with("Origin", "http://127.0.0.1:80"), 403,
			`{"error":"inbox: cross-site request refused: Origin \"http://127.0.0.1:80\" is not this host"}`},
		{"origin of a subdomain", "POST", "/api/dead/1/drop", with("Origin", "https://evil.admin.example", "Host", "admin.example"), 403,
			`{"error":"inbox: cross-site request refused: Origin \"https://evil.admin.example\" is not this host"}`},
		{"cross-site form", "POST", "/api/dead/1/drop", http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
			"Sec-Fetch-Site": {"cross-site"}}, 403, `{"error":"inbox: cross-site request refused: Sec-Fetch-Site \"cross-site\""}`},
		{"plain form", "POST", "/api/dead/1/drop", form, 415, `{"error":"inbox: want Content-Type application/json"}`},
		{"text/plain", "POST", "/api/dead/1/retry", http.Header{"Content-Type": {"text/plain"}}, 415,
			`{"error":"inbox: want Content-Type application/json"}`},
		{"no content type", "POST", "/api/dead/1/retry", nil, 415, `{"error":"inbox: want Content-Type application/json"}`},
		{"bad id", "POST", "/api/dead/x/retry", jsonType, 400, `{"error":"inbox: a dead letter's id is a number"}`},
		{"bad limit", "GET", "/api/dead?limit=0", nil, 400, `{"error":"inbox: limit wants a number from 1 to 1000"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(h, tc.method, tc.path, tc.header)
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, tc.body+"\n", w.Body.String())
		})
	}
	t.Run("GET retry", func(t *testing.T) {
		w := do(h, "GET", "/api/dead/1/retry", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		assert.Equal(t, "POST", w.Header().Get("Allow"))
	})
	dl, err := ib.DeadLetters(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, dl, 1)
	assert.Equal(t, uint64(1), dl[0].ID)
}

// TestAdminSameOrigin checks that what the admin page's own script sends
// is accepted.
func TestAdminSameOrigin(t *testing.T) {
	for _, header := range []http.Header{
		{"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://127.0.0.1:8081"}},
		{"Content-Type": {"application/json; charset=utf-8"}, "Origin": {"http://127.0.0.1:8081"}},
		{"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"none"}},
		// The host's case and a default port do not matter.
		{"Content-Type": {"application/json"}, "Origin": {"http://LocalHost"}, "Host": {"localhost:80"}},
		{"Content-Type": {"application/json"}, "Origin": {"https://admin.example:443"}, "Host": {"Admin.Example"}},
		{"Content-Type": {"application/json"}, "Origin": {"https://admin.example"}, "Host": {"admin.example:443"}},
		{"Content-Type": {"application/json"}, "Origin": {"http://[::1]"}, "Host": {"[::1]:80"}},
		{"Content-Type": {"application/json"}, "Origin": {"http://127.0.0.1:8081"}, "Host": {"127.0.0.1:8081"}},
	} {
		ib := adminInbox(t)
		w := do(ib.AdminHandler(), "POST", "/api/dead/1/retry", header)
		assert.Equal(t, 200, w.Code, header)
		assert.Equal(t, `{"id":1,"done":"retry"}`+"\n", w.Body.String())
	}
}

// TestAdminPage checks the page, its files and the headers that keep it
// private and unframed.
func TestAdminPage(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/admin", adminInbox(t).AdminHandler()))
	defer srv.Close()
	for _, tc := range []struct{ path, contentType, contains string }{
		{"/admin/", "text/html; charset=utf-8", `<script src="admin.js" defer></script>`},
		{"/admin/admin.js", "text/javascript; charset=utf-8", `fetch("api/dead/" + id + "/" + action`},
		{"/admin/admin.css", "text/css; charset=utf-8", "td.reason"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, tc.path)
		assert.Equal(t, http.Header{
			"Content-Type":            {tc.contentType},
			"Cache-Control":           {"no-store"},
			"X-Content-Type-Options":  {"nosniff"},
			"Referrer-Policy":         {"no-referrer"},
			"Content-Security-Policy": {"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
			"X-Frame-Options":         {"DENY"},
		}, without(resp.Header, "Date", "Content-Length"), tc.path)
		assert.Contains(t, string(body), tc.contains, tc.path)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, err := http.Get(srv.URL + "/admin/nothing")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)

	// The mount point without its slash leads to the page.
	resp, err = http.Get(srv.URL + "/admin")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "/admin/", resp.Request.URL.Path)
}

// TestAdminMount checks the handler mounted under a prefix stripped with
// or without its trailing slash.
func TestAdminMount(t *testing.T) {
	stats := `{"queued":1,"retrying":0,"running":0,"dead":1,"bytes":128,"oldest_age_ms":90000}` + "\n"
	for _, prefix := range []string{"/admin/inbox", "/admin/inbox/"} {
		h := http.StripPrefix(prefix, adminInbox(t).AdminHandler())
		for _, tc := range []struct {
			path   string
			status int
			body   string
		}{
			{"/admin/inbox/api/stats", 200, stats},
			{"/admin/inbox/api/dead/1/retry", 405, "Method Not Allowed\n"},
			{"/admin/inbox/admin.css", 200, ""},
			{"/admin/inbox/nothing", 404, "404 page not found\n"},
		} {
			w := do(h, "GET", tc.path, nil)
			assert.Equal(t, tc.status, w.Code, prefix+" "+tc.path)
			if tc.body != "" {
				assert.Equal(t, tc.body, w.Body.String(), prefix+" "+tc.path)
			}
		}
	}
	w := do(http.StripPrefix("/admin/inbox", adminInbox(t).AdminHandler()), "GET", "/admin/inbox", nil)
	assert.Equal(t, http.StatusMovedPermanently, w.Code)
	assert.Equal(t, "inbox/", w.Header().Get("Location"))
}

// without returns h without the named headers.
func without(h http.Header, names ...string) http.Header {
	h = h.Clone()
	for _, n := range names {
		h.Del(n)
	}
	return h
}

// The admin page behind the application's own authentication, under
// /admin/inbox/; or, for a machine nobody else logs in to, on a loopback
// listener of its own.
func ExampleInbox_AdminHandler() {
	ib, err := inbox.Open("bot.inbox", inbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ib.Close()
	requireAdmin := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(user+":"+pass), []byte(os.Getenv("ADMIN_LOGIN"))) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="inbox"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	http.Handle("/admin/inbox/", http.StripPrefix("/admin/inbox", requireAdmin(ib.AdminHandler())))

	// Or: go http.ListenAndServe("127.0.0.1:8081", ib.AdminHandler())
}
