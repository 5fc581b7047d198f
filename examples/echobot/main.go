// Command echobot is the smallest useful customer-service bot on csmsg, in
// the shape a real one takes: it answers WeChat within milliseconds by
// accepting each push into an inbox (a file on disk), and answers the user
// later, through the customer-service API, after a slow "model" has
// thought (--think, 8 s by default: longer than WeChat's 5 s). Killed and
// started again, it finishes the conversation, and sends each reply once.
// Its defaults match `csmsg emulate`, so the two run together with no
// setup, from the repository's root:
//
//	go run ./cmd/csmsg emulate --endpoint http://127.0.0.1:8080/wechat --token csmsg-demo-token \
//	  --aes-key Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA --appid wx0123456789abcdef
//	cd examples && go run ./echobot
//
// then open http://127.0.0.1:8081/ and chat with it. The inbox is the file
// echobot.db in the directory it runs in (--store). Ctrl-C lets an answer
// being thought finish (the inbox's drain, 10 s); a second Ctrl-C, or a
// kill -9, stops at once, and the next start answers once the interrupted
// job's lease (--lease) has run out. With --redis host:port the inbox
// lives on that Redis instead (module csmsgredis), shared by every
// instance started with the same flag.
package main

import (
	"context"
	"errors"
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

	"github.com/redis/go-redis/v9"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgredis"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/kf"
)

// shutdownTimeout bounds the wait for pushes being accepted at shutdown.
const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // from now on, a second signal ends the process at once
	}()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		stop()
		os.Exit(1)
	}
}

// run is the bot until ctx ends; it logs to w, the Receiver's refusals
// included, so that a wrong Token shows with its cause. When ctx ends it
// stops accepting pushes, lets the running jobs finish (the inbox's
// drain) and closes the inbox.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("echobot", flag.ContinueOnError)
	fs.SetOutput(w)
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on; pushes arrive at /wechat")
	token := fs.String("token", "csmsg-demo-token", "the Token of the message-push settings")
	key := fs.String("aes-key", "Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA", "the EncodingAESKey (empty for plaintext mode)")
	appID := fs.String("appid", "wx0123456789abcdef", "the mini program's AppID")
	secret := fs.String("secret", "csmsg-emulate-secret", "the AppSecret")
	api := fs.String("api", "http://127.0.0.1:8081", "WeChat's API: csmsg emulate's address, or https://api.weixin.qq.com")
	store := fs.String("store", "echobot.db", "the inbox `file`: accepted pushes wait there, through restarts")
	redisAddr := fs.String("redis", "", "a Redis `address` (host:port) to keep the inbox in instead of --store: instances on one Redis share it")
	think := fs.Duration("think", 8*time.Second, "how long the pretend model takes to answer a text")
	lease := fs.Duration("lease", 5*time.Second, "how long a job interrupted by a crash waits before it runs again")
	if err := fs.Parse(args); err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(w, nil))
	ib, err := openInbox(ctx, *store, *redisAddr, inbox.Options{Lease: *lease, Logger: logger})
	if err != nil {
		return err
	}
	defer ib.Close()
	cfg := csmsg.Config{Token: *token, EncodingAESKey: *key, Logger: logger}
	if *key != "" {
		cfg.AppID = *appID
	}
	client, err := kf.NewClient(kf.Config{AppID: *appID, AppSecret: *secret, BaseURL: *api})
	if err != nil {
		return err
	}
	b, err := newBot(cfg, ib, client, *think)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat", b.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 2 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("echobot: listening", slog.String("url", "http://"+ln.Addr().String()+"/wechat"),
		slog.String("api", *api), slog.String("store", *store), slog.Duration("think", *think))

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ran := make(chan error, 1)
	go func() { ran <- b.Run(runCtx) }()

	var failed error
	select {
	case <-ctx.Done():
	case failed = <-served:
	case failed = <-ran:
		ran <- nil // reported; the wait below returns at once
	}
	cancelRun()
	logger.Info("echobot: stopping; running jobs have the drain to finish")
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		failed = errors.Join(failed, err)
	}
	return errors.Join(failed, <-ran)
}

// openInbox opens the inbox: on the Redis at redisAddr if there is one,
// shared by every instance of the bot that names it, else the bbolt file
// at path, for one instance.
func openInbox(ctx context.Context, path, redisAddr string, opts inbox.Options) (*inbox.Inbox, error) {
	if redisAddr == "" {
		return inbox.Open(path, opts)
	}
	// Short timeouts: while Redis is down, a push is answered 500 quickly
	// and WeChat retries. The client lives as long as the process.
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: 1, ContextTimeoutEnabled: true})
	q, err := csmsgredis.NewQueue(ctx, rdb, csmsgredis.QueueOptions{Prefix: "echobot"})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return inbox.New(q, opts), nil
}
