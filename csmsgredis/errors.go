package csmsgredis

import "errors"

// The errors of this package. A failed Redis call is [ErrRedis] wrapping
// go-redis's error (a refused connection, a timeout); the Store's own
// outcomes are the errors of package queue ([queue.ErrLeaseLost],
// [queue.ErrFull], [queue.ErrNotFound], [queue.ErrFormat],
// [queue.ErrClosed]).
var (
	// ErrRedis means a call to Redis failed: the outcome is unknown to the
	// caller, and an Accept that fails so is not acknowledged (the
	// Receiver answers an error status and WeChat retries).
	ErrRedis = errors.New("csmsgredis: redis call failed")

	// ErrPrefix means QueueOptions.Prefix holds a brace, which would break the
	// hash tag that keeps a queue's keys in one slot.
	ErrPrefix = errors.New("csmsgredis: prefix must not hold { or }")
)
