package inbox_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg"
	"github.com/csmsg/csmsg/inbox"
	"github.com/csmsg/csmsg/inbox/memstore"
	"github.com/csmsg/csmsg/inbox/queue"
)

// countAccepts is a store that counts its Accept calls.
type countAccepts struct {
	queue.Store
	n atomic.Int32
}

func (s *countAccepts) Accept(ctx context.Context, p queue.Push) (queue.Accepted, error) {
	s.n.Add(1)
	return s.Store.Accept(ctx, p)
}

// TestCompleteAfterAcceptWritesNothing: the Receiver's Acquire, Accept and
// Complete of a fresh push cost the store one write, the accept; a push
// answered without Accept (a Fast reply, say) is recorded by Complete.
func TestCompleteAfterAcceptWritesNothing(t *testing.T) {
	store := &countAccepts{Store: memstore.New(nil)}
	ib := inbox.New(store, testOptions(inbox.Options{}))
	ctx, never := context.Background(), time.Time{}
	msg := text("u", "1", "x")
	key := csmsg.DedupKey(msg)

	_, done, err := ib.Acquire(ctx, key, "owner", never)
	require.NoError(t, err)
	require.False(t, done)
	_, err = ib.Accept(ctx, msg)
	require.NoError(t, err)
	require.NoError(t, ib.Complete(ctx, key, "owner", nil, never))
	assert.Equal(t, int32(1), store.n.Load(), "Complete wrote nothing more")

	_, done, err = ib.Acquire(ctx, "other", "owner", never)
	require.NoError(t, err)
	require.False(t, done)
	require.NoError(t, ib.Complete(ctx, "other", "owner", []byte("answer"), never))
	assert.Equal(t, int32(2), store.n.Load(), "a push Accept did not see is recorded by Complete")
	answer, done, err := ib.Acquire(ctx, "other", "owner2", never)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, "answer", string(answer))
}
