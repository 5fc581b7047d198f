package crashtest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Report is what a crash test did and found.
type Report struct {
	Config Config // the sizes, with the seed

	Pushes    int // pushes sent (each up to Config.Attempts times)
	Answered  int // pushes answered "success"
	Abandoned int // pushes never answered "success" in Config.Attempts attempts
	Attempts  int // requests sent
	Retries   int // requests that were a push's second or third attempt
	TimedOut  int // requests that got no answer within Config.Timeout
	Kills     int // SIGKILLs

	Processed      int // distinct pushes whose job returned nil
	ProcessedTwice int // pushes whose job returned nil more than once
	OnceTwice      int // pushes whose reply (the Once step) was sent more than once
	// Bound is how many pushes had their job running or completing (not
	// yet durably completed) at one of the kills (or marked by
	// [Bot.MarkRunning]): the most that may be processed, or have their
	// Once step run, twice.
	Bound int

	Missing    []string // answered "success" and never processed
	OutOfOrder []string // a user's pushes processed out of order
	Unbounded  []string // processed or replied twice without being running at a kill
	Errors     []string // the driver's own failures

	Sending time.Duration // until the last push was answered or abandoned
	Elapsed time.Duration // until every accepted push was processed
}

// check fills in r's findings from the events and the fake API.
func (d *Driver) check(r *Report, want map[string]bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p := range want {
		if d.done[p] == 0 {
			r.Missing = append(r.Missing, p)
		}
	}
	for p, n := range d.done {
		r.Processed++
		if n > 1 {
			r.ProcessedTwice++
			if !d.bound[p] {
				r.Unbounded = append(r.Unbounded, "processed twice: "+p)
			}
		}
	}
	for u, seq := range d.processedOrder() {
		if !sort.StringsAreSorted(seq) {
			r.OutOfOrder = append(r.OutOfOrder, fmt.Sprintf("%s processed %s", u, strings.Join(seq, " ")))
		}
	}
	sent := map[string]int{}
	var replies = map[string][]string{}
	for _, m := range d.api.Sent() {
		p := m.ToUser + " " + m.Text
		if sent[p]++; sent[p] == 1 {
			replies[m.ToUser] = append(replies[m.ToUser], m.Text)
		} else if sent[p] == 2 {
			r.OnceTwice++
			if !d.bound[p] {
				r.Unbounded = append(r.Unbounded, "replied twice: "+p)
			}
		}
	}
	for u, seq := range replies {
		if !sort.StringsAreSorted(seq) {
			r.OutOfOrder = append(r.OutOfOrder, fmt.Sprintf("%s replied %s", u, strings.Join(seq, " ")))
		}
	}
	for p := range want {
		if sent[p] == 0 && d.done[p] > 0 {
			r.Missing = append(r.Missing, "no reply: "+p)
		}
	}
	r.Bound = len(d.bound)
	sort.Strings(r.Missing)
	sort.Strings(r.OutOfOrder)
	sort.Strings(r.Unbounded)
}

// Err is nil if the promises held: every push answered "success" was
// processed and replied to, in order per user, and every push processed
// or replied to twice was running at a kill.
func (r Report) Err() error {
	var errs []error
	list := func(what string, l []string) {
		if len(l) > 0 {
			if len(l) > 20 {
				l = append(l[:20:20], fmt.Sprintf("and %d more", len(l)-20))
			}
			errs = append(errs, fmt.Errorf("crashtest: %s: %s", what, strings.Join(l, "; ")))
		}
	}
	list("answered success, never processed", r.Missing)
	list("out of order", r.OutOfOrder)
	list("beyond the jobs running at the kills", r.Unbounded)
	list("driver", r.Errors)
	return errors.Join(errs...)
}

// String is the report's figures, on a few lines.
func (r Report) String() string {
	return fmt.Sprintf("%d pushes from %d users (seed %d): %d answered success, %d abandoned after %d attempts; "+
		"%d requests, %d retries, %d timed out after %s; %d SIGKILLs\n"+
		"%d pushes processed; %d processed twice, %d replied twice (Once step run twice), "+
		"bound %d (jobs running or completing at the kills)\n"+
		"sending took %s, all processed after %s",
		r.Pushes, r.Config.Users, r.Config.Seed, r.Answered, r.Abandoned, r.Config.Attempts,
		r.Attempts, r.Retries, r.TimedOut, r.Config.Timeout, r.Kills,
		r.Processed, r.ProcessedTwice, r.OnceTwice, r.Bound,
		r.Sending.Round(time.Millisecond), r.Elapsed.Round(time.Millisecond))
}

// processedOrder is each user's pushes in the order they were first done;
// d.mu is held.
func (d *Driver) processedOrder() map[string][]string {
	type push struct {
		content string
		at      int64
	}
	byUser := map[string][]push{}
	for p, at := range d.firstDone {
		user, content, _ := strings.Cut(p, " ")
		byUser[user] = append(byUser[user], push{content, at})
	}
	order := map[string][]string{}
	for user, ps := range byUser {
		sort.Slice(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
		for _, p := range ps {
			order[user] = append(order[user], p.content)
		}
	}
	return order
}
