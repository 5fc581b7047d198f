package crashtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/csmsg/csmsg/inbox/crashtest"
)

func TestReportErr(t *testing.T) {
	many := make([]string, 22)
	for i := range many {
		many[i] = fmt.Sprintf("user0001 m%05d", i)
	}
	for _, tc := range []struct {
		name string
		r    crashtest.Report
		msg  string
	}{
		{"promises held", crashtest.Report{}, ""},
		{"each failure", crashtest.Report{
			Missing:    []string{"user0001 m00003"},
			OutOfOrder: []string{"user0002 processed m00001 m00000"},
			Unbounded:  []string{"replied twice: user0003 m00007"},
			Errors:     []string{"crashtest: killing a bot: os: process already finished"},
		}, "crashtest: answered success, never processed: user0001 m00003\n" +
			"crashtest: out of order: user0002 processed m00001 m00000\n" +
			"crashtest: beyond the jobs running at the kills: replied twice: user0003 m00007\n" +
			"crashtest: driver: crashtest: killing a bot: os: process already finished"},
		{"a long list is cut", crashtest.Report{Missing: many}, "crashtest: answered success, never processed: " +
			"user0001 m00000; user0001 m00001; user0001 m00002; user0001 m00003; user0001 m00004; user0001 m00005; " +
			"user0001 m00006; user0001 m00007; user0001 m00008; user0001 m00009; user0001 m00010; user0001 m00011; " +
			"user0001 m00012; user0001 m00013; user0001 m00014; user0001 m00015; user0001 m00016; user0001 m00017; " +
			"user0001 m00018; user0001 m00019; and 2 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Err()
			if tc.msg == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tc.msg)
		})
	}
}

func TestReportString(t *testing.T) {
	r := crashtest.Report{Config: crashtest.Config{Users: 2, Attempts: 3, Timeout: 5 * time.Second, Seed: 7},
		Pushes: 10, Answered: 9, Abandoned: 1, Attempts: 13, Retries: 3, TimedOut: 1, Kills: 2,
		Processed: 10, ProcessedTwice: 2, OnceTwice: 1, Bound: 4, Sending: 1500 * time.Millisecond, Elapsed: 3 * time.Second}
	assert.Equal(t, "10 pushes from 2 users (seed 7): 9 answered success, 1 abandoned after 3 attempts; "+
		"13 requests, 3 retries, 1 timed out after 5s; 2 SIGKILLs\n"+
		"10 pushes processed; 2 processed twice, 1 replied twice (Once step run twice), bound 4 (jobs running or completing at the kills)\n"+
		"sending took 1.5s, all processed after 3s", r.String())
}
