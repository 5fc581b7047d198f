package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestParseGolden(t *testing.T) {
	// Each sample body of the library prints as testdata/<name>.golden, read
	// from a file and from standard input.
	for _, name := range []string{"text.xml", "image.json", "miniprogrampage.xml", "user_enter_tempsession.json", "subscribe_msg_popup_event.xml"} {
		path := filepath.Join("..", "..", "testdata", name)
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		golden := filepath.Join("testdata", strings.ReplaceAll(name, ".", "_")+".golden")
		for _, args := range [][]string{{"parse", path}, {"parse", "-"}} {
			t.Run(name+"/"+args[1], func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), args, bytes.NewReader(body), &stdout, &stderr)
				require.Equal(t, 0, code, stderr.String())
				assert.Empty(t, stderr.String())
				if *update {
					require.NoError(t, os.WriteFile(golden, stdout.Bytes(), 0o644))
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err)
				assert.Equal(t, string(want), stdout.String())
			})
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string
	}{
		{"malformed body", []string{"parse", "-"}, `{"MsgType":"text"`, 1, "csmsg: malformed body: unexpected end of JSON input\n"},
		{"encrypted body", []string{"parse", "-"}, `{"Encrypt":"abc"}`, 1, "csmsg: body is encrypted: to verify and decrypt it, pass --token, --aes-key, --appid and --query (the push request's URL query); run 'csmsg parse --help'\n"},
		{"encrypted body, no key", []string{"parse", "--token", vectorToken, "--query", vectorQuery, "-"}, vectorBody, 1, "csmsg: body is encrypted: pass --aes-key and --appid to decrypt it\n"},
		{"not a push", []string{"parse", "-"}, `success`, 1, "csmsg: unknown body format: body starts with 's'\n"},
		{"missing file", []string{"parse", "testdata/nonexistent"}, "", 1, "csmsg: open testdata/nonexistent: no such file or directory\n"},
		{"no command", nil, "", 2, usage},
		{"unknown command", []string{"frobnicate"}, "", 2, "csmsg: unknown command \"frobnicate\"; run 'csmsg help' for the list\n"},
		{"parse without a file", []string{"parse"}, "", 2, "csmsg: parse takes one FILE (or - for standard input); run 'csmsg parse --help'\n"},
		{"parse with two files", []string{"parse", "a", "b"}, "", 2, "csmsg: parse takes one FILE (or - for standard input); run 'csmsg parse --help'\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.stderr, stderr.String())
			assert.Empty(t, stdout.String())
		})
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"help"}, nil, &stdout, &stderr))
	assert.Equal(t, usage, stdout.String())
}
