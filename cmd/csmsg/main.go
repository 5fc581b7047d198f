// Command csmsg is a local WeChat for developing and testing a mini program's
// customer-service backend: it parses pushes, plays WeChat against a push URL,
// runs a demo receiver, and emulates the whole conversation, the user in a
// browser and WeChat's customer-service API for the bot.
//
// Usage:
//
//	csmsg parse [flags] FILE|-        parse a push body, or verify and decrypt a captured push
//	csmsg send KIND --url URL [flags] send a signed push as WeChat does and check the answer
//	csmsg verify-url --url URL --token T
//	                                  the GET handshake WeChat makes when the URL is saved
//	csmsg serve [flags]               a demo receiver that prints each push as a JSON line
//	csmsg emulate --endpoint URL --token T [flags]
//	                                  a local WeChat: the customer-service API and a chat page
//	csmsg version                     the version of csmsg and of the Go toolchain
//
// Every command has --help with an example.
//
// Exit status: 0 when everything went well; 1 when the endpoint misbehaved
// or the input was refused (the reason is one line on standard error); 2
// for a usage error (an unknown command or flag, a missing argument).
//
// Standard output carries the results: parse prints indented JSON, serve and
// emulate print one JSON line per push or API call. Banners (the addresses
// and flags to use) go to standard error, so that standard output stays
// machine-readable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/cmd/csmsg/internal/deliver"
	"github.com/csmsg/csmsg/csmsgtest"
)

const usage = `usage: csmsg <command> [arguments]

commands:
  parse FILE   parse a push body (FILE, or - for standard input) and print
               its kind and fields as indented JSON; with --token and
               --query, verify and decrypt a captured push as a Receiver does
  send KIND    play WeChat: send a signed push of KIND (one of csmsg's kinds,
               or raw; 'csmsg send --help' lists them) to --url and check
               the answer
  verify-url   play WeChat's URL verification (GET) against --url
  serve        run a demo receiver that prints each push as a JSON line
  emulate      run a local WeChat: the customer-service API for a bot and a
               chat page in the browser where you play the user
  inbox        list, retry or drop an inbox's dead letters through its
               admin API (--url)
  version      print the version of csmsg and of Go

Run 'csmsg <command> --help' for a command's flags and an example.
Exit status: 0 ok, 1 the endpoint or the input failed, 2 usage error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is an error in how the command was called.
type usageError string

func (e usageError) Error() string { return string(e) }

// errHelp is returned by a command whose --help was printed.
var errHelp = errors.New("help printed")

// env is what a command works with: its streams and context, and a hook
// that tests use to learn where a server listens.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// ready, if not nil, is called with the base URL of a server once it
	// listens (serve, emulate).
	ready func(baseURL string)
}

// run is main with its inputs and outputs passed in; it returns the exit
// status. It stops servers when ctx ends.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(&env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

// commands maps each command's name to its implementation.
var commands = map[string]func(e *env, args []string) error{
	"parse":      parseCmd,
	"send":       sendCmd,
	"verify-url": verifyCmd,
	"serve":      serveCmd,
	"emulate":    emulateCmd,
	"inbox":      inboxCmd,
	"version":    versionCmd,
}

func runEnv(e *env, args []string) int {
	if e.ctx == nil {
		e.ctx = context.Background()
	}
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	name := args[0]
	var err error
	if cmd, ok := commands[name]; ok {
		err = cmd(e, args[1:])
	} else if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			if _, ok := commands[args[1]]; ok {
				return runEnv(e, []string{args[1], "--help"})
			}
		}
		fmt.Fprint(e.stdout, usage)
		return 0
	} else {
		err = usageError(fmt.Sprintf("unknown command %q; run 'csmsg help' for the list", name))
	}
	var usageErr usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &usageErr):
		fmt.Fprintln(e.stderr, prefixed(usageErr.Error()))
		return 2
	default:
		fmt.Fprintln(e.stderr, prefixed(err.Error()))
		return 1
	}
}

// prefixed returns msg on one line, starting "csmsg: " once (the library's
// errors name it already).
func prefixed(msg string) string {
	msg = deliver.OneLine(msg)
	if !strings.HasPrefix(msg, "csmsg: ") {
		msg = "csmsg: " + msg
	}
	return msg
}

// flagSet is a command's flags and its help.
type flagSet struct {
	*flag.FlagSet
	name string
	help func()
}

// newFlagSet returns a flag set for command name whose --help prints
// synopsis, the flags and example to stdout; parse errors are returned, not
// printed, and become usage errors.
func newFlagSet(e *env, name, synopsis, example string) *flagSet {
	fs := flag.NewFlagSet("csmsg "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parseFlags prints the help for --help only
	help := func() {
		fmt.Fprintf(e.stdout, "usage: csmsg %s\n\n", synopsis)
		fmt.Fprintln(e.stdout, "flags:")
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintf(e.stdout, "\nexample:\n%s\n", example)
		fmt.Fprint(e.stdout, "\nexit status: 0 ok, 1 the endpoint or the input failed, 2 usage error\n")
	}
	return &flagSet{FlagSet: fs, name: name, help: help}
}

// parseFlags parses args with fs, allowing positional arguments before,
// between and after the flags, and returns the positional ones.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return nil, errHelp
			}
			return nil, usageError(fmt.Sprintf("%s: %v; run 'csmsg %s --help'", fs.name, err, fs.name))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest) - 1; i >= 0 && args[i] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// configFlags are the message-push settings of a mini program: the flags
// every command that signs or verifies takes.
type configFlags struct {
	token, aesKey, appID string
}

func (c *configFlags) register(fs *flagSet) {
	fs.StringVar(&c.token, "token", "", "the `Token` of the message-push settings")
	fs.StringVar(&c.aesKey, "aes-key", "", "the 43-character `EncodingAESKey` (compatible and safe mode)")
	fs.StringVar(&c.appID, "appid", "", "the mini program's `AppID` (required with --aes-key)")
}

// config returns the csmsg.Config of the flags, checked by NewReceiver: an
// invalid one is a usage error.
func (c *configFlags) config() (csmsg.Config, *csmsg.Receiver, error) {
	cfg := csmsg.Config{Token: c.token, EncodingAESKey: c.aesKey, AppID: c.appID}
	r, err := csmsg.NewReceiver(cfg)
	if err != nil {
		return cfg, nil, usageError(flagHint(err))
	}
	return cfg, r, nil
}

// flagHint rewrites an ErrInvalidConfig in terms of the flags.
func flagHint(err error) string {
	s := err.Error()
	r := strings.NewReplacer("an EncodingAESKey", "--aes-key", "PreviousEncodingAESKey", "--previous-aes-key", "EncodingAESKey", "--aes-key", "AppID", "--appid", "Token", "--token", "Config.", "")
	return r.Replace(s)
}

// configFields names the Config fields of the Receiver's log causes by
// the flags that set them.
var configFields = strings.NewReplacer(
	"Config.PreviousEncodingAESKey", "the previous key (not settable here)",
	"Config.EncodingAESKey", "--aes-key", "Config.AppID", "--appid", "Config.Token", "--token",
	"Config.Tolerance", "the 5-minute tolerance", "Config.MaxBodyBytes", "the 1 MiB limit")

// causeInFlags is a slog ReplaceAttr that words the cause of a Receiver's
// log line in the flags of the command.
func causeInFlags(_ []string, a slog.Attr) slog.Attr {
	if a.Key == "cause" {
		a.Value = slog.StringValue(configFields.Replace(a.Value.String()))
	}
	return a
}

// parseFormat reads a --format value.
func parseFormat(s string) (csmsg.Format, error) {
	switch strings.ToLower(s) {
	case "xml":
		return csmsg.FormatXML, nil
	case "json":
		return csmsg.FormatJSON, nil
	}
	return 0, usageError(fmt.Sprintf("--format %q: want xml or json", s))
}

// parseMode reads a --mode value; "" means safe with a key, plaintext
// without.
func parseMode(s string, haveKey bool) (csmsgtest.Mode, error) {
	switch strings.ToLower(s) {
	case "":
		if haveKey {
			return csmsgtest.ModeSafe, nil
		}
		return csmsgtest.ModePlaintext, nil
	case "plain", "plaintext":
		return csmsgtest.ModePlaintext, nil
	case "compatible":
		if !haveKey {
			return 0, usageError("--mode compatible needs --aes-key and --appid")
		}
		return csmsgtest.ModeCompatible, nil
	case "safe":
		if !haveKey {
			return 0, usageError("--mode safe needs --aes-key and --appid")
		}
		return csmsgtest.ModeSafe, nil
	}
	return 0, usageError(fmt.Sprintf("--mode %q: want plain, compatible or safe", s))
}

// modeName is the --mode spelling of m.
func modeName(m csmsgtest.Mode) string {
	if m == csmsgtest.ModePlaintext {
		return "plain"
	}
	return m.String()
}

// lockedWriter serialises writes of whole lines from many goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
