//go:build race

package csmsg

// raceEnabled is whether the race detector is on: it allocates on its own.
const raceEnabled = true
