package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/emulator"
)

const emulateExample = `  # your bot listens on :8080 with Token T (and, for safe mode, the key and appid)
  csmsg emulate --endpoint http://127.0.0.1:8080/wechat --token T \
    --aes-key Y3Ntc2cgZGVtbyBrZXkgLSBub3QgYSBzZWNyZXQwMDA --appid wx0123456789abcdef --format json
  # then open http://127.0.0.1:8081/ and point the bot's kf.Config at
  # BaseURL http://127.0.0.1:8081 with the AppID and AppSecret printed at start`

const defaultSecret = "csmsg-emulate-secret"

// emulateCmd implements "csmsg emulate".
func emulateCmd(e *env, args []string) error {
	fs := newFlagSet(e, "emulate", "emulate --endpoint URL --token T [--aes-key K --appid A] [--format xml|json] [--mode plain|compatible|safe] [--addr 127.0.0.1:8081]\n\nA local WeChat. It serves WeChat's customer-service API (stable tokens, send,\ntyping, temporary media, the reply window) for the bot, whose kf.Config.BaseURL\npoints at it, and a chat page where you play the user: each action there becomes\na signed push to --endpoint, and what the bot answers (passive replies and API\nsends, with API errors and the reply window's quota) appears in the conversation.\nEvery push and API call is printed on standard output as one JSON line.", emulateExample)
	var cf configFlags
	cf.register(fs)
	endpoint := fs.String("endpoint", "", "the bot's push `URL` (required)")
	format := fs.String("format", "xml", "the data format of the pushes: xml or json")
	mode := fs.String("mode", "", "the encryption mode: plain, compatible or safe (default safe with --aes-key, plain without)")
	addr := fs.String("addr", "127.0.0.1:8081", "the `address` to serve the API and the chat page on")
	secret := fs.String("secret", defaultSecret, "the AppSecret the bot's client must use")
	user := fs.String("user", defaultUser, "the `openid` of the user you play")
	botID := fs.String("bot-id", defaultBotID, "the mini program's original `id` (ToUserName of the pushes)")
	timeout := fs.Duration("timeout", deliver.Timeout, "how long to wait for each answer to a push, as WeChat waits 5 s")
	pause := fs.Duration("retry-pause", deliver.RetryPause, "the pause between attempts at a push")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usageError("emulate takes no arguments; run 'csmsg emulate --help'")
	case *endpoint == "":
		return usageError("emulate: --endpoint is required")
	case cf.token == "":
		return usageError("emulate: --token is required")
	case *secret == "":
		return usageError("emulate: --secret must not be empty")
	}
	f, err := parseFormat(*format)
	if err != nil {
		return err
	}
	d, err := newDeliverer(*endpoint, cf, *mode)
	if err != nil {
		return err
	}
	d.Timeout, d.Pause = *timeout, *pause
	d.Wording = deliver.Wording{Tool: "csmsg emulate", URLFlag: "--endpoint"}
	appID := cf.appID
	if appID == "" {
		appID = defaultAppID
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	em := emulator.New(e.ctx, emulator.Config{
		Deliver: func(ctx context.Context, body []byte, report func(deliver.Attempt)) {
			d.Deliver(ctx, body, report)
		},
		Endpoint: d.Target, Mode: modeName(d.Mode), Format: f,
		AppID: appID, Secret: *secret, User: *user, BotID: *botID,
		Base: "http://" + ln.Addr().String() + "/", Log: &lockedWriter{w: e.stdout},
		SessionFrom: defaultSession, CardTitle: defaultTitle, CardPagePath: defaultPagePath,
		NewMsgID: randomMsgID,
	})
	defer em.Close()
	printBanner(e.stderr, em.Config)
	return serveUntilDone(e, ln, em.Handler(), em.Base)
}

// printBanner tells the developer where the emulator listens and how to
// point the bot at it.
func printBanner(w io.Writer, cfg emulator.Config) {
	base := strings.TrimSuffix(cfg.Base, "/")
	fmt.Fprintf(w, "csmsg emulate: a local WeChat on %s\n", cfg.Base)
	fmt.Fprintf(w, "  chat page: open %s in a browser; you are the user %s\n", cfg.Base, cfg.User)
	fmt.Fprintf(w, "  pushes go to %s (%s, %s mode, ToUserName %s)\n", cfg.Endpoint, cfg.Format, cfg.Mode, cfg.BotID)
	fmt.Fprintf(w, "the bot's customer-service client:\n")
	fmt.Fprintf(w, "  kf.Config{AppID: %q, AppSecret: %q, BaseURL: %q}\n", cfg.AppID, cfg.Secret, base)
	fmt.Fprintf(w, "each push and API call is printed on standard output as a JSON line\n")
}
