package crashtest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/csmsg/csmsg/kf/kftest"
)

// Two bots' events reach the Driver through two pipes: the order per user
// is the order of the bots' clocks, not of reading.
func TestProcessedOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines [2][]string // the two bots' events, read bot 0's first
		want  []string
	}{
		{"read out of order, done in order", [2][]string{
			{"start 2 user0001 m00001", "done 2 200"},
			{"start 1 user0001 m00000", "done 1 100"},
		}, nil},
		{"done out of order", [2][]string{
			{"start 2 user0001 m00001", "done 2 100"},
			{"start 1 user0001 m00000", "done 1 200"},
		}, []string{"user0001 processed m00001 m00000"}},
		{"the first done counts", [2][]string{
			{"start 1 user0001 m00000", "done 1 100", "start 2 user0001 m00001", "done 2 200"},
			{"start 3 user0001 m00000", "done 3 300"},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Driver{pushes: map[uint64]string{}, done: map[string]int{}, firstDone: map[string]int64{},
				bound: map[string]bool{}, api: kftest.NewHandler(AppID, AppSecret)}
			for _, lines := range tc.lines {
				l := &life{started: map[uint64]bool{}, committed: map[uint64]bool{}}
				for _, line := range lines {
					d.event(l, line)
				}
			}
			var r Report
			d.check(&r, nil)
			assert.Equal(t, tc.want, r.OutOfOrder)
		})
	}
}
