package inbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/csmsg/csmsg/inbox"
)

// TestRepairLogLines checks the lines of a dead letter retried and another
// dropped by hand (TestLogLines checks those of a retry and a dead letter):
// an operator's changes are logged, and no line holds a message.
func TestRepairLogLines(t *testing.T) {
	ctx := context.Background()
	var logs logBuffer
	ib := newInbox(t, inbox.Options{Logger: logs.logger()})
	broken := func(context.Context, *inbox.Job) error { return inbox.Permanent(errors.New("still broken")) }
	dead := func() bool { st, _ := ib.Stats(ctx); return st.Dead == 1 }
	stop := run(t, ib, broken)
	accept(t, ib, text("u", "1", "a secret message"))
	eventually(t, dead, "dead-lettered")
	stop()
	require.NoError(t, ib.Retry(ctx, 1))
	stop = run(t, ib, broken)
	eventually(t, dead, "dead-lettered again")
	stop()
	require.NoError(t, ib.Drop(ctx, 1))
	assert.Equal(t, `level=ERROR msg="inbox: job dead-lettered" job=1 attempt=1 reason="permanent: still broken"
level=INFO msg="inbox: dead letter queued again" job=1
level=ERROR msg="inbox: job dead-lettered" job=1 attempt=1 reason="permanent: still broken"
level=INFO msg="inbox: dead letter dropped" job=1
`, logs.String())
}
