package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/csmsg/csmsg"
)

// The demo configuration of serve and emulate: not a secret, for loopback
// only.
const (
	demoToken  = "csmsg-demo-token"
	demoAESKey = "Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA" // base64 of "csmsg demo key - not a secret000"
	demoAppID  = defaultAppID
)

// Timeouts of the servers: WeChat waits 5 s for an answer, so a request
// that takes longer is lost anyway.
const (
	readHeaderTimeout = 2 * time.Second
	readTimeout       = 5 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
)

const serveExample = `  csmsg serve                      # the demo configuration, printed at start
  csmsg serve --addr 127.0.0.1:9000 --token mytoken   # plaintext mode
  csmsg serve --token T --aes-key K --appid A --transfer`

// serveCmd implements "csmsg serve".
func serveCmd(e *env, args []string) error {
	fs := newFlagSet(e, "serve", "serve [--addr 127.0.0.1:8080] [--token T [--aes-key K --appid A]] [--transfer]\n\nA demo receiver on csmsg's Receiver.Handler: it answers WeChat's URL verification,\nverifies, decrypts and parses each push, and prints it on standard output as one\nJSON line (refused pushes too, with the reason). Without --token it uses a\nbuilt-in demo configuration (safe and compatible mode) and prints it.", serveExample)
	var cf configFlags
	cf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "the `address` to listen on")
	transfer := fs.Bool("transfer", false, "answer each user message with the passive reply transfer_customer_service instead of \"success\"")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError("serve takes no arguments; run 'csmsg serve --help'")
	}
	demo := cf == configFlags{}
	if demo {
		cf = configFlags{token: demoToken, aesKey: demoAESKey, appID: demoAppID}
	}
	cfg, _, err := cf.config()
	if err != nil {
		return err
	}
	out := &lockedWriter{w: e.stdout}
	cfg.Logger = slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{ReplaceAttr: causeInFlags}))
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		return usageError(flagHint(err))
	}
	handler := r.Handler(func(_ context.Context, msg csmsg.Message) (*csmsg.Reply, error) {
		d := describe(msg)
		line := struct {
			Time    string `json:"time"`
			Kind    string `json:"kind"`
			Message any    `json:"message"`
		}{time.Now().Format(time.RFC3339Nano), d.Kind, d.Message}
		if err := printJSON(out, line, ""); err != nil {
			return nil, err
		}
		if *transfer {
			return csmsg.Transfer(msg), nil
		}
		return nil, nil
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String() + "/"
	printServeBanner(e, base, cf, demo)
	return serveUntilDone(e, ln, handler, base)
}

// printServeBanner tells the developer how to reach the receiver.
func printServeBanner(e *env, base string, cf configFlags, demo bool) {
	w := e.stderr
	what := "your configuration"
	if demo {
		what = "the demo configuration"
	}
	fmt.Fprintf(w, "csmsg serve: listening on %s with %s; each push is printed on standard output as a JSON line\n", base, what)
	keyFlags := ""
	if cf.aesKey != "" {
		keyFlags = fmt.Sprintf(" --aes-key %s --appid %s", cf.aesKey, cf.appID)
	}
	if demo {
		fmt.Fprintf(w, "  --token %s%s\n", cf.token, keyFlags)
	}
	fmt.Fprintln(w, "try, in another terminal:")
	if cf.aesKey != "" {
		fmt.Fprintf(w, "  csmsg send text --url %s --token %s%s --mode safe\n", base, cf.token, keyFlags)
		fmt.Fprintf(w, "  csmsg send image --url %s --token %s%s --mode compatible --format json\n", base, cf.token, keyFlags)
	} else {
		fmt.Fprintf(w, "  csmsg send text --url %s --token %s --mode plain\n", base, cf.token)
	}
	fmt.Fprintf(w, "  csmsg verify-url --url %s --token %s\n", base, cf.token)
	if demo {
		fmt.Fprintf(w, "for plaintext mode, run a receiver without a key: csmsg serve --token %s\n", cf.token)
	}
}

// serveUntilDone serves h on ln with the timeouts WeChat makes sensible,
// until e.ctx ends.
func serveUntilDone(e *env, ln net.Listener, h http.Handler, base string) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if e.ready != nil {
		e.ready(base)
	}
	select {
	case err := <-errc:
		return err
	case <-e.ctx.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
