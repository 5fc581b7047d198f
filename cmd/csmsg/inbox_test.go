package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminGolden is where the inbox module keeps an answer of each kind of
// its admin API: its tests check that the real API answers them, these
// serve them.
var adminGolden = filepath.Join("..", "..", "inbox", "testdata", "admin")

// adminRequest is what the fake admin API was asked.
type adminRequest struct {
	Method, Path, Query, ContentType, Authorization, Body string
}

// fakeAdmin serves the golden answers under /admin/: stats and one dead
// letter (id 1); retrying or dropping 1 succeeds, any other id is not
// found.
func fakeAdmin(t *testing.T) (url string, got func() []adminRequest) {
	file := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(adminGolden, name))
		require.NoError(t, err)
		return b
	}
	var mu sync.Mutex
	var reqs []adminRequest
	mux := http.NewServeMux()
	answer := func(status int, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			reqs = append(reqs, adminRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(b)})
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(body)
		}
	}
	mux.Handle("GET /admin/api/stats", answer(200, file("stats.json")))
	mux.Handle("GET /admin/api/dead", answer(200, file("dead.json")))
	mux.Handle("POST /admin/api/dead/1/retry", answer(200, file("retry.json")))
	mux.Handle("POST /admin/api/dead/1/drop", answer(200, []byte(`{"id":1,"done":"drop"}`)))
	mux.Handle("POST /admin/api/dead/{id}/{action}", answer(404, file("notfound.json")))
	mux.Handle("/", answer(404, []byte("<html>not here</html>")))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/admin/", func() []adminRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]adminRequest(nil), reqs...)
	}
}

func TestInboxList(t *testing.T) {
	url, got := fakeAdmin(t)
	code, stdout, stderr := runCmd(t, "", "inbox", "list", "--url", url, "--header", "Authorization: Bearer s3cret")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stderr)
	assert.Equal(t, `queued 1, retrying 0, running 0, dead 1; 128 bytes waiting; oldest waiting 1m30s

ID  DIED                  ATTEMPTS  USER    KIND  ERROR
1   2026-12-01T08:00:00Z  1         oUserA  text  permanent: order service: 503 Service Unavailable
`, stdout)
	assert.Equal(t, []adminRequest{
		{Method: "GET", Path: "/admin/api/stats", Authorization: "Bearer s3cret"},
		{Method: "GET", Path: "/admin/api/dead", Query: "limit=100", Authorization: "Bearer s3cret"},
	}, got())
}

func TestInboxListJSON(t *testing.T) {
	url, _ := fakeAdmin(t)
	// Without the trailing slash, the URL still names the handler's root.
	code, stdout, stderr := runCmd(t, "", "inbox", "list", "--json", "--limit", "5", "--url", strings.TrimSuffix(url, "/"))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{
  "stats": {
    "queued": 1,
    "retrying": 0,
    "running": 0,
    "dead": 1,
    "bytes": 128,
    "oldest_age_ms": 90000
  },
  "dead": [
    {
      "id": 1,
      "key": "msg|15:gh_97417a04a28d|6:oUserA|1001",
      "to": "gh_97417a04a28d",
      "user": "oUserA",
      "kind": "text",
      "accepted": "2026-12-01T08:00:00Z",
      "died": "2026-12-01T08:00:00Z",
      "attempts": 1,
      "reason": "permanent: order service: 503 Service Unavailable",
      "message": {
        "ToUserName": "gh_97417a04a28d",
        "FromUserName": "oUserA",
        "CreateTime": 1796112000,
        "MsgType": "text",
        "Content": "where is my order?",
        "MsgId": 1001
      }
    }
  ]
}
`, stdout)
}

func TestInboxRetryDrop(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
		path   string
	}{
		{[]string{"retry", "1"}, 0, "dead letter 1 queued again\n", "", "/admin/api/dead/1/retry"},
		{[]string{"drop", "1"}, 0, "dead letter 1 dropped\n", "", "/admin/api/dead/1/drop"},
		{[]string{"drop", "7"}, 1, "", "csmsg: inbox drop: status 404 Not Found: inbox: no such job\n", "/admin/api/dead/7/drop"},
		{[]string{"retry", "7"}, 1, "", "csmsg: inbox retry: status 404 Not Found: inbox: no such job\n", "/admin/api/dead/7/retry"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			url, got := fakeAdmin(t)
			code, stdout, stderr := runCmd(t, "", append([]string{"inbox", "--url", url}, tc.args...)...)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.stdout, stdout)
			assert.Equal(t, tc.stderr, stderr)
			assert.Equal(t, []adminRequest{{Method: "POST", Path: tc.path, ContentType: "application/json", Body: "{}"}}, got())
		})
	}
}

func TestInboxErrors(t *testing.T) {
	url, got := fakeAdmin(t)
	notAdmin := strings.TrimSuffix(url, "admin/") + "elsewhere/"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no subcommand", []string{"--url", url}, 2, "csmsg: inbox wants list, retry ID or drop ID; run 'csmsg inbox --help'\n"},
		{"no url", []string{"list"}, 2, "csmsg: inbox: --url is required\n"},
		{"bad url", []string{"list", "--url", "ftp://x/"}, 2, "csmsg: --url \"ftp://x/\": want an http:// or https:// URL\n"},
		{"unknown subcommand", []string{"purge", "--url", url}, 2, "csmsg: inbox: unknown subcommand \"purge\": want list, retry ID or drop ID\n"},
		{"retry without id", []string{"retry", "--url", url}, 2, "csmsg: inbox retry: wrong arguments; run 'csmsg inbox --help'\n"},
		{"list with id", []string{"list", "1", "--url", url}, 2, "csmsg: inbox list: wrong arguments; run 'csmsg inbox --help'\n"},
		{"bad id", []string{"drop", "x1", "--url", url}, 2, "csmsg: inbox drop: ID \"x1\": want a dead letter's number\n"},
		{"bad limit", []string{"list", "--limit", "0", "--url", url}, 2, "csmsg: --limit 0: want 1 to 1000\n"},
		// The header's value, often a secret, is not repeated.
		{"bad header", []string{"list", "--header", "Bearer s3cret", "--url", url}, 2, "csmsg: inbox: --header wants \"Name: value\"\n"},
		{"not the admin API", []string{"list", "--url", notAdmin}, 1,
			"csmsg: inbox list: status 404 Not Found from " + notAdmin + "api/stats: is --url the inbox's admin handler?\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "", append([]string{"inbox"}, tc.args...)...)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.stderr, stderr)
			assert.Empty(t, stdout)
		})
	}
	assert.Equal(t, []adminRequest{{Method: "GET", Path: "/elsewhere/api/stats"}}, got())
}
