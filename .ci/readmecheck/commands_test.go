package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain serves HTTP on $READMECHECK_TEST_SERVE when it is set: the
// long-running command of TestRunBlock is this test binary.
func TestMain(m *testing.M) {
	if addr := os.Getenv("READMECHECK_TEST_SERVE"); addr != "" {
		fmt.Println("serving on", addr)
		err := http.ListenAndServe(addr, http.NotFoundHandler())
		fmt.Println(err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name       string
		lines      []string
		want       []command
		wantNotRun map[int]string
	}{
		{
			name: "README's first block",
			lines: []string{
				"go run ./cmd/csmsg parse testdata/text.xml   # parse a sample push and print it",
				"go test ./...                                # run the tests",
			},
			want: []command{
				{line: 10, text: "go run ./cmd/csmsg parse testdata/text.xml   # parse a sample push and print it"},
				{line: 11, text: "go test ./...                                # run the tests"},
			},
			wantNotRun: map[int]string{},
		},
		{
			name: "long-running, continuation lines, comments, prompts",
			lines: []string{
				"csmsg serve                      # terminal 1",
				"csmsg send text --url http://127.0.0.1:8080/ \\",
				"  --content 'a # b'",
				"",
				"# a comment line",
				"$ go run ./cmd/csmsg emulate --endpoint http://127.0.0.1:8080/wechat \\",
				"  --addr 127.0.0.1:9001",
				"cd examples && go run ./echobot",
			},
			want: []command{
				{line: 10, text: "csmsg serve                      # terminal 1", port: 8080},
				{line: 11, text: "csmsg send text --url http://127.0.0.1:8080/ \\\n  --content 'a # b'"},
				{line: 15, text: "go run ./cmd/csmsg emulate --endpoint http://127.0.0.1:8080/wechat \\\n  --addr 127.0.0.1:9001", port: 9001},
				{line: 17, text: "cd examples && go run ./echobot", port: 8080},
			},
			wantNotRun: map[int]string{},
		},
		{
			name: "fetching and installing are not run",
			lines: []string{
				"go get github.com/csmsg/csmsg",
				"go install github.com/csmsg/csmsg/cmd/csmsg@latest   # or: go run ./cmd/csmsg from a clone",
				"go run golang.org/x/example/hello@latest",
			},
			wantNotRun: map[int]string{10: "uses go get", 11: "uses go install", 12: "uses @latest"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notRun := commands(block{file: "R.md", line: 10, lang: "sh", lines: tt.lines})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands:\n%#v\nwant:\n%#v", got, tt.want)
			}
			if !reflect.DeepEqual(notRun, tt.wantNotRun) {
				t.Errorf("not run: %v, want %v", notRun, tt.wantNotRun)
			}
		})
	}
}

func TestStripComment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"csmsg serve   # terminal 1", "csmsg serve"},
		{"# all comment", ""},
		{"echo 'a # b' \"c # d\" # e", "echo 'a # b' \"c # d\""},
		{"echo a#b", "echo a#b"},
		{"  ls  ", "ls"},
	}
	for _, tt := range tests {
		if got := stripComment(tt.in); got != tt.want {
			t.Errorf("stripComment(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRunBlock(t *testing.T) {
	port := freePort(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary, as a server, matched by a longRunning entry of its
	// own for the test.
	saved := longRunning
	t.Cleanup(func() { longRunning = saved })
	longRunning = append(longRunning, struct {
		re   *regexp.Regexp
		port int
	}{regexp.MustCompile(`^READMECHECK_TEST_SERVE=`), port})
	serve := fmt.Sprintf("READMECHECK_TEST_SERVE=127.0.0.1:%d %s", port, self)
	r := runner{root: t.TempDir(), path: os.Getenv("PATH"), timeout: 3 * time.Second, startLimit: 10 * time.Second}

	tests := []struct {
		name  string
		lines []string
		want  []string // the errors' first two lines
	}{
		{
			name:  "a server started first, a client of it, then stopped",
			lines: []string{fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d   # it listens", port), serve},
		},
		{
			name:  "failing commands, each reported, the others still run",
			lines: []string{"echo to stdout; echo to stderr >&2; exit 3", "true", "false"},
			want: []string{
				"R.md:10: echo to stdout; echo to stderr >&2; exit 3\n  exit status 3\n  output:\n    to stdout\n    to stderr",
				"R.md:12: false\n  exit status 1",
			},
		},
		{
			name:  "a failing command: the server's output follows its own",
			lines: []string{serve, "echo no; false"},
			want: []string{
				"R.md:11: echo no; false\n  exit status 1\n  output:\n    no\n" +
					"while R.md:10: " + serve + "\n  ran, and was stopped\n  output:\n    serving on 127.0.0.1:" + strconv.Itoa(port),
			},
		},
		{
			name:  "a server that exits while the others run",
			lines: []string{serve + " & sleep 1; exit 5", "sleep 2"},
			want: []string{
				"R.md:10: " + serve + " & sleep 1; exit 5\n  exited while the block's other commands ran: exit status 5\n  output:\n    serving on 127.0.0.1:" + strconv.Itoa(port),
			},
		},
		{
			name:  "a command that does not end",
			lines: []string{"sleep 60"},
			want:  []string{"R.md:10: sleep 60\n  still running after 3s (a server? add it to longRunning in commands.go)"},
		},
		{
			name:  "a server that exits at once",
			lines: []string{"READMECHECK_TEST_SERVE=1 exit 4"},
			want:  []string{"R.md:10: READMECHECK_TEST_SERVE=1 exit 4\n  exited before answering on 127.0.0.1:" + strconv.Itoa(port) + ": exit status 4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := block{file: "R.md", line: 10, lang: "sh", lines: tt.lines}
			cmds, _ := commands(b)
			var got []string
			for _, err := range r.runBlock(context.Background(), b, cmds) {
				got = append(got, err.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n--\n"), strings.Join(tt.want, "\n--\n"))
			}
			// The server is gone: its port is free.
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatalf("port %d after the block: %v", port, err)
			}
			ln.Close()
		})
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
