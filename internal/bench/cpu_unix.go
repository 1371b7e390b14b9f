//go:build unix

package bench

import (
	"syscall"
	"time"
)

// cpuTime returns the user plus system CPU time this process has used, or 0
// if it cannot be read.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settle writes back every dirty page on this machine (sync(2)) so that a
// large write about to be timed does not pay for an earlier one's.
func settle() { syscall.Sync() }
