package process

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fieldsParseStat is parseStat as it was, with bytes.Fields: the oracle.
func fieldsParseStat(b []byte) (int, uint64, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 22 {
		return 0, 0, false
	}
	g, err := strconv.Atoi(string(fields[2]))
	if err != nil {
		return 0, 0, false
	}
	r, err := strconv.ParseUint(string(fields[21]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return g, r, true
}

// TestParseStat checks parseStat against the Fields-based parser on every
// process of this host and on odd command names and short lines.
func TestParseStat(t *testing.T) {
	lines := [][]byte{
		[]byte("1 (a b) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 100 42 18446744073709551615\n"),
		[]byte("7 (x) (y)) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 100 9 0 0 0\n"),
		[]byte("7 (short) R 1 7 7\n"),
		[]byte("no paren"),
		[]byte("7 (x) R 1 notanumber 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 100 9\n"),
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			lines = append(lines, b)
		}
	}
	for _, b := range lines {
		g, r, ok := parseStat(b)
		wg, wr, wok := fieldsParseStat(b)
		if g != wg || r != wr || ok != wok {
			t.Fatalf("parseStat(%q) = %d %d %v, want %d %d %v", b, g, r, ok, wg, wr, wok)
		}
	}
}
