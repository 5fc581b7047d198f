package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
)

const inboxExample = `  # the bot serves ib.AdminHandler() on a loopback listener (see package inbox)
  csmsg inbox list --url http://127.0.0.1:8081/
  csmsg inbox retry 42 --url http://127.0.0.1:8081/
  # behind the application's authentication
  csmsg inbox drop 42 --url https://bot.example/admin/inbox/ --header "Authorization: Bearer $TOKEN"`

// The admin API of package inbox, as this command reads it. The inbox
// module documents it (inbox.AdminHandler) and keeps an example of each
// answer in inbox/testdata/admin, which the tests of both sides read.
// This module cannot import the inbox's, so the shapes are repeated here,
// with only the fields the command shows.
type (
	inboxStats struct {
		Queued      int   `json:"queued"`
		Retrying    int   `json:"retrying"`
		Running     int   `json:"running"`
		Dead        int   `json:"dead"`
		Bytes       int64 `json:"bytes"`
		OldestAgeMS int64 `json:"oldest_age_ms"`
	}
	inboxDeadLetter struct {
		ID       uint64          `json:"id"`
		Key      string          `json:"key"`
		To       string          `json:"to"`
		User     string          `json:"user"`
		Kind     string          `json:"kind"`
		Accepted time.Time       `json:"accepted"`
		Died     time.Time       `json:"died"`
		Attempts int             `json:"attempts"`
		Reason   string          `json:"reason"`
		Message  json.RawMessage `json:"message"`
	}
	inboxDead struct {
		Dead []inboxDeadLetter `json:"dead"`
	}
	inboxError struct {
		Error string `json:"error"`
	}
)

// inboxCmd implements "csmsg inbox".
func inboxCmd(e *env, args []string) error {
	fs := newFlagSet(e, "inbox", "inbox list|retry ID|drop ID --url ADMIN_URL [flags]\n\n"+
		"Talks to the admin API of an inbox (package inbox's AdminHandler) at ADMIN_URL,\n"+
		"where the application mounts it:\n"+
		"  list      print the queue's counts and the dead letters with their errors\n"+
		"  retry ID  queue dead letter ID again, after its user's waiting jobs\n"+
		"  drop ID   delete dead letter ID and its message", inboxExample)
	target := fs.String("url", "", "the `ADMIN_URL` where the bot serves the inbox's admin handler (required)")
	var headers headerFlags
	fs.Var(&headers, "header", "send the HTTP `header` \"Name: value\" with each request, for the application's authentication (repeatable)")
	asJSON := fs.Bool("json", false, "list: print the API's answers as one JSON object, messages included")
	limit := fs.Int("limit", 100, "list: show at most `N` dead letters, oldest first (1 to 1000)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for each answer")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if headers.bad {
		return usageError(`inbox: --header wants "Name: value"`)
	}
	if len(pos) == 0 {
		return usageError("inbox wants list, retry ID or drop ID; run 'csmsg inbox --help'")
	}
	if *target == "" {
		return usageError("inbox: --url is required")
	}
	base, err := url.Parse(*target)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return usageError(fmt.Sprintf("--url %q: want an http:// or https:// URL", *target))
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/" // the API's paths are relative to where the handler is mounted
	}
	c := &adminClient{base: base, header: headers.header, timeout: *timeout, ctx: e.ctx}
	switch sub := pos[0]; {
	case sub == "list" && len(pos) == 1:
		if *limit < 1 || *limit > 1000 {
			return usageError(fmt.Sprintf("--limit %d: want 1 to 1000", *limit))
		}
		return inboxList(e, c, *limit, *asJSON)
	case (sub == "retry" || sub == "drop") && len(pos) == 2:
		id, err := strconv.ParseUint(pos[1], 10, 64)
		if err != nil {
			return usageError(fmt.Sprintf("inbox %s: ID %q: want a dead letter's number", sub, pos[1]))
		}
		if err := c.call(http.MethodPost, "api/dead/"+pos[1]+"/"+sub, nil); err != nil {
			return fmt.Errorf("inbox %s: %w", sub, err)
		}
		done := "queued again"
		if sub == "drop" {
			done = "dropped"
		}
		fmt.Fprintf(e.stdout, "dead letter %d %s\n", id, done)
		return nil
	case sub == "list" || sub == "retry" || sub == "drop":
		return usageError(fmt.Sprintf("inbox %s: wrong arguments; run 'csmsg inbox --help'", sub))
	default:
		return usageError(fmt.Sprintf("inbox: unknown subcommand %q: want list, retry ID or drop ID", sub))
	}
}

// inboxList prints the counts and the dead letters.
func inboxList(e *env, c *adminClient, limit int, asJSON bool) error {
	var stats inboxStats
	var dead inboxDead
	if err := c.call(http.MethodGet, "api/stats", &stats); err != nil {
		return fmt.Errorf("inbox list: %w", err)
	}
	if err := c.call(http.MethodGet, "api/dead?limit="+strconv.Itoa(limit), &dead); err != nil {
		return fmt.Errorf("inbox list: %w", err)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Stats inboxStats        `json:"stats"`
			Dead  []inboxDeadLetter `json:"dead"`
		}{stats, dead.Dead})
	}
	fmt.Fprintf(e.stdout, "queued %d, retrying %d, running %d, dead %d; %d bytes waiting",
		stats.Queued, stats.Retrying, stats.Running, stats.Dead, stats.Bytes)
	if stats.Queued+stats.Retrying+stats.Running > 0 {
		fmt.Fprintf(e.stdout, "; oldest waiting %v", (time.Duration(stats.OldestAgeMS) * time.Millisecond).Round(time.Second))
	}
	fmt.Fprintln(e.stdout)
	if len(dead.Dead) == 0 {
		fmt.Fprintln(e.stdout, "no dead letters")
		return nil
	}
	fmt.Fprintln(e.stdout)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIED\tATTEMPTS\tUSER\tKIND\tERROR")
	for _, d := range dead.Dead {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Died.UTC().Format(time.RFC3339), d.Attempts, d.User, d.Kind, deliver.OneLine(d.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(dead.Dead) < stats.Dead {
		fmt.Fprintf(e.stdout, "(%d of %d dead letters shown; --limit shows more)\n", len(dead.Dead), stats.Dead)
	}
	return nil
}

// adminClient calls an inbox's admin API.
type adminClient struct {
	ctx     context.Context
	base    *url.URL
	header  http.Header
	timeout time.Duration
}

// call makes a request to path, relative to the API's base, and decodes a
// 200 answer into out (unless out is nil). A POST carries an empty JSON
// object, as the API asks. Another status is an error with the API's
// message.
func (c *adminClient) call(method, path string, out any) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	ref, err := url.Parse(path)
	if err != nil {
		return err
	}
	u := c.base.ResolveReference(ref)
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil && c.ctx.Err() == nil {
			return fmt.Errorf("no answer from %s within %v", u.Redacted(), c.timeout)
		}
		return errors.New(deliver.OneLine(err.Error()))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, deliver.MaxAnswer+1))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %v", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		var e inboxError
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("status %s: %s", resp.Status, deliver.FirstRunes([]byte(e.Error), 200))
		}
		return fmt.Errorf("status %s from %s: is --url the inbox's admin handler?", resp.Status, u.Redacted())
	}
	if out == nil {
		return nil
	}
	if len(b) > deliver.MaxAnswer {
		return fmt.Errorf("the answer of %s is over %d bytes", u.Redacted(), deliver.MaxAnswer)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the answer of %s is not the admin API's JSON: %v", u.Redacted(), err)
	}
	return nil
}

// headerFlags collects --header "Name: value" flags.
type headerFlags struct {
	header http.Header
	bad    bool // a flag was not "Name: value"
}

func (h *headerFlags) String() string { return "" }

// Set adds one header. A malformed one is only marked bad: the flag
// package's error would quote the value, which is often a secret.
func (h *headerFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		h.bad = true
		return nil
	}
	if h.header == nil {
		h.header = http.Header{}
	}
	h.header.Add(name, strings.TrimSpace(value))
	return nil
}
