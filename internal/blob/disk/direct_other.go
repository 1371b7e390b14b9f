//go:build !linux

package disk

import (
	"io"
	"os"
)

// directAfter is the size above which a blob counts as large (for the
// readahead hint); without O_DIRECT every byte goes through the page cache.
const directAfter = 1 << 20

// directState only records that direct writing is off: here blobs are
// always written through the page cache.
type directState struct{ off bool }

func (w *writer) write(p []byte) (int, error) { return w.writeBuffered(p) }
func (w *writer) finishDirect() error         { return nil }
func (w *writer) releaseStage()               {}
func adviseSequential(f *os.File)             {}

// sendDirect declines: SendTo reads through the page cache.
func (r *reader) sendDirect(w io.Writer, off, n int64) (int64, bool, error) { return 0, false, nil }
