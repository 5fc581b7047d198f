package crashtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/queue"
	"github.com/csmsg/csmsg/kf"
)

// Events is the bot's side of the crash test: it writes what the bot does
// to the Driver, one line per event, on the bot process's standard output.
// A line written to a pipe stays in the pipe when the process is killed,
// so the Driver sees every event that happened. It is safe for concurrent
// use.
type Events struct {
	mu sync.Mutex
	w  io.Writer
}

// NewEvents returns Events written to w: the bot's os.Stdout.
func NewEvents(w io.Writer) *Events { return &Events{w: w} }

// The events, as written: "start ID USER CONTENT" when a job starts, "done
// ID UNIXNANO" just before its function returns nil, "commit ID" once the store's
// completion of it returned (durable).
const (
	eventStart  = "start"
	eventDone   = "done"
	eventCommit = "commit"
)

// emit writes one event line, in one write.
func (e *Events) emit(format string, args ...any) {
	line := fmt.Sprintf(format+"\n", args...)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Write([]byte(line)) //nolint:errcheck // a bot whose driver is gone has no one to tell
}

// Store wraps s so that each completion is reported once s made it
// durable: the Driver learns which jobs a kill could catch running.
func (e *Events) Store(s queue.Store) queue.Store { return reporting{s, e} }

// reporting is a Store that reports completions.
type reporting struct {
	queue.Store
	events *Events
}

// Complete implements queue.Store.
func (s reporting) Complete(ctx context.Context, l queue.Lease) (bool, error) {
	next, err := s.Store.Complete(ctx, l)
	if err == nil {
		s.events.emit("%s %d", eventCommit, l.ID)
	}
	return next, err
}

// Func is the bot's job: it reports its start, thinks for up to think (a
// random time: the model), sends the text message's content back to its
// user through client inside Once (the step the Driver counts through the
// fake API), and reports that it is done. A message that is not a text
// dead-letters.
func (e *Events) Func(client *kf.Client, think time.Duration) inbox.Func {
	return func(ctx context.Context, job *inbox.Job) error {
		m, ok := job.Message.(*csmsg.Text)
		if !ok {
			return inbox.Permanent(fmt.Errorf("crashtest: a %T, not a text", job.Message))
		}
		e.emit("%s %d %s %s", eventStart, job.ID, m.FromUserName, m.Content)
		if think > 0 {
			select {
			case <-time.After(rand.N(think)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err := job.Once(ctx, "reply", func(ctx context.Context) ([]byte, error) {
			return nil, client.SendText(ctx, m.FromUserName, m.Content)
		})
		if err != nil {
			return err
		}
		e.emit("%s %d %d", eventDone, job.ID, time.Now().UnixNano())
		return nil
	}
}
