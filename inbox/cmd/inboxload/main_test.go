package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMeasure(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, measure(flags{stores: "file,memory,plain", dir: dir, sweep: "50,100", p99: time.Minute,
		duration: 100 * time.Millisecond, users: 5, process: true}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 9, out.String())
	for i, store := range []string{"file", "memory", "plain"} {
		assert.Regexp(t, "^"+store+` +offered 50/s: 5 sent, 5 success, 0 failed;`, lines[3*i])
		assert.Regexp(t, "^"+store+` +offered 100/s: 10 sent, 10 success, 0 failed;`, lines[3*i+1])
		assert.Equal(t, store+strings.Repeat(" ", 6-len(store))+" max sustained rate (p99 ≤ 1m0s, every push answered): 100/s", lines[3*i+2])
	}
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "the inbox files are deleted")

	err = measure(flags{stores: "redis", dir: dir, rate: 10, duration: time.Second}, &out)
	assert.EqualError(t, err, `inboxload: no store "redis" (file, memory, plain, url)`)
	err = measure(flags{stores: "url", rate: 10, duration: time.Second}, &out)
	assert.EqualError(t, err, "inboxload: -store url needs -url")
	err = measure(flags{stores: "plain", sweep: "10,x"}, &out)
	assert.EqualError(t, err, `inboxload: -sweep: "x" is no rate`)
}

func TestFill(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, fill(dir, 100, "", &out))
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 12, out.String())
	line := regexp.MustCompile(`^ +(\d+) jobs waiting: HeapInuse +[0-9.]+ MiB, file +[0-9.]+ MiB, \d+s$`)
	for i, l := range lines[:11] {
		m := line.FindStringSubmatch(l)
		require.NotNil(t, m, l)
		assert.Equal(t, strconv.Itoa(i*10), m[1])
	}
	assert.Regexp(t, `^stats: 100 queued, \d+ bytes of messages$`, lines[11])
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "the inbox file is deleted")
}
