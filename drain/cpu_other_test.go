//go:build !linux

package drain_test

import "time"

// threadCPU is not measured off Linux: the client's CPU then includes the
// fake's.
func threadCPU() time.Duration { return 0 }

// processCPU is not measured off Linux.
func processCPU() time.Duration { return 0 }
