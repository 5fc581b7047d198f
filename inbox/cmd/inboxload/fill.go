package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
)

// fill accepts n jobs from 200 users into a new file-store inbox in dir,
// without running them, and reports the heap in use after a GC at every
// tenth, and the file's size; then it writes a heap profile to heap (if
// not "") and deletes the file.
func fill(dir string, n int, heap string, out io.Writer) error {
	path := filepath.Join(dir, fmt.Sprintf("inboxload-fill-%d.inbox", os.Getpid()))
	defer os.Remove(path)
	ib, err := inbox.Open(path, inbox.Options{MaxJobs: -1, MaxBytes: -1, Logger: quiet})
	if err != nil {
		return err
	}
	defer ib.Close()
	report := func(done int, start time.Time) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		info, err := os.Stat(path)
		size := int64(-1)
		if err == nil {
			size = info.Size()
		}
		fmt.Fprintf(out, "%8d jobs waiting: HeapInuse %6.1f MiB, file %7.1f MiB, %s\n",
			done, float64(m.HeapInuse)/(1<<20), float64(size)/(1<<20), time.Since(start).Round(time.Second))
	}
	start := time.Now()
	report(0, start)
	const accepters = 1000 // concurrent accepts share a commit, up to a thousand a commit
	step := max(n/10, 1)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	for done := 0; done < n; done += step {
		end := min(done+step, n)
		next.Store(int64(done))
		var wg sync.WaitGroup
		for range accepters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				for i := int(next.Add(1) - 1); i < end; i = int(next.Add(1) - 1) {
					msg := &csmsg.Text{
						Header: csmsg.Header{ToUserName: "gh_loadtest00001", FromUserName: "user" + strconv.Itoa(i%200),
							CreateTime: time.Now().Unix(), MsgType: "text"},
						MsgID: strconv.Itoa(i), Content: "hello, how much is the shipping to Chengdu?",
					}
					if _, err := ib.Accept(ctx, msg); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		report(end, start)
	}
	st, err := ib.Stats(context.Background())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stats: %d queued, %d bytes of messages\n", st.Queued, st.Bytes)
	if heap == "" {
		return nil
	}
	w, err := os.Create(heap)
	if err != nil {
		return err
	}
	defer w.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(w)
}
