package csmsg

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// dedupRenewInterval is DedupRenewInterval, which tests shorten.
var dedupRenewInterval = DedupRenewInterval

// renewer extends the claims a Receiver holds while their HandlerFuncs
// run: one goroutine, started when a claim is held and none runs, extends
// every claim held in one batch each dedupRenewInterval, and ends at the
// first tick that finds none held. A push costs it a map insert and a
// delete; no goroutine, timer or channel of its own.
type renewer struct {
	d        Deduper
	interval time.Duration // dedupRenewInterval when the Receiver was made
	logger   *slog.Logger  // nil: nothing is logged

	mu      sync.Mutex
	held    map[Claim]struct{}
	running bool
}

// hold adds c to the claims to renew, starting the loop if it is not
// running.
func (rn *renewer) hold(c Claim) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.held == nil {
		rn.held = make(map[Claim]struct{})
	}
	rn.held[c] = struct{}{}
	if !rn.running {
		rn.running = true
		go rn.loop()
	}
}

// drop removes c from the claims to renew.
func (rn *renewer) drop(c Claim) {
	rn.mu.Lock()
	delete(rn.held, c)
	rn.mu.Unlock()
}

// loop renews the claims held every dedupRenewInterval until none is.
func (rn *renewer) loop() {
	tick := time.NewTicker(rn.interval)
	defer tick.Stop()
	var batch []Claim
	for range tick.C {
		rn.mu.Lock()
		if len(rn.held) == 0 {
			rn.running = false
			rn.mu.Unlock()
			return
		}
		batch = batch[:0]
		for c := range rn.held {
			batch = append(batch, c)
		}
		rn.mu.Unlock()
		rn.renew(batch)
	}
}

// renew extends batch, bounded by the interval, and logs a store failure
// or the claims lost while still held.
func (rn *renewer) renew(batch []Claim) {
	ctx, cancel := context.WithTimeout(context.Background(), rn.interval)
	lost, err := rn.d.Extend(ctx, batch)
	cancel()
	if err != nil {
		rn.log(slog.LevelWarn, "csmsg: dedup store failure",
			fmt.Errorf("%w: extending the claims of %d HandlerFuncs still running: %w", errDedupStore, len(batch), err))
		return
	}
	n := 0
	rn.mu.Lock()
	for _, c := range lost {
		if _, ok := rn.held[c]; ok { // not completed in the meantime
			n++
		}
	}
	rn.mu.Unlock()
	if n > 0 {
		rn.log(slog.LevelWarn, "csmsg: dedup store failure",
			fmt.Errorf("%w: extending the claims of HandlerFuncs still running: %d of %d: %w", errDedupStore, n, len(batch), ErrNotOwner))
	}
}

func (rn *renewer) log(level slog.Level, msg string, err error) {
	if rn.logger != nil {
		rn.logger.LogAttrs(context.Background(), level, msg, slog.Any("err", err))
	}
}
