//go:build !unix

package main

import "time"

const pagesOffHeap = false

// cpuTime is not measured on this platform; the report shows 0.
func cpuTime() time.Duration { return 0 }

// offHeap falls back to the Go heap, so heap figures include the pages.
func offHeap(n int) ([]byte, error) { return make([]byte, n), nil }
