package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A command is one shell command of an sh block, its continuation lines
// joined.
type command struct {
	line int    // the document's line of its first line
	text string // as printed, for bash
	port int    // for a long-running command, the loopback port it serves; 0 otherwise
}

// notRun matches the commands that are not run: they fetch from the
// network or install into the user's GOPATH.
var notRun = regexp.MustCompile(`\bgo\s+(get|install)\b|@latest\b`)

// longRunning lists the commands that serve until stopped, with the port
// each listens on unless its --addr says otherwise. They are started,
// probed until they answer HTTP on their port, and stopped once the other
// commands of their block have run. Matched against the command with
// "go run ./cmd/csmsg" written "csmsg".
var longRunning = []struct {
	re   *regexp.Regexp
	port int
}{
	{regexp.MustCompile(`^csmsg\s+serve\b`), 8080},
	{regexp.MustCompile(`^csmsg\s+emulate\b`), 8081},
	{regexp.MustCompile(`^cd\s+examples\s+&&\s+go\s+run\s+\./echobot\b`), 8080},
}

var (
	goRunCsmsgRE = regexp.MustCompile(`^go\s+run\s+\./cmd/csmsg\b`)
	addrFlagRE   = regexp.MustCompile(`--?addr[= ]\S*:(\d+)\b`)
)

// commands returns the commands of an sh block, and those it does not run
// with the reason.
func commands(b block) (run []command, notRunReasons map[int]string) {
	notRunReasons = make(map[int]string)
	for i := 0; i < len(b.lines); i++ {
		first := i
		text := b.lines[i]
		for strings.HasSuffix(text, "\\") && i+1 < len(b.lines) {
			i++
			text += "\n" + b.lines[i]
		}
		text = strings.TrimPrefix(strings.TrimSpace(text), "$ ")
		bare := stripComment(strings.ReplaceAll(text, "\\\n", " "))
		if bare == "" {
			continue
		}
		c := command{line: b.line + first, text: text}
		if m := notRun.FindString(bare); m != "" {
			notRunReasons[c.line] = "uses " + strings.Join(strings.Fields(m), " ")
			continue
		}
		norm := goRunCsmsgRE.ReplaceAllString(bare, "csmsg")
		for _, lr := range longRunning {
			if lr.re.MatchString(norm) {
				c.port = lr.port
				if m := addrFlagRE.FindStringSubmatch(norm); m != nil {
					c.port, _ = strconv.Atoi(m[1])
				}
			}
		}
		run = append(run, c)
	}
	return run, notRunReasons
}

// stripComment returns a command line without its trailing "# comment"
// (a '#' that starts a word outside quotes), trimmed.
func stripComment(s string) string {
	var quote rune
	prev := ' '
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return strings.TrimSpace(s[:i])
		}
		prev = r
	}
	return strings.TrimSpace(s)
}

// A runner runs the commands of sh blocks from the repository's root, with
// a PATH whose first directory holds the csmsg binary.
type runner struct {
	root       string        // the repository's root
	path       string        // PATH for the commands
	timeout    time.Duration // for each command that is not long-running
	startLimit time.Duration // for a long-running command to answer on its port
}

// runBlock runs the commands of one sh block: the long-running ones first,
// in their order, each probed until it answers; then the others, in order,
// each of which must exit 0; then it stops the long-running ones. It
// returns one error per failing command, naming its line.
func (r runner) runBlock(ctx context.Context, b block, cmds []command) (errs []error) {
	var servers []*server
	defer func() {
		failed := len(errs) > 0
		for i := len(servers) - 1; i >= 0; i-- {
			s := servers[i]
			defer s.out.remove()
			if err := s.stop(); err != nil {
				errs = append(errs, err)
			} else if failed {
				// What the server made of the failing commands.
				last := len(errs) - 1
				errs[last] = fmt.Errorf("%w\nwhile %v", errs[last], cmdError(b, s.c, errors.New("ran, and was stopped"), s.out.String()))
			}
		}
	}()
	for _, c := range cmds {
		if c.port == 0 {
			continue
		}
		s, err := r.start(ctx, b, c)
		if err != nil {
			return append(errs, err)
		}
		servers = append(servers, s)
	}
	for _, c := range cmds {
		if c.port != 0 {
			continue
		}
		if err := r.run(ctx, b, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// shell returns the process that runs c in its own process group.
func (r runner) shell(c command, out *output) *exec.Cmd {
	cmd := exec.Command("bash", "-c", c.text)
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "PATH="+r.path)
	cmd.Stdout, cmd.Stderr = out.f, out.f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// run runs a command that exits, and checks that it exits 0.
func (r runner) run(ctx context.Context, b block, c command) error {
	out, err := newOutput()
	if err != nil {
		return cmdError(b, c, err, "")
	}
	defer out.remove()
	cmd := r.shell(c, out)
	if err := cmd.Start(); err != nil {
		return cmdError(b, c, err, "")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return cmdError(b, c, err, out.String())
		}
		return nil
	case <-timer.C:
		killGroup(cmd, done)
		return cmdError(b, c, fmt.Errorf("still running after %v (a server? add it to longRunning in commands.go)", r.timeout), out.String())
	case <-ctx.Done():
		killGroup(cmd, done)
		return cmdError(b, c, ctx.Err(), out.String())
	}
}

// A server is a long-running command, started.
type server struct {
	b    block
	c    command
	cmd  *exec.Cmd
	out  *output
	done chan error
}

// start starts a long-running command and waits until it answers HTTP on
// its port.
func (r runner) start(ctx context.Context, b block, c command) (*server, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
	if ln, err := net.Listen("tcp", addr); err != nil {
		return nil, cmdError(b, c, fmt.Errorf("port %d is in use by another process before the command starts: stop it and run again", c.port), "")
	} else {
		ln.Close()
	}
	out, err := newOutput()
	if err != nil {
		return nil, cmdError(b, c, err, "")
	}
	s := &server{b: b, c: c, out: out, done: make(chan error, 1)}
	s.cmd = r.shell(c, s.out)
	if err := s.cmd.Start(); err != nil {
		out.remove()
		return nil, cmdError(b, c, err, "")
	}
	go func() { s.done <- s.cmd.Wait() }()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}} // loopback: never a proxy
	deadline := time.Now().Add(r.startLimit)
	for {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			killGroup(s.cmd, s.done)
			defer out.remove()
			return nil, cmdError(b, c, fmt.Errorf("did not answer on %s within %v", addr, r.startLimit), s.out.String())
		}
		select {
		case err := <-s.done:
			killRest(s.cmd.Process.Pid)
			defer out.remove()
			return nil, cmdError(b, c, fmt.Errorf("exited before answering on %s: %v", addr, err), s.out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop stops a long-running command, which must still be running.
func (s *server) stop() error {
	select {
	case err := <-s.done:
		killRest(s.cmd.Process.Pid)
		return cmdError(s.b, s.c, fmt.Errorf("exited while the block's other commands ran: %v", err), s.out.String())
	default:
	}
	killGroup(s.cmd, s.done)
	return nil
}

// killGroup ends the process group of cmd (bash, and what it started:
// "go run" and its program): SIGTERM, then SIGKILL after 5 seconds.
func killGroup(cmd *exec.Cmd, done <-chan error) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	killRest(pgid)
}

// killRest kills what is left of a process group whose leader has exited
// (go run's program, a command's background job), and waits up to 2
// seconds for it to be gone, so that its ports are free again.
func killRest(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdError describes a failing command with the end of its output.
func cmdError(b block, c command, err error, out string) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		err = fmt.Errorf("exit status %d", exit.ExitCode())
	}
	msg := fmt.Sprintf("%s:%d: %s\n  %v", b.file, c.line, strings.ReplaceAll(c.text, "\n", "\n  "), err)
	if out = tail(out, 40); out != "" {
		msg += "\n  output:\n    " + strings.ReplaceAll(strings.TrimRight(out, "\n"), "\n", "\n    ")
	}
	return errors.New(msg)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// An output holds a command's standard output and error in a temporary
// file that the command and its children write to directly, so that the
// command's exit is seen when it happens, not when the last process it
// started closes a pipe.
type output struct{ f *os.File }

// newOutput returns an empty output.
func newOutput() (*output, error) {
	f, err := os.CreateTemp("", "readmecheck-out-")
	if err != nil {
		return nil, err
	}
	return &output{f: f}, nil
}

// String returns what was written so far.
func (o *output) String() string {
	b, err := os.ReadFile(o.f.Name())
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// remove deletes the file.
func (o *output) remove() {
	o.f.Close()
	os.Remove(o.f.Name())
}
