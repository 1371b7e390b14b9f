package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/blob/disk"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/bolt"
)

// newStoreService returns a Service over real metadata and blob stores.
func newStoreService(t *testing.T, cfg Config) (*Service, meta.Store) {
	t.Helper()
	dir := t.TempDir()
	m, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	blobs, err := disk.Open(filepath.Join(dir, "blobs"), disk.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Meta, cfg.Blobs = m, blobs
	return New(cfg), m
}

func zipOf(t *testing.T, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write([]byte(content))
	zw.Close()
	return buf.Bytes()
}

func createInput(name string, code []byte) *CreateFunctionInput {
	rt, h, role := "python3.12", "index.handler", "arn:aws:iam::000000000000:role/r"
	return &CreateFunctionInput{
		FunctionName: name,
		ConfigInput:  ConfigInput{Runtime: &rt, Handler: &h, Role: &role},
		Code:         &CodeInput{ZipFile: code},
	}
}

// codeRefs returns the package documents: SHA-256 → references.
func codeRefs(t *testing.T, m meta.Store) map[string]int {
	t.Helper()
	refs := map[string]int{}
	err := m.View(context.Background(), func(tx meta.Tx) error {
		for d, err := range tx.Docs(kindCode, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			c, err := getDoc[codeDoc](tx, kindCode, d.Key)
			if err != nil {
				return err
			}
			refs[d.Key] = c.Refs
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func released(t *testing.T, m meta.Store) []string {
	t.Helper()
	var ids []string
	m.View(context.Background(), func(tx meta.Tx) error {
		var err error
		ids, err = tx.ReleasedBlobs(100)
		return err
	})
	return ids
}

// TestPackagesShared checks the package bookkeeping: identical code is
// stored once, counted per version, and released with its last user.
func TestPackagesShared(t *testing.T) {
	s, m := newStoreService(t, Config{})
	ctx := context.Background()
	code := zipOf(t, "same")
	a, err := s.CreateFunction(ctx, createInput("a", code))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFunction(ctx, createInput("b", code)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishVersion(ctx, &PublishInput{FunctionName: "a"}); err != nil {
		t.Fatal(err)
	}
	if refs := codeRefs(t, m); len(refs) != 1 || refs[a.CodeSHA256] != 3 {
		t.Fatalf("package refs = %v, want one package used 3 times", refs)
	}
	settings, err := s.AccountSettings(ctx)
	if err != nil || settings.TotalCodeSize != 3*int64(len(code)) || settings.FunctionCount != 2 {
		t.Errorf("usage = %+v, %v", settings, err)
	}
	// A new package for b; the old one stays for a and a:1.
	if _, err := s.UpdateFunctionCode(ctx, &UpdateCodeInput{FunctionName: "b", Code: CodeInput{ZipFile: zipOf(t, "new")}}); err != nil {
		t.Fatal(err)
	}
	if refs := codeRefs(t, m); len(refs) != 2 || refs[a.CodeSHA256] != 2 {
		t.Errorf("after update: %v", refs)
	}
	if err := s.DeleteFunction(ctx, "a", ""); err != nil {
		t.Fatal(err)
	}
	if refs := codeRefs(t, m); len(refs) != 1 || refs[a.CodeSHA256] != 0 {
		t.Errorf("after deleting a: %v", refs)
	}
	if ids := released(t, m); len(ids) != 1 {
		t.Errorf("released blobs %v, want a's package", ids)
	}
	if err := s.DeleteFunction(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	if refs := codeRefs(t, m); len(refs) != 0 {
		t.Errorf("after deleting b: %v", refs)
	}
	settings, err = s.AccountSettings(ctx)
	if err != nil || settings.TotalCodeSize != 0 || settings.FunctionCount != 0 {
		t.Errorf("usage after deletes = %+v, %v", settings, err)
	}
}

func TestCodeStorageLimit(t *testing.T) {
	code := zipOf(t, "limit")
	s, _ := newStoreService(t, Config{CodeStorageLimit: int64(2*len(code) + 1)})
	ctx := context.Background()
	if _, err := s.CreateFunction(ctx, createInput("a", code)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishVersion(ctx, &PublishInput{FunctionName: "a"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateFunction(ctx, createInput("b", code))
	var le *Error
	if !errors.As(err, &le) || le.Code != CodeCodeStorageExceeded {
		t.Errorf("CreateFunction over the limit: %v", err)
	}
	if err := s.DeleteFunction(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFunction(ctx, createInput("b", code)); err != nil {
		t.Errorf("CreateFunction after freeing space: %v", err)
	}
}
