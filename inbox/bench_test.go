package inbox_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/csmsgtest"
	"github.com/csmsg/csmsg/inbox"
)

// BenchmarkRun processes b.N accepted pushes of 200 users with a job that
// does nothing, on the file store: the inbox's own cost per job (a claim
// and a completion, each committed and fsynced, shared between workers).
func BenchmarkRun(b *testing.B) {
	ib, err := inbox.Open(filepath.Join(b.TempDir(), "bot.inbox"), inbox.Options{MaxJobs: -1, MaxBytes: -1})
	require.NoError(b, err)
	defer ib.Close()
	ctx := context.Background()
	for i := range b.N {
		_, err := ib.Accept(ctx, text(fmt.Sprint("user", i%200), fmt.Sprint(i), "hello"))
		require.NoError(b, err)
	}
	b.ResetTimer()
	var done atomic.Int64
	runCtx, stop := context.WithCancel(ctx)
	ib.Run(runCtx, func(context.Context, *inbox.Job) error {
		if done.Add(1) == int64(b.N) {
			stop()
		}
		return nil
	})
}

// BenchmarkHandlerAccept answers signed pushes of 200 users through a
// Receiver on the file store, 32 at a time: each "success" waits for its
// push's durable commit (shared with the others in flight).
func BenchmarkHandlerAccept(b *testing.B) {
	ib, err := inbox.Open(filepath.Join(b.TempDir(), "bot.inbox"), inbox.Options{MaxJobs: -1, MaxBytes: -1})
	require.NoError(b, err)
	defer ib.Close()
	h := handler(b, ib)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req, err := csmsgtest.NewRequest("/wx", cfg, csmsgtest.ModePlaintext, text(fmt.Sprint("user", i%200), fmt.Sprint(i), "hello"), csmsg.FormatJSON)
			if err != nil {
				b.Error(err)
				return
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Body.String() != "success" {
				b.Errorf("answer %d %q", w.Code, w.Body)
				return
			}
		}
	})
}
