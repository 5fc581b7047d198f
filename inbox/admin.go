package inbox

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
)

// AdminHandler returns the inbox's admin page and its JSON API: the
// queue's counts, the dead letters with their errors, and a retry and a
// drop button for each. Nothing mounts it: it shows users' messages, so
// put it behind the application's authentication, or serve it on a
// listener only the machine reaches.
//
//	mux.Handle("/admin/inbox/", http.StripPrefix("/admin/inbox", requireAdmin(ib.AdminHandler())))
//
//	// or, on its own loopback listener:
//	go http.ListenAndServe("127.0.0.1:8081", ib.AdminHandler())
//
// Its paths are relative to where it is mounted: the page at "/", the API
// under "api/"; http.StripPrefix with or without the trailing slash
// works, and the mount point without its slash redirects to the page. The page and the answers are never cached, and the page
// may not be framed.
//
// # Cross-site requests
//
// The state-changing requests (retry, drop) refuse what a browser sends
// for another site's page: they must be POST, carry a Content-Type of
// application/json (which no HTML form can send, and which a cross-site
// script may send only after a CORS preflight this handler never
// allows), and, when the browser names them, come from the same origin: a
// Sec-Fetch-Site other than same-origin or none, or an Origin whose host
// is not the request's Host (compared case-insensitively, a default port
// :80 for http or :443 for https written or not), is refused with 403. A
// reverse proxy in front must pass the browser's Host header through
// unchanged (nginx: proxy_set_header Host $http_host): a proxy that sends
// its upstream's address instead makes every browser POST look
// cross-site. Clients that are not
// browsers (curl, 'csmsg inbox') send neither header and pass. A loopback
// listener is still reachable by a page whose domain an attacker points
// at 127.0.0.1 (DNS rebinding): the Origin check refuses its POSTs, but
// not its GETs, so put authentication in front when the machine runs a
// browser.
//
// # JSON API
//
// This is the contract 'csmsg inbox' relies on; the golden files in
// testdata/admin hold an example of each answer. Times are RFC 3339 in
// UTC. An error is its status with {"error": "..."}.
//
//	GET  api/stats
//	     {"queued": 1, "retrying": 0, "running": 0, "dead": 1,
//	      "bytes": 164, "oldest_age_ms": 90000}
//	GET  api/dead[?limit=N]   (oldest death first; N from 1 to 1000, default 100)
//	     {"dead": [{"id": 1, "key": "...", "to": "gh_...", "user": "o...",
//	       "kind": "text", "accepted": "...", "died": "...", "attempts": 1,
//	       "reason": "...", "message": {...}}]}
//	     "message" is the push as csmsg marshals it to JSON (null if the
//	     stored one no longer parses).
//	POST api/dead/{id}/retry  (Content-Type: application/json, body ignored)
//	     {"id": 1, "done": "retry"}: queued again after its user's jobs
//	POST api/dead/{id}/drop
//	     {"id": 1, "done": "drop"}: deleted with its message
//
// Statuses: 400 for an id that is no number, 403 for a cross-site
// request, 404 for an id that is no dead letter, 405 for a wrong method,
// 415 for a body that is not JSON, 500 when the store fails (the detail
// is logged, not sent).
func (ib *Inbox) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	a := &admin{ib: ib}
	mux.HandleFunc("GET /{$}", a.page("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /admin.js", a.page("admin.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /admin.css", a.page("admin.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/stats", a.stats)
	mux.HandleFunc("GET /api/dead", a.dead)
	mux.HandleFunc("POST /api/dead/{id}/retry", a.change("retry", ib.Retry))
	mux.HandleFunc("POST /api/dead/{id}/drop", a.change("drop", ib.Drop))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", adminCSP)
		h.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/") { // mounted under a StripPrefix
			asked, _, _ := strings.Cut(r.RequestURI, "?")
			if r.URL.Path == "" && !strings.HasSuffix(asked, "/") { // "/admin", not "/admin/"
				// The page's links are relative: it must be at "/admin/".
				w.Header().Set("Location", path.Base(asked)+"/")
				w.WriteHeader(http.StatusMovedPermanently)
				return
			}
			r = r.Clone(r.Context())
			r.URL.Path = "/" + r.URL.Path
			r.URL.RawPath = ""
		}
		mux.ServeHTTP(w, r)
	})
}

// adminCSP lets the page load its own script and style, call its own API,
// and nothing else.
const adminCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// The dead letters api/dead lists by default and at most.
const (
	adminDeadDefault = 100
	adminDeadMax     = 1000
)

//go:embed adminpage
var adminPage embed.FS

// adminStats is the JSON of GET api/stats: [Stats], with the oldest
// job's age in milliseconds.
type adminStats struct {
	Queued      int   `json:"queued"`
	Retrying    int   `json:"retrying"`
	Running     int   `json:"running"`
	Dead        int   `json:"dead"`
	Bytes       int64 `json:"bytes"`
	OldestAgeMS int64 `json:"oldest_age_ms"`
}

// adminDeadLetter is one dead letter in the JSON of GET api/dead.
type adminDeadLetter struct {
	ID       uint64          `json:"id"`
	Key      string          `json:"key"`
	To       string          `json:"to"`   // the mini program's original id
	User     string          `json:"user"` // the user's openid
	Kind     string          `json:"kind"` // the push's MsgType
	Accepted time.Time       `json:"accepted"`
	Died     time.Time       `json:"died"`
	Attempts int             `json:"attempts"`
	Reason   string          `json:"reason"`
	Message  json.RawMessage `json:"message"` // the push as JSON, or null
}

// admin serves AdminHandler's requests.
type admin struct{ ib *Inbox }

// page serves the embedded file name.
func (a *admin) page(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := adminPage.ReadFile("adminpage/" + name)
		if err != nil { // cannot happen: the files are embedded
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Write(b)
	}
}

func (a *admin) stats(w http.ResponseWriter, r *http.Request) {
	st, err := a.ib.Stats(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, adminStats{Queued: st.Queued, Retrying: st.Retrying, Running: st.Running,
		Dead: st.Dead, Bytes: st.Bytes, OldestAgeMS: st.OldestAge.Milliseconds()})
}

func (a *admin) dead(w http.ResponseWriter, r *http.Request) {
	limit := adminDeadDefault
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > adminDeadMax {
			writeError(w, http.StatusBadRequest, "inbox: limit wants a number from 1 to "+strconv.Itoa(adminDeadMax))
			return
		}
		limit = n
	}
	dl, err := a.ib.DeadLetters(r.Context(), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Dead []adminDeadLetter `json:"dead"`
	}{Dead: make([]adminDeadLetter, 0, len(dl))}
	for _, d := range dl {
		out.Dead = append(out.Dead, deadLetterJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// deadLetterJSON is d as the API shows it.
func deadLetterJSON(d DeadLetter) adminDeadLetter {
	out := adminDeadLetter{ID: d.ID, Key: d.Key, Accepted: d.Accepted.UTC(), Died: d.Died.UTC(),
		Attempts: d.Attempts, Reason: d.Reason, Message: json.RawMessage("null")}
	if d.Message == nil {
		return out
	}
	h := d.Message.MsgHeader()
	out.To, out.User, out.Kind = h.ToUserName, h.FromUserName, h.MsgType
	if b, err := csmsg.Marshal(d.Message, csmsg.FormatJSON); err == nil && json.Valid(b) {
		out.Message = b
	}
	return out
}

// change serves a state-changing POST: do on the dead letter named in the
// path.
func (a *admin) change(name string, do func(ctx context.Context, id uint64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if why := crossSite(r); why != "" {
			writeError(w, http.StatusForbidden, "inbox: cross-site request refused: "+why)
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "inbox: want Content-Type application/json")
			return
		}
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<10))
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "inbox: a dead letter's id is a number")
			return
		}
		switch err := do(r.Context(), id); {
		case errors.Is(err, ErrNotFound):
			writeError(w, http.StatusNotFound, ErrNotFound.Error())
		case err != nil:
			a.fail(w, r, err)
		default:
			writeJSON(w, http.StatusOK, struct {
				ID   uint64 `json:"id"`
				Done string `json:"done"`
			}{id, name})
		}
	}
}

// crossSite says why r comes from another site's page, or "" if it does
// not (or comes from no browser).
func crossSite(r *http.Request) string {
	switch s := r.Header.Get("Sec-Fetch-Site"); s {
	case "", "same-origin", "none":
	default:
		return "Sec-Fetch-Site " + strconv.Quote(s)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	if u, err := url.Parse(origin); err != nil || u.Host == "" || !sameHost(u.Scheme, u.Host, r.Host) {
		return "Origin " + strconv.Quote(origin) + " is not this host"
	}
	return ""
}

// defaultPorts are the ports an Origin or a Host may leave out, by scheme.
var defaultPorts = map[string]string{"http": "80", "https": "443"}

// sameHost says whether an Origin's host (with its scheme) names the same
// host and port as a request's Host: case-insensitively, and with the
// scheme's default port written or not on either side.
func sameHost(scheme, originHost, host string) bool {
	norm := func(h string) string {
		h = strings.ToLower(h)
		if p, ok := defaultPorts[scheme]; ok {
			h = strings.TrimSuffix(h, ":"+p)
		}
		return h
	}
	return norm(originHost) == norm(host)
}

// fail answers 500 for a store's err, which it logs.
func (a *admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.ib.logger.ErrorContext(r.Context(), "inbox: admin request failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	writeError(w, http.StatusInternalServerError, "inbox: the store failed; the log has the detail")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: the API's types marshal
		status, b = http.StatusInternalServerError, []byte(`{"error":"inbox: encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
