package iam_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/meta/bolt"
	"github.com/sluicehq/sluice/internal/sigv4"
)

const (
	account    = "123456789012"
	rootKey    = "AKIAROOTROOTROOTROOT"
	rootSecret = "root-secret"
)

func newService(t *testing.T) *iam.Service {
	t.Helper()
	m, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return iam.New(m, account, rootKey, rootSecret)
}

// TestAccessKeyLimitConcurrent checks that the two-key limit holds when
// many keys are requested at once (the checks and the writes share a
// transaction).
func TestAccessKeyLimitConcurrent(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, iam.CreateUserInput{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
	)
	for range 16 {
		wg.Go(func() {
			_, err := s.CreateAccessKey(ctx, "alice")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case !errors.Is(err, iam.ErrLimitExceeded):
				t.Errorf("CreateAccessKey: %v", err)
			}
		})
	}
	wg.Wait()
	if created != iam.MaxAccessKeys {
		t.Errorf("%d keys created concurrently, want %d", created, iam.MaxAccessKeys)
	}
}

func TestPrincipal(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, iam.CreateUserInput{Name: "alice", Path: "/eng/"})
	if err != nil {
		t.Fatal(err)
	}
	uk, err := s.CreateAccessKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	rk, err := s.CreateAccessKey(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	off, err := s.CreateAccessKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAccessKey(ctx, "alice", off.ID, iam.StatusInactive); err != nil {
		t.Fatal(err)
	}
	root := s.Root()
	tests := []struct {
		name   string
		key    string
		user   string
		arn    string
		id     string
		secret string
		err    error
	}{
		{"ConfiguredRoot", rootKey, "", "arn:aws:iam::" + account + ":root", root.ID, rootSecret, nil},
		{"StoredRoot", rk.ID, "", "arn:aws:iam::" + account + ":root", root.ID, rk.Secret, nil},
		{"User", uk.ID, "alice", "arn:aws:iam::" + account + ":user/eng/alice", iam.CanonicalID(account, u.ID), uk.Secret, nil},
		{"Inactive", off.ID, "", "", "", "", sigv4.ErrInvalidAccessKeyID},
		{"Unknown", "AKIAUNKNOWN000000000", "", "", "", "", sigv4.ErrInvalidAccessKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret, err := s.Secret(ctx, tt.key)
			if !errors.Is(err, tt.err) || secret != tt.secret {
				t.Errorf("Secret = %q, %v; want %q, %v", secret, err, tt.secret, tt.err)
			}
			p, err := s.Principal(ctx, tt.key)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Principal: %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if p.UserName != tt.user || p.ARN != tt.arn || p.ID != tt.id || p.AccessKeyID != tt.key || p.IsRoot() != (tt.user == "") {
				t.Errorf("Principal = %+v", p)
			}
		})
	}
	if root.ID == iam.CanonicalID(account, u.ID) {
		t.Error("a user has the root's canonical ID")
	}
}

func TestAuthorize(t *testing.T) {
	s := newService(t)
	if err := s.Authorize(s.Root(), "iam:DeleteUser", s.UserARN("/", "bob")); err != nil {
		t.Errorf("root refused: %v", err)
	}
	alice := &iam.Principal{AccountID: account, UserName: "alice", ARN: s.UserARN("/", "alice")}
	err := s.Authorize(alice, "iam:DeleteUser", s.UserARN("/", "bob"))
	want := "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:DeleteUser on resource: " +
		"arn:aws:iam::123456789012:user/bob because no identity-based policy allows the iam:DeleteUser action"
	var ie *iam.Error
	if !errors.Is(err, iam.ErrAccessDenied) || !errors.As(err, &ie) || ie.Message != want {
		t.Errorf("Authorize(user) = %v, want AccessDenied: %s", err, want)
	}
}
