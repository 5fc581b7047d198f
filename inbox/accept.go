package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox/queue"
)

// Accept is the [csmsg.HandlerFunc] that queues each push: give it to
// [csmsg.Receiver.Handler], with the Inbox as the Receiver's Config.Dedup.
// It records the push's key and its job in one durable commit and answers
// "success"; a push whose key is already recorded, a retry or a replay,
// is answered "success" without a second job. A push Options.Fast answers
// is not queued.
//
// A full queue, or a failing store, is an error, so that the Receiver
// answers an error status and WeChat retries; the reason is logged.
func (ib *Inbox) Accept(ctx context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
	if ib.opts.Fast != nil {
		if reply, ok := ib.opts.Fast(msg); ok {
			return reply, nil
		}
	}
	key := csmsg.DedupKey(msg)
	if key == "" { // a nil message: the Receiver makes none
		return nil, errNoMessage
	}
	body, err := encode(msg)
	if err != nil {
		return nil, err
	}
	_, err = ib.store.Accept(ctx, queue.Push{
		Key: key, Group: groupOf(msg.MsgHeader()), Body: body, MaxJobs: ib.opts.MaxJobs, MaxBytes: ib.opts.MaxBytes,
	})
	switch {
	case errors.Is(err, queue.ErrFull):
		ib.logger.WarnContext(ctx, "inbox: push refused, the queue is full; WeChat will retry it",
			slog.Int("max_jobs", ib.opts.MaxJobs), slog.Int64("max_bytes", ib.opts.MaxBytes))
		return nil, err
	case err != nil:
		ib.logger.ErrorContext(ctx, "inbox: push refused, the store failed; WeChat will retry it", slog.Any("err", err))
		return nil, fmt.Errorf("inbox: accepting a push: %w", err)
	}
	if recorded, ok := ib.inflight.Load(key); ok { // the Receiver's claim, taken by this Inbox
		recorded.(*atomic.Bool).Store(true)
	}
	ib.notify()
	return nil, nil
}

var errNoMessage = errors.New("inbox: no message")

// groupOf is a push's group: its mini program and its user, each after
// its length so that no two groups meet.
func groupOf(h *csmsg.Header) string {
	return strconv.Itoa(len(h.ToUserName)) + ":" + h.ToUserName + "|" + h.FromUserName
}

// encode returns msg as the store keeps it: as JSON, or an Unknown's own
// body.
func encode(msg csmsg.Message) ([]byte, error) {
	f := csmsg.FormatJSON
	if u, ok := msg.(*csmsg.Unknown); ok {
		f = u.Format
	}
	body, err := csmsg.Marshal(msg, f)
	if err != nil {
		return nil, fmt.Errorf("inbox: storing a push: %w", err)
	}
	return body, nil
}

// decode is the message encode stored.
func decode(body []byte) (csmsg.Message, error) {
	return csmsg.Parse(body)
}
