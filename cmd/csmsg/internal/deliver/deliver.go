// Package deliver sends pushes to a bot as WeChat does (signed, maybe
// encrypted, retried) and checks its answers, for "csmsg send" and the
// emulator alike. Each attempt's record names why an answer is not one
// WeChat accepts, in words that point at the setting to check (cause.go).
package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
)

// What WeChat does with a push, which send and emulate copy.
const (
	// Timeout is how long WeChat waits for the answer to a push.
	Timeout = 5 * time.Second
	// Attempts is how many times WeChat tries a push in all.
	Attempts = 3
	// RetryPause is the pause between attempts: WeChat documents none, and
	// retries promptly.
	RetryPause = time.Second
	// MaxAnswer bounds how much of an answer is read.
	MaxAnswer = 1 << 20
)

// Deliverer sends pushes to a bot as WeChat does, and checks the answers.
// Build it with [New].
type Deliverer struct {
	// Target is the bot's push URL.
	Target string
	// Sign signs the pushes and opens the replies: without a key in
	// plaintext mode.
	Sign csmsg.Config
	// Mode is how pushes are protected.
	Mode csmsgtest.Mode
	// Timeout is how long to wait for each answer; Pause the pause
	// between attempts.
	Timeout, Pause time.Duration
	// Wording names the settings to check in the causes of failures.
	Wording Wording

	client *http.Client
}

// New returns a Deliverer of pushes to target, signed with cfg in mode m,
// with WeChat's timeout and pause. In plaintext mode the key and appid of
// cfg are left out, so that a plaintext push can test that a bot with a
// key refuses it.
func New(target string, cfg csmsg.Config, m csmsgtest.Mode) *Deliverer {
	if m == csmsgtest.ModePlaintext {
		cfg.EncodingAESKey, cfg.AppID = "", ""
	}
	return &Deliverer{
		Target: target, Sign: cfg, Mode: m,
		Timeout: Timeout, Pause: RetryPause,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // WeChat does not follow redirects
		}},
	}
}

// Attempt is the outcome of one attempt at a push, as send prints it and
// the emulator's page and log show it.
type Attempt struct {
	Attempt int    `json:"attempt"`
	OK      bool   `json:"ok"`
	Status  int    `json:"status,omitempty"`
	Millis  int64  `json:"ms"`
	Answer  string `json:"answer,omitempty"` // "success", "empty" or "transfer_customer_service"
	Error   string `json:"error,omitempty"`  // why the answer is not one WeChat accepts, and what to check
	// Reply is the passive reply, checked; ReplyTo is the user it is to.
	Reply   *csmsg.Reply `json:"-"`
	ReplyTo string       `json:"reply_to,omitempty"`
}

// Line is the attempt in one line, without its number.
func (a Attempt) Line() string {
	took := fmt.Sprintf("%dms", a.Millis)
	switch {
	case a.Status == 0:
		return fmt.Sprintf("failed after %s: %s", took, a.Error)
	case !a.OK:
		return fmt.Sprintf("status %d in %s: %s", a.Status, took, a.Error)
	case a.Reply != nil:
		return fmt.Sprintf("status %d in %s: passive reply %s to %s, well-formed", a.Status, took, a.Answer, a.ReplyTo)
	}
	return fmt.Sprintf("status %d in %s: %s", a.Status, took, a.Answer)
}

// Result is the outcome of a push, all attempts.
type Result struct {
	OK       bool      `json:"ok"`
	Attempts []Attempt `json:"attempts"`
}

// Deliver signs body, a plaintext push, and sends it as WeChat does: up to
// Attempts attempts, each given d.Timeout, until one is answered well.
// report, if not nil, is called after each attempt.
func (d *Deliverer) Deliver(ctx context.Context, body []byte, report func(Attempt)) Result {
	var res Result
	var pushed *csmsg.Header
	if msg, err := csmsg.Parse(body); err == nil {
		pushed = msg.MsgHeader()
	}
	p, err := csmsgtest.Sign(d.Sign, d.Mode, body)
	for i := 1; i <= Attempts && ctx.Err() == nil; i++ {
		if i > 1 && d.Pause > 0 {
			select {
			case <-time.After(d.Pause):
			case <-ctx.Done():
			}
		}
		var a Attempt
		if err != nil {
			a = Attempt{Error: "cannot sign the push: " + err.Error()}
		} else {
			a = d.attempt(ctx, p, pushed)
		}
		a.Attempt = i
		res.Attempts = append(res.Attempts, a)
		if report != nil {
			report(a)
		}
		if a.OK || err != nil {
			res.OK = a.OK
			break
		}
	}
	return res
}

// attempt makes one attempt at push p and checks the answer.
func (d *Deliverer) attempt(ctx context.Context, p *csmsgtest.Push, pushed *csmsg.Header) Attempt {
	req, err := p.Request(d.Target)
	if err != nil {
		return Attempt{Error: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := d.client.Do(req.WithContext(ctx))
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
		resp.Body.Close()
	}
	a := Attempt{Millis: time.Since(start).Milliseconds()}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			a.Error = fmt.Sprintf("no answer within %v: WeChat drops the connection and retries", d.Timeout)
		} else {
			a.Error = "request failed: " + OneLine(err.Error())
		}
		if resp != nil {
			a.Status = resp.StatusCode
		}
		return a
	}
	a.Status = resp.StatusCode
	if resp.StatusCode == http.StatusOK && len(answer) > MaxAnswer {
		a.Error = fmt.Sprintf("answer longer than %d bytes", MaxAnswer)
		return a
	}
	a.Reply, err = csmsgtest.OpenAnswer(d.Sign, p, resp.StatusCode, answer)
	switch {
	case errors.Is(err, csmsgtest.ErrAnswerStatus):
		a.Error = d.Wording.Refusal(resp.StatusCode, answer) + " (WeChat retries)"
		return a
	case err != nil:
		a.Error = err.Error()
		return a
	case a.Reply != nil:
		a.Answer = "transfer_customer_service"
		if pushed != nil { // it is: OpenAnswer read the same message
			a.ReplyTo = pushed.FromUserName
		}
	case len(bytes.TrimSpace(answer)) == 0:
		a.Answer = "empty"
	default:
		a.Answer = "success"
	}
	a.OK = true
	return a
}

// OneLine keeps an error message on one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// FirstRunes returns at most n runes of b, for an error message.
func FirstRunes(b []byte, n int) string {
	s := []rune(string(b))
	if len(s) > n {
		return string(s[:n]) + "..."
	}
	return string(s)
}
