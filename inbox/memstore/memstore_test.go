package memstore_test

import (
	"testing"
	"time"

	"github.com/csmsg/csmsg/inbox/memstore"
	"github.com/csmsg/csmsg/inbox/queue"
	"github.com/csmsg/csmsg/inbox/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, now func() time.Time) queue.Store { return memstore.New(now) })
}
