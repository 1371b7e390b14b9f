//go:build !unix

package bench

import "time"

// cpuTime returns 0: process CPU time is only read on Unix systems.
func cpuTime() time.Duration { return 0 }

// settle does nothing: sync(2) is only called on Unix systems.
func settle() {}
