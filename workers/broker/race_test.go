//go:build race

package broker_test

// raceDetector: the race detector multiplies each goroutine's stack and
// each allocation, so byte counts say nothing under it.
const raceDetector = true
