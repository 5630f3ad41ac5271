//go:build unix

package main

import (
	"syscall"
	"time"
)

// pagesOffHeap says whether offHeap really keeps the server's pages out of
// the Go heap.
const pagesOffHeap = true

// cpuTime is the user plus system CPU time the whole process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// offHeap returns n bytes of anonymous memory that the garbage collector
// neither counts nor scans.
func offHeap(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}
