package browsertest

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

var listeningRE = regexp.MustCompile(`a local WeChat on (http://\S+)`)

// binDir holds the csmsg binary the tests build once (csmsgBinary).
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "browsertest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// csmsgBinary builds csmsg once and returns its path.
func csmsgBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "csmsg")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, "github.com/csmsg/csmsg/cmd/csmsg").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// emulator is a csmsg emulate process, which a test may stop and start
// again at the same address.
type emulator struct {
	t        *testing.T
	endpoint string
	base     string // the page's URL, ending in '/'
	cmd      *exec.Cmd
}

// startEmulator builds csmsg and runs csmsg emulate against endpoint.
func startEmulator(t *testing.T, endpoint string) *emulator {
	em := &emulator{t: t, endpoint: endpoint}
	em.start("127.0.0.1:0")
	t.Cleanup(em.stop)
	return em
}

// start runs csmsg emulate on addr and waits until it listens.
func (em *emulator) start(addr string) {
	t := em.t
	t.Helper()
	cmd := exec.Command(csmsgBinary(t), "emulate", "--endpoint", em.endpoint, "--addr", addr,
		"--token", token, "--aes-key", aesKey, "--appid", appID, "--format", "json", "--retry-pause", "10ms")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	em.cmd = cmd
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		em.base = u
	case <-time.After(30 * time.Second):
		t.Fatal("csmsg emulate did not start")
	}
}

// stop interrupts csmsg emulate and waits for it to end.
func (em *emulator) stop() {
	if em.cmd == nil {
		return
	}
	em.cmd.Process.Signal(os.Interrupt)
	em.cmd.Wait()
	em.cmd = nil
}

// restart starts csmsg emulate again where it was.
func (em *emulator) restart() {
	em.t.Helper()
	u, err := url.Parse(em.base)
	if err != nil {
		em.t.Fatal(err)
	}
	em.start(u.Host)
}
