package inbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

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
