package disk

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/blob/blobtest"
)

// MustOpen opens a store in a new temporary directory.
func MustOpen(tb testing.TB, opts Options) *Store {
	tb.Helper()
	s, err := Open(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"Durable", Options{}},
		{"NoSync", Options{NoSync: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobtest.Run(t, func(t *testing.T) blob.Store { return MustOpen(t, tt.opts) })
		})
	}
}

// TestOpenClearsTmp checks that Open removes what a crash leaves in tmp/ (a
// half-written blob, an unfinished writer of this process) and keeps the
// committed blobs.
func TestOpenClearsTmp(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := blobtest.MustPut(t, s, []byte("committed"))
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("never committed")); err != nil {
		t.Fatal(err)
	}
	// What a crash mid-write leaves behind, including a directory.
	tmp := filepath.Join(root, "tmp")
	if err := os.WriteFile(filepath.Join(tmp, "w-123456"), []byte("half a blob"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "nested", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}

	s, err = Open(root, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatalf("tmp/ after Open: %v", err)
	}
	for _, e := range entries {
		t.Errorf("tmp/%s survived Open", e.Name())
	}
	if got := blobtest.MustRead(t, s, kept); string(got) != "committed" {
		t.Errorf("committed blob after reopen = %q", got)
	}
	ids := walkIDs(t, s)
	if len(ids) != 1 || ids[0] != kept {
		t.Errorf("Walk after reopen = %q, want [%s]", ids, kept)
	}
	// The writer from before the reopen can still be abandoned.
	if err := w.Abort(); err != nil {
		t.Errorf("Abort of a writer whose file Open removed: %v", err)
	}
}

// TestLayout checks where blobs live and that Walk ignores files it did not
// write, including a valid-looking ID in the wrong fan-out directory.
func TestLayout(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	id := blobtest.MustPut(t, s, []byte("x"))
	if _, err := os.Stat(filepath.Join(root, id[:2], id)); err != nil {
		t.Errorf("blob %s not at <root>/%s/%s: %v", id, id[:2], id, err)
	}
	other := "00"
	if id[:2] == "00" {
		other = "01"
	}
	foreign := []string{
		filepath.Join(root, id[:2], "README"),
		filepath.Join(root, id[:2], id+".tmp"),
		filepath.Join(root, other, id),
		filepath.Join(root, "stray-file"),
	}
	for _, p := range foreign {
		if err := os.WriteFile(p, []byte("foreign"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ids := walkIDs(t, s)
	if len(ids) != 1 || ids[0] != id {
		t.Errorf("Walk = %q, want [%s]", ids, id)
	}
	// Deleting and linking never reach outside <root>/xx/.
	if err := s.Delete(context.Background(), "../stray-file"); err != nil {
		t.Errorf("Delete of a path: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "stray-file")); err != nil {
		t.Errorf("Delete(\"../stray-file\") removed a file outside the store: %v", err)
	}
}

// walkIDs returns the IDs of the blobs in s.
func walkIDs(t *testing.T, s *Store) []string {
	t.Helper()
	var ids []string
	if err := s.Walk(context.Background(), func(id string, _ time.Time) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}
