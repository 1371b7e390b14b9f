package kms

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/sse"
)

const (
	region  = "us-east-1"
	account = "000000000000"
)

func mustOpen(tb testing.TB, path string) *Service {
	tb.Helper()
	s, err := Open(path, region, account)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.json")
	s := mustOpen(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	def := s.DefaultKeyARN()
	// Reopening keeps the same keys.
	s2 := mustOpen(t, path)
	if s2.DefaultKeyARN() != def {
		t.Fatalf("aws/s3 changed across reopen: %s → %s", def, s2.DefaultKeyARN())
	}
	sealed, err := s.Seal(S3KeyID, []byte("data key"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(S3KeyID, sealed, []byte("aad")); err != nil || string(got) != "data key" {
		t.Fatalf("Open after reopen: %q, %v", got, err)
	}
}

func TestResolveKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.json")
	s := mustOpen(t, path)
	const id = "1234abcd-12ab-34cd-56ef-1234567890ab"
	arn := "arn:aws:kms:us-east-1:000000000000:key/" + id
	tests := []struct {
		ref     string
		want    string // "" to only check for success
		wantErr error
	}{
		{"", s.DefaultKeyARN(), nil},
		{"alias/aws/s3", s.DefaultKeyARN(), nil},
		{"arn:aws:kms:us-east-1:000000000000:alias/aws/s3", s.DefaultKeyARN(), nil},
		{id, arn, nil},
		{arn, arn, nil},
		{"alias/my-key", "", nil},
		{"arn:aws:kms:us-east-1:000000000000:alias/my-key", "", nil},
		{"alias/aws/other", "", ErrNotFound},
		{"testkey-1", "", ErrInvalidKeyID},
		{"aws/s3", "", ErrInvalidKeyID},
		{"arn:aws:kms:eu-west-1:000000000000:key/" + id, "", ErrNotFound},
		{"arn:aws:kms:us-east-1:111111111111:key/" + id, "", ErrNotFound},
		{"arn:aws:kms:us-east-1:000000000000:key/not-a-uuid", "", ErrInvalidKeyID},
	}
	for _, tc := range tests {
		got, err := s.ResolveKey(tc.ref)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("ResolveKey(%q) = %q, %v; want %v", tc.ref, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || (tc.want != "" && got != tc.want) {
			t.Errorf("ResolveKey(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
	a1, _ := s.ResolveKey("alias/my-key")
	a2, _ := s.ResolveKey("arn:aws:kms:us-east-1:000000000000:alias/my-key")
	if a1 != a2 || a1 == s.DefaultKeyARN() {
		t.Fatalf("alias/my-key resolved to %s and %s", a1, a2)
	}
	// Keys created on first use survive a restart with their material.
	sealed, err := s.Seal(arn, []byte("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, path)
	if got, _ := s2.ResolveKey("alias/my-key"); got != a1 {
		t.Fatalf("alias/my-key after reopen: %s, want %s", got, a1)
	}
	if got, err := s2.Open(arn, sealed, nil); err != nil || !bytes.Equal(got, []byte("k")) {
		t.Fatalf("Open under a created key after reopen: %v", err)
	}
	// A value sealed under one key does not open under another.
	if _, err := s2.Open(a1, sealed, nil); !errors.Is(err, sse.ErrWrongKey) {
		t.Fatalf("Open under the wrong key: %v", err)
	}
}

// The per-object cost of envelope encryption for a small object, as a PUT
// and a GET of an SSE-S3 object pay it: a data key made and sealed under the
// master key plus 4 KiB sealed, and the reverse.
func BenchmarkEnvelopeSeal4KiB(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "kms.json"))
	body := bytes.Repeat([]byte("x"), 4<<10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		dk, err := sse.NewDataKey(1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Seal(S3KeyID, dk.Layers[0], []byte("aad")); err != nil {
			b.Fatal(err)
		}
		if _, err := sse.Seal(dk, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnvelopeOpen4KiB(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "kms.json"))
	body := bytes.Repeat([]byte("x"), 4<<10)
	dk, _ := sse.NewDataKey(1)
	sealedKey, _ := s.Seal(S3KeyID, dk.Layers[0], []byte("aad"))
	blob, _ := sse.Seal(dk, body)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		key, err := s.Open(S3KeyID, sealedKey, []byte("aad"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sse.Open(sse.DataKey{Layers: [][]byte{key}}, blob, int64(len(body)), 0, int64(len(body))); err != nil {
			b.Fatal(err)
		}
	}
}
