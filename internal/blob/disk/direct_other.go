//go:build !linux

package disk

import "os"

// directAfter is the size above which a blob counts as large (for reading
// hints); without O_DIRECT support every byte goes through the page cache.
const directAfter = 1 << 20

// directState is empty where blobs are always written through the page
// cache.
type directState struct{ off bool }

func (w *writer) write(p []byte) (int, error) { return w.writeBuffered(p) }
func (w *writer) finishDirect() error         { return nil }
func (w *writer) releaseStage()               {}
func adviseSequential(f *os.File)             {}
func adviseWillNeed(f *os.File, off, n int64) {}
