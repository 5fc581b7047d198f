package inbox_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/inbox/crashtest"
)

// TestSIGKILL plays WeChat on both sides of a bot process on the file
// store (internal/crashbot, through package crashtest): users send pushes,
// each after the previous one was answered or abandoned after three
// attempts of 5 seconds, while the bot is killed with SIGKILL and started
// again. Every push answered "success" must be processed and replied to,
// in order per user; pushes processed or replied to twice are counted and
// must be among the jobs running or completing at the kills.
//
// By default it runs 1,000 pushes from 40 users and 5 kills; with
// INBOX_CRASH=full (as inbox/ci.sh sets), the 5,000 pushes from
// 200 users and 10 kills.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a process")
	}
	const workers = 8
	cfg := crashtest.Config{Users: 40, PerUser: 25, Kills: 5}
	if os.Getenv("INBOX_CRASH") == "full" {
		cfg = crashtest.Config{} // the figures
	}
	if s := os.Getenv("INBOX_CRASH_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		cfg.Seed = seed
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "crashbot")
	out, err := exec.Command("go", "build", "-o", bin, "./internal/crashbot").CombinedOutput()
	require.NoError(t, err, string(out))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()

	d := crashtest.NewDriver(cfg)
	defer d.Close()
	bot, err := d.StartBot(func() *exec.Cmd {
		return exec.Command(bin, "-store", filepath.Join(dir, "bot.inbox"), "-listen", addr,
			"-api", d.APIURL(), "-workers", strconv.Itoa(workers))
	})
	require.NoError(t, err)
	defer bot.Stop()

	r := d.Run("http://"+addr+"/wx", bot)
	t.Log(r)
	require.NoError(t, r.Err(), "bot's log:\n%s", bot.Log())
	assert.Equal(t, r.Pushes, r.Answered+r.Abandoned)
	assert.Less(t, r.Abandoned, r.Pushes/10, "WeChat abandoned most pushes")
	assert.GreaterOrEqual(t, r.Processed, r.Answered)
	assert.LessOrEqual(t, r.ProcessedTwice, r.Bound)
	assert.LessOrEqual(t, r.OnceTwice, r.Bound)
	assert.LessOrEqual(t, r.OnceTwice, r.Kills*workers, "replies sent twice beyond the jobs in flight at the kills")
	assert.LessOrEqual(t, r.ProcessedTwice, r.Kills*workers, "pushes processed twice beyond the jobs in flight at the kills")
}
