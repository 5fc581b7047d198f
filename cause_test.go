package csmsg

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDescribeSkew(t *testing.T) {
	cases := []struct {
		ts   int64
		d    time.Duration
		want string
	}{
		{1700000000, -(22817*time.Hour + 39*time.Minute + 15*time.Second),
			"timestamp 1700000000 (2023-11-14 22:13:20 UTC) is 2 years 7 months behind the receiver's clock (tolerance 5m0s)"},
		{1714112445, 400 * time.Second,
			"timestamp 1714112445 (2024-04-26 06:20:45 UTC) is 6 minutes 40 seconds ahead of the receiver's clock (tolerance 5m0s)"},
		{1714112445, -301 * time.Second,
			"timestamp 1714112445 (2024-04-26 06:20:45 UTC) is 5 minutes 1 second behind the receiver's clock (tolerance 5m0s)"},
		{1714112445, -(27*time.Hour + 46*time.Minute + 40*time.Second),
			"timestamp 1714112445 (2024-04-26 06:20:45 UTC) is 1 day 3 hours behind the receiver's clock (tolerance 5m0s)"},
		{1714112445, 2 * 365 * 24 * time.Hour,
			"timestamp 1714112445 (2024-04-26 06:20:45 UTC) is 2 years ahead of the receiver's clock (tolerance 5m0s)"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, describeSkew(tc.ts, tc.d, DefaultTolerance))
	}
}

func TestRoughDuration(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 seconds"},
		{time.Second, "1 second"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{time.Hour + time.Second, "1 hour"},
		{45 * 24 * time.Hour, "1 month 15 days"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, roughDuration(tc.d), tc.d)
	}
}
