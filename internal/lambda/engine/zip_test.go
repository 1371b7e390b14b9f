package engine

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/lambda"
)

// rawZip writes one entry with a header that may lie about its size.
func rawZip(tb testing.TB, name string, data []byte, claimed uint64) []byte {
	tb.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: claimed,
	})
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	return buf.Bytes()
}

func TestZipSafety(t *testing.T) {
	link := fs.ModeSymlink | 0o777
	ok := map[string]zfile{"bootstrap": {body: "#!/bin/sh\n", mode: 0o755}}
	tests := []struct {
		name string
		zip  []byte
		code string // "" = accepted
	}{
		{"plain", zipOf(t, ok), ""},
		{"inner symlink", zipOf(t, map[string]zfile{"real.txt": {body: "x"}, "sub/lnk": {body: "../real.txt", mode: link}}), ""},
		{"dot entries", zipOf(t, map[string]zfile{"./a.txt": {body: "x"}, "b/./c.txt": {body: "y"}}), ""},
		{"parent entry", zipOf(t, map[string]zfile{"../evil": {body: "x"}}), "InvalidZipFileException"},
		{"nested parent entry", zipOf(t, map[string]zfile{"a/../../evil": {body: "x"}}), "InvalidZipFileException"},
		{"absolute entry", zipOf(t, map[string]zfile{"/tmp/evil": {body: "x"}}), "InvalidZipFileException"},
		{"absolute symlink", zipOf(t, map[string]zfile{"passwd": {body: "/etc/passwd", mode: link}}), "InvalidZipFileException"},
		{"symlink escaping", zipOf(t, map[string]zfile{"sub/lnk": {body: "../../outside", mode: link}}), "InvalidZipFileException"},
		{"entry beneath a symlink", zipOf(t, map[string]zfile{"d": {body: "sub", mode: link}, "d/x": {body: "x"}}), "InvalidZipFileException"},
		{"symlink through a symlink", zipOf(t, map[string]zfile{"a/keep": {body: ""}, "a/up": {body: "..", mode: link}, "esc": {body: "a/up/..", mode: link}}), "InvalidZipFileException"},
		{"declared bomb", rawZip(t, "big", []byte("small"), MaxUnzippedSize+1), "InvalidParameterValueException"},
		{"lying header", rawZip(t, "big", bytes.Repeat([]byte{0}, 1<<20), 10), "InvalidZipFileException"},
		{"not a zip", []byte("this is not a zip file"), "InvalidZipFileException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				if tt.code == "" {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					return
				}
				var se *lambda.SetupError
				if !errors.As(err, &se) || se.Code != tt.code {
					t.Errorf("%s: %v, want SetupError %s", what, err, tt.code)
				}
			}
			check("CheckZip", CheckZip(bytes.NewReader(tt.zip), int64(len(tt.zip))))

			e := newEngine(t)
			d := deploy("z", "provided.al2023", "x", tt.zip)
			check("Prepare", e.Prepare(context.Background(), d))
			entries, _ := os.ReadDir(filepath.Join(e.cfg.DataDir, "lambda", "code"))
			if tt.code != "" && len(entries) != 0 {
				t.Errorf("a rejected package left %d entries in the code cache", len(entries))
			}
			if tt.code == "" && tt.name == "inner symlink" {
				b, err := os.ReadFile(filepath.Join(e.cfg.DataDir, "lambda", "code", d.CodeSHA256, "sub", "lnk"))
				if err != nil || string(b) != "x" {
					t.Errorf("inner symlink: %q %v", b, err)
				}
			}
		})
	}
}

func TestZipActualBytesBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 250 MB")
	}
	// Headers that add up to less than the limit but entries whose data
	// is larger are stopped by the byte count too (Go's zip reader also
	// refuses data longer than the header says).
	big := bytes.Repeat([]byte{0}, 64<<20)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 5 {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "f" + strings.Repeat("x", i), Method: zip.Deflate})
		w.Write(big)
	}
	zw.Close()
	err := CheckZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	var se *lambda.SetupError
	if !errors.As(err, &se) || se.Message != "Unzipped size must be smaller than 262144000 bytes" {
		t.Errorf("err %v", err)
	}
}

func TestCodeIsReadOnlyAndShared(t *testing.T) {
	e := newEngine(t)
	code := zipOf(t, map[string]zfile{"bootstrap": {body: "#!/bin/sh\n", mode: 0o755}, "lib/data.txt": {body: "d"}})
	d := deploy("ro", "provided.al2023", "x", code)
	if err := e.Prepare(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.cfg.DataDir, "lambda", "code", d.CodeSHA256)
	for name, want := range map[string]fs.FileMode{"bootstrap": 0o555, "lib/data.txt": 0o444, "lib": 0o555, ".": 0o555} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, st.Mode().Perm(), want)
		}
	}
	// A second deployment of the same code reuses the directory.
	d2 := deploy("ro2", "provided.al2023", "x", code)
	d2.OpenCode = nil
	if err := e.Prepare(context.Background(), d2); err != nil {
		t.Errorf("second prepare unpacked again: %v", err)
	}
}
