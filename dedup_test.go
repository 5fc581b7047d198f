package csmsg

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDedupKey(t *testing.T) {
	h := Header{ToUserName: "gh", FromUserName: "o1", CreateTime: 1714037059, MsgType: "text"}
	ev := Header{ToUserName: "gh", FromUserName: "o1", CreateTime: 1714037059, MsgType: "event"}
	cases := []struct {
		name string
		msg  Message
		want string
	}{
		{"text by MsgID", &Text{Header: h, MsgID: "6054768590064713728"}, "msg|gh|o1|6054768590064713728"},
		{"image by MsgID", &Image{Header: Header{FromUserName: "o2", MsgType: "image"}, MsgID: "1"}, "msg||o2|1"},
		{"card by MsgID", &MiniProgramPage{Header: Header{MsgType: "miniprogrampage"}, MsgID: "2"}, "msg|||2"},
		{"message without MsgID", &Text{Header: h}, "type|gh|o1|1714037059|text"},
		{"enter session", &UserEnterTempSession{Header: ev, Event: EventUserEnterTempSession}, "event|gh|o1|1714037059|user_enter_tempsession"},
		{"unknown event", &Unknown{Header: ev, Event: "debug_demo"}, "event|gh|o1|1714037059|debug_demo"},
		{"unknown message kind", &Unknown{Header: Header{FromUserName: "o1", CreateTime: 5, MsgType: "voice"}}, "type||o1|5|voice"},
		{"nil", nil, ""},
		{"nil *Text", (*Text)(nil), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, DedupKey(tc.msg))
		})
	}
	// The same MsgID from two users is two pushes.
	assert.NotEqual(t, DedupKey(&Text{Header: Header{FromUserName: "a"}, MsgID: "1"}), DedupKey(&Text{Header: Header{FromUserName: "b"}, MsgID: "1"}))
}

func TestMemoryDedup(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1714112445, 0)
	d := &MemoryDedup{Size: 3, TTL: time.Minute, Now: func() time.Time { return now }}

	acquire := func(key string) bool {
		done, err := d.Acquire(ctx, key)
		require.NoError(t, err)
		return done
	}
	assert.False(t, acquire("a"))
	require.NoError(t, d.Release(ctx, "a", true))
	assert.True(t, acquire("a"), "handled")

	assert.False(t, acquire("b"))
	require.NoError(t, d.Release(ctx, "b", false))
	assert.False(t, acquire("b"), "freed after a failure")
	require.NoError(t, d.Release(ctx, "b", true))

	// TTL: forgotten a minute after it was handled.
	now = now.Add(59 * time.Second)
	assert.True(t, acquire("a"))
	now = now.Add(time.Second)
	assert.False(t, acquire("a"), "expired")
	require.NoError(t, d.Release(ctx, "a", true))

	// Size: the oldest handled key goes first.
	for _, k := range []string{"c", "d"} {
		assert.False(t, acquire(k))
		require.NoError(t, d.Release(ctx, k, true))
	}
	assert.False(t, acquire("b"), "b was the oldest of four")
	require.NoError(t, d.Release(ctx, "b", false))
	for _, k := range []string{"a", "c", "d"} {
		assert.True(t, acquire(k), k)
	}

	// Releasing a key not held, or twice, changes nothing.
	require.NoError(t, d.Release(ctx, "nobody", true))
	require.NoError(t, d.Release(ctx, "a", false))
	assert.True(t, acquire("a"))
}

func TestMemoryDedupBounded(t *testing.T) {
	ctx := context.Background()
	d := &MemoryDedup{Size: 100}
	for i := 0; i < 10000; i++ {
		k := strconv.Itoa(i)
		_, err := d.Acquire(ctx, k)
		require.NoError(t, err)
		require.NoError(t, d.Release(ctx, k, true))
	}
	assert.Len(t, d.entries, 100)
	assert.LessOrEqual(t, len(d.done)-d.head, 100)
	assert.LessOrEqual(t, cap(d.done), 400, "the queue is reclaimed")
}

func TestMemoryDedupZeroValue(t *testing.T) {
	var d MemoryDedup
	done, err := d.Acquire(context.Background(), "k")
	require.NoError(t, err)
	assert.False(t, done)
	require.NoError(t, d.Release(context.Background(), "k", true))
	done, err = d.Acquire(context.Background(), "k")
	require.NoError(t, err)
	assert.True(t, done)
}

func TestMemoryDedupWaitCancelled(t *testing.T) {
	var d MemoryDedup
	_, err := d.Acquire(context.Background(), "k")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done, err := d.Acquire(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, done)
}
