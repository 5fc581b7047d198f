// Command csmsg works with WeChat Mini Program customer-service pushes from
// the command line.
//
// Usage:
//
//	csmsg parse FILE   parse a push body (FILE, or - for standard input) and
//	                   print its kind and fields as indented JSON
//
// A body that does not parse prints the error on standard error and exits
// with status 1; a usage error exits with status 2.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/csmsg/csmsg"
)

const usage = `usage: csmsg <command> [arguments]

commands:
  parse FILE   parse a push body (FILE, or - for standard input) and print
               its kind and fields as indented JSON
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is an error in how the command was called; its text may be
// empty when the usage says it all.
type usageError string

func (e usageError) Error() string { return string(e) }

// run is main with its inputs and outputs passed in; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) == 0:
		err = usageError("")
	case args[0] == "parse":
		err = parse(args[1:], stdin, stdout)
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	var usageErr usageError
	switch {
	case errors.As(err, &usageErr):
		if usageErr != "" {
			fmt.Fprintf(stderr, "csmsg: %s\n", usageErr)
		}
		fmt.Fprint(stderr, usage)
		return 2
	case err != nil:
		msg := err.Error()
		if !strings.HasPrefix(msg, "csmsg: ") { // the library's errors name it already
			msg = "csmsg: " + msg
		}
		fmt.Fprintln(stderr, msg)
		return 1
	}
	return 0
}

// parse implements "csmsg parse FILE".
func parse(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("parse takes one FILE (or - for standard input)")
	}
	body, err := readInput(args[0], stdin)
	if err != nil {
		return err
	}
	msg, err := csmsg.Parse(body)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false) // URLs keep their '&'
	enc.SetIndent("", "  ")
	return enc.Encode(describe(msg))
}

// maxInput bounds what the tool reads: far more than any push.
const maxInput = 16 << 20

// readInput reads the file at path, or stdin for "-".
func readInput(path string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxInput {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxInput)
	}
	return body, nil
}

// description is what parse prints.
type description struct {
	Kind    string `json:"kind"`
	Message any    `json:"message"`
}

// unknownFields is an Unknown with its body as text rather than base64.
type unknownFields struct {
	csmsg.Header
	Event  string
	Format string
	Raw    string
}

// describe names msg's kind, its Go type's name, and picks the fields to
// print.
func describe(msg csmsg.Message) description {
	if m, ok := msg.(*csmsg.Unknown); ok {
		return description{"Unknown", unknownFields{m.Header, m.Event, m.Format.String(), string(m.Raw)}}
	}
	return description{strings.TrimPrefix(fmt.Sprintf("%T", msg), "*csmsg."), msg}
}
