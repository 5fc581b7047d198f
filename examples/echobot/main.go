// Command echobot is the smallest useful customer-service bot on csmsg: it
// receives pushes with a Receiver, hands each message to a worker within
// WeChat's 5 seconds, and answers through the customer-service API with a
// Client. Its defaults match `csmsg emulate`, so the two run together with
// no setup:
//
//	go run ./cmd/csmsg emulate --endpoint http://127.0.0.1:8080/wechat --token csmsg-demo-token \
//	  --aes-key Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA --appid wx0123456789abcdef
//	go run ./examples/echobot
//
// then open http://127.0.0.1:8081/ and chat with it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/kf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		stop()
		os.Exit(1)
	}
}

// run is the bot until ctx ends: it logs to w, the Receiver's refusals
// included, so that a wrong Token shows with its cause.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("echobot", flag.ContinueOnError)
	fs.SetOutput(w)
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on; pushes arrive at /wechat")
	token := fs.String("token", "csmsg-demo-token", "the Token of the message-push settings")
	key := fs.String("aes-key", "Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA", "the EncodingAESKey (empty for plaintext mode)")
	appID := fs.String("appid", "wx0123456789abcdef", "the mini program's AppID")
	secret := fs.String("secret", "csmsg-emulate-secret", "the AppSecret")
	api := fs.String("api", "http://127.0.0.1:8081", "WeChat's API: csmsg emulate's address, or https://api.weixin.qq.com")
	if err := fs.Parse(args); err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(w, nil))
	cfg := csmsg.Config{Token: *token, EncodingAESKey: *key, Logger: logger}
	if *key != "" {
		cfg.AppID = *appID
	}
	client, err := kf.NewClient(kf.Config{AppID: *appID, AppSecret: *secret, BaseURL: *api})
	if err != nil {
		return err
	}
	bot, err := newBot(cfg, client)
	if err != nil {
		return err
	}
	defer bot.Close()
	mux := http.NewServeMux()
	mux.Handle("/wechat", bot.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 2 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("echobot: listening", "push_url", "http://"+ln.Addr().String()+"/wechat", "api", *api)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// bot receives pushes and answers them through the API, from a worker.
type bot struct {
	r      *csmsg.Receiver
	log    *slog.Logger // cfg.Logger, or slog's default
	client *kf.Client
	inbox  chan csmsg.Message
	done   chan struct{}
}

// newBot returns a bot with its worker running.
func newBot(cfg csmsg.Config, client *kf.Client) (*bot, error) {
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		return nil, err
	}
	b := &bot{r: r, log: cfg.Logger, client: client, inbox: make(chan csmsg.Message, 64), done: make(chan struct{})}
	if b.log == nil {
		b.log = slog.Default()
	}
	go b.work()
	return b, nil
}

// Handler is the push URL's handler: it hands each message to the worker
// and answers "success" at once. A full inbox answers 500, so that WeChat
// retries later.
func (b *bot) Handler() http.Handler {
	return b.r.Handler(func(ctx context.Context, m csmsg.Message) (*csmsg.Reply, error) {
		select {
		case b.inbox <- m:
			return nil, nil
		default:
			return nil, fmt.Errorf("echobot: inbox full")
		}
	})
}

// Close stops the worker once the inbox is empty.
func (b *bot) Close() {
	close(b.inbox)
	<-b.done
}

// work answers each message: a welcome for entering the chat, an echo for
// a text, a word for an image or a card.
func (b *bot) work() {
	defer close(b.done)
	for m := range b.inbox {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := b.answer(ctx, m); err != nil {
			b.log.Warn("echobot: answering", "user", m.MsgHeader().FromUserName, "err", err)
		}
		cancel()
	}
}

func (b *bot) answer(ctx context.Context, m csmsg.Message) error {
	user := m.MsgHeader().FromUserName
	switch m := m.(type) {
	case *csmsg.UserEnterTempSession:
		return b.client.SendText(ctx, user, "Hello! I echo what you write.")
	case *csmsg.Text:
		if err := b.client.SetTyping(ctx, user, true); err != nil {
			return err
		}
		return b.client.SendText(ctx, user, "echo: "+m.Content)
	case *csmsg.Image:
		return b.client.SendText(ctx, user, "Nice picture.")
	case *csmsg.MiniProgramPage:
		return b.client.SendText(ctx, user, "You sent the card "+m.Title+".")
	}
	return nil
}
