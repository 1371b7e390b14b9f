//go:build !linux

package bench

import "os"

// openDirect opens path for reading; only Linux reads past the page cache.
func openDirect(path string) (*os.File, error) { return os.Open(path) }

// directBuffer returns a buffer of n bytes.
func directBuffer(n int) []byte { return make([]byte, n) }
