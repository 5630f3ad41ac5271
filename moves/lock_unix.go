//go:build unix

package moves

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f for as long as it is open, without
// waiting for another holder.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
