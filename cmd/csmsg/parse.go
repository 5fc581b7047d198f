package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
)

const parseExample = `  # a plaintext body
  csmsg parse testdata/text.xml

  # a captured safe-mode push: the query of the request and its body
  csmsg parse --token AAAAA --aes-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA --appid wxba5fad812f8e6fb9 \
    --query 'signature=6c5c...&timestamp=1714112445&nonce=415670741&openid=o9Ag...&encrypt_type=aes&msg_signature=046e...' \
    push.json`

// parseCmd implements "csmsg parse".
func parseCmd(e *env, args []string) error {
	fs := newFlagSet(e, "parse", "parse [--token T [--aes-key K --appid A] --query QUERY [--now TIME]] FILE|-", parseExample)
	var cf configFlags
	cf.register(fs)
	query := fs.String("query", "", "the push request's URL `query` (signature=...&timestamp=...&nonce=...), or its whole URL: verify and decrypt the body as a Receiver would")
	now := fs.String("now", "", "check the timestamp against this `time` (Unix seconds or RFC 3339) with the Receiver's 5-minute tolerance; without it the window is not checked, since a captured push is old")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("parse takes one FILE (or - for standard input); run 'csmsg parse --help'")
	}
	verify := cf.token != "" || cf.aesKey != "" || cf.appID != "" || *query != "" || *now != ""
	var r *csmsg.Receiver
	var q url.Values
	if verify {
		if cf.token == "" || *query == "" {
			return usageError("parse: verifying a push needs both --token and --query")
		}
		if q, err = parseQuery(*query); err != nil {
			return err
		}
		cfg := csmsg.Config{Token: cf.token, EncodingAESKey: cf.aesKey, AppID: cf.appID, Tolerance: -1}
		if *now != "" {
			t, err := parseTime(*now)
			if err != nil {
				return err
			}
			cfg.Tolerance, cfg.Now = 0, func() time.Time { return t }
		}
		if r, err = csmsg.NewReceiver(cfg); err != nil {
			return usageError(flagHint(err))
		}
	}
	body, err := readInput(pos[0], e.stdin)
	if err != nil {
		return err
	}
	var msg csmsg.Message
	if r != nil {
		msg, err = r.Parse(q, body)
	} else {
		msg, err = csmsg.Parse(body)
	}
	switch {
	case errors.Is(err, csmsg.ErrEncrypted) && r == nil:
		return fmt.Errorf("%w: to verify and decrypt it, pass --token, --aes-key, --appid and --query (the push request's URL query); run 'csmsg parse --help'", csmsg.ErrEncrypted)
	case errors.Is(err, csmsg.ErrEncrypted):
		return fmt.Errorf("%w: pass --aes-key and --appid to decrypt it", csmsg.ErrEncrypted)
	case errors.Is(err, csmsg.ErrInvalidSignature):
		return fmt.Errorf("%w: check that --token is the bot's Token and --query the captured request's whole query", err)
	case errors.Is(err, csmsg.ErrAppIDMismatch):
		return fmt.Errorf("%w: check that --appid is the mini program's appid", err)
	case errors.Is(err, csmsg.ErrDecrypt):
		return fmt.Errorf("%w: check that --aes-key is the bot's EncodingAESKey", err)
	case err != nil:
		return err
	}
	return printJSON(e.stdout, describe(msg), "  ")
}

// parseQuery reads a --query value: a query string, with or without its
// '?', or a whole URL.
func parseQuery(s string) (url.Values, error) {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[i+1:]
	}
	q, err := url.ParseQuery(s)
	if err != nil {
		return nil, usageError(fmt.Sprintf("--query: %v", err))
	}
	return q, nil
}

// parseTime reads a --now value: Unix seconds or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError(fmt.Sprintf("--now %q: want Unix seconds or an RFC 3339 time", s))
	}
	return t, nil
}

// printJSON writes v as JSON, indented with indent ("" for one line), with
// URLs keeping their '&'.
func printJSON(w io.Writer, v any, indent string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	return enc.Encode(v)
}

// maxInput bounds what the tool reads: far more than any push.
const maxInput = 16 << 20

// readInput reads the file at path, or stdin for "-".
func readInput(path string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxInput {
		return nil, fmt.Errorf("%s is larger than %d MiB", inputName(path), maxInput>>20)
	}
	return body, nil
}

// inputName names the input at path in a message: "standard input" for -.
func inputName(path string) string {
	if path == "-" {
		return "standard input"
	}
	return path
}

// description is what parse prints.
type description struct {
	Kind    string `json:"kind"`
	Message any    `json:"message"`
}

// unknownFields is an Unknown with its body as text rather than base64.
type unknownFields struct {
	csmsg.Header
	MsgID  string `json:",omitempty"`
	Event  string
	Format string
	Raw    string
}

// describe names msg's kind, its Go type's name, and picks the fields to
// print.
func describe(msg csmsg.Message) description {
	if m, ok := msg.(*csmsg.Unknown); ok {
		return description{"Unknown", unknownFields{m.Header, m.MsgID, m.Event, m.Format.String(), string(m.Raw)}}
	}
	return description{strings.TrimPrefix(fmt.Sprintf("%T", msg), "*csmsg."), msg}
}
