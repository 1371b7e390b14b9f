package bench

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// openDirect opens path for reading past the page cache (O_DIRECT), as
// "dd iflag=direct" reads, so the disk baseline's read is the disk's. A
// file system without O_DIRECT (tmpfs) is read through the cache.
func openDirect(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if errors.Is(err, syscall.EINVAL) {
		return os.Open(path)
	}
	return f, err
}

// directBuffer returns a buffer of n bytes aligned for O_DIRECT I/O.
func directBuffer(n int) []byte {
	const align = 4096
	b := make([]byte, n+align)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (align - 1))
	if off != 0 {
		off = align - off
	}
	return b[off : off+n : off+n]
}
