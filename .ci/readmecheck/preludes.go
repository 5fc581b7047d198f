package main

import (
	"maps"
	"slices"
)

// preludes are what a go block that is not a whole file assumes, named in
// the document by <!-- prelude: NAME --> above the block: package-level
// declarations of the variables the block uses as if the reader had them.
// Imports are not written here: the checker adds those of knownImports
// that a block and its prelude use.
//
// Such a block is compiled as the body of a function returning error, so
// that "return err" works; its lines from the first declaration at column 0
// ("func ..." or "type ...", with the comment lines right above it) on are
// package-level declarations, as the gin recipe's statusOf. The variables
// the block's statements declare at its top level are used after it, so
// that a snippet may stop where the reader takes over.
var preludes = map[string]string{
	// A bare block of statements, needing nothing.
	"statements": ``,

	// Parsing a push body.
	"parse": `var body []byte`,

	// A Receiver's Handler, with a queue to hand messages to.
	"handler": `
var r *csmsg.Receiver

// queue is where the handler hands a message off.
var queue interface {
	Put(ctx context.Context, m csmsg.Message) error
}`,

	// A gin router in front of a Receiver.
	"gin": `
var (
	router *gin.Engine
	r      *csmsg.Receiver
	handle csmsg.HandlerFunc // the user's function
)`,

	// A Receiver in front of an inbox, and the slow work behind it.
	"inbox": `
var (
	ctx               context.Context
	token, key, appID string
	client            *kf.Client
	askModel          func(ctx context.Context, m csmsg.Message) ([]byte, error)
)`,

	// Several instances sharing a Redis.
	"redis": `
var (
	ctx               context.Context
	token, key, appID string
	handle            csmsg.HandlerFunc // the user's function
	rdb               *redis.Client     // as in the block above
)`,

	// The message-push settings, as strings.
	"settings": `var token, key, appID string`,

	// Answering a message later, outside the HandlerFunc.
	"reply": `
var (
	ctx              context.Context
	msg              csmsg.Message // the message handed off by the HandlerFunc
	appID, appSecret string
)`,

	// A test of the user's handler.
	"handlertest": `
var (
	cfg     csmsg.Config // the configuration of the Receiver under test
	handler http.Handler // its Handler
)`,

	// A test of a whole conversation with the user's bot.
	"conversation": `
var (
	ctx          context.Context
	appID        string
	secret       string
	user         string       // the user's openid
	cfg          csmsg.Config // the bot's Receiver configuration
	bot          http.Handler // the bot's Receiver.Handler
)`,

	// docPrelude: the code blocks of doc.go's package comment.
	docPrelude: `
var (
	body             []byte
	token, key, appID string
)`,
}

// docPrelude is the prelude of every code block of a Go package comment,
// which has no place for a directive.
const docPrelude = "doc"

// preludeNames returns the names of the preludes, sorted.
func preludeNames() []string { return slices.Sorted(maps.Keys(preludes)) }

// knownImports maps the package names a block may use to their import
// paths: the checker imports those a block uses without declaring them. A
// package of another module needs its module in go.mod too (required, and
// replaced by its directory for this repository's modules), and a line in
// deps.go so that go mod tidy keeps it.
var knownImports = map[string]string{
	"bytes":      "bytes",
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"http":       "net/http",
	"httptest":   "net/http/httptest",
	"io":         "io",
	"json":       "encoding/json",
	"log":        "log",
	"os":         "os",
	"signal":     "os/signal",
	"slog":       "log/slog",
	"strings":    "strings",
	"sync":       "sync",
	"testing":    "testing",
	"time":       "time",
	"url":        "net/url",
	"csmsg":      "github.com/csmsg/csmsg",
	"csmsgtest":  "github.com/csmsg/csmsg/csmsgtest",
	"csmsgredis": "github.com/csmsg/csmsg/csmsgredis",
	"inbox":      "github.com/csmsg/csmsg/inbox",
	"kf":         "github.com/csmsg/csmsg/kf",
	"kftest":     "github.com/csmsg/csmsg/kf/kftest",
	"redis":      "github.com/redis/go-redis/v9",
	"gin":        "github.com/gin-gonic/gin",
}
