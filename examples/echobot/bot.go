package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/kf"
)

// bot answers WeChat at once and each push later, from its inbox: the
// Receiver accepts a push into the inbox (which is also its dedup store)
// and answers "success"; Run's jobs think, then reply through the API.
type bot struct {
	r      *csmsg.Receiver
	ib     *inbox.Inbox
	client *kf.Client
	think  time.Duration // how long the "model" takes to answer a text
	logger *slog.Logger
}

// newBot returns a bot on ib. cfg's Dedup is set to ib, so that a retry of
// an accepted push is answered "success" without a second job.
func newBot(cfg csmsg.Config, ib *inbox.Inbox, client *kf.Client, think time.Duration) (*bot, error) {
	cfg.Dedup = ib
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		return nil, err
	}
	return &bot{r: r, ib: ib, client: client, think: think, logger: logger}, nil
}

// Handler is the push URL's handler: it accepts each push into the inbox
// and answers "success" once the inbox has it on disk. A full inbox or a
// failing store answers 500, so that WeChat retries.
func (b *bot) Handler() http.Handler {
	return b.r.Handler(b.ib.Accept)
}

// Run answers the inbox's jobs until ctx ends, then lets the running ones
// finish (the inbox's drain) and returns.
func (b *bot) Run(ctx context.Context) error {
	return b.ib.Run(ctx, b.answer)
}

// answer is one job: a welcome for entering the chat, an echo for a text
// (after thinking), a word for an image or a card. Each send is inside
// job.Once, so a job run again after a crash does not send twice; the
// text's answer is a step of its own, so a re-run after the model
// answered does not think again.
func (b *bot) answer(ctx context.Context, job *inbox.Job) error {
	user := job.Message.MsgHeader().FromUserName
	var reply string
	switch m := job.Message.(type) {
	case *csmsg.UserEnterTempSession:
		reply = "Hello! I echo what you write."
	case *csmsg.Text:
		b.typing(ctx, job, user)
		answer, err := job.Once(ctx, "model", func(ctx context.Context) ([]byte, error) {
			return b.model(ctx, m.Content)
		})
		if err != nil {
			return err
		}
		reply = string(answer)
	case *csmsg.Image:
		reply = "Nice picture."
	case *csmsg.MiniProgramPage:
		reply = "You sent the card " + m.Title + "."
	default:
		return nil
	}
	_, err := job.Once(ctx, "reply", func(ctx context.Context) ([]byte, error) {
		return nil, b.client.SendText(ctx, user, reply)
	})
	if err != nil {
		return err
	}
	b.logger.InfoContext(ctx, "echobot: answered", slog.Uint64("job", job.ID), slog.Int("attempt", job.Attempt))
	return nil
}

// typing shows the user that the bot is typing, once per job: WeChat
// refuses a second "Typing" while the first shows (45015). It is a
// courtesy: a failure is logged, and the answer goes on.
func (b *bot) typing(ctx context.Context, job *inbox.Job, user string) {
	_, err := job.Once(ctx, "typing", func(ctx context.Context) ([]byte, error) {
		return nil, b.client.SetTyping(ctx, user, true)
	})
	if err != nil {
		b.logger.WarnContext(ctx, "echobot: typing", slog.Uint64("job", job.ID), slog.Any("err", err))
	}
}

// model stands for a slow language model: it takes b.think to echo
// content. A cancelled ctx (a shutdown past the drain, a lost lease) stops
// it, and the job runs again.
func (b *bot) model(ctx context.Context, content string) ([]byte, error) {
	t := time.NewTimer(b.think)
	defer t.Stop()
	select {
	case <-t.C:
		return []byte("echo: " + content), nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
