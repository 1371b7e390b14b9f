package iam_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/bolt"
	"github.com/sluicehq/sluice/internal/sigv4"
)

func TestFunctionKeys(t *testing.T) {
	m, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s := iam.New(m, account, rootKey, rootSecret)
	ctx := context.Background()
	const (
		fn    = "arn:aws:lambda:us-east-1:123456789012:function:resize"
		role1 = "arn:aws:iam::123456789012:role/service/resizer"
		role2 = "arn:aws:iam::123456789012:role/other"
	)

	var id, secret string
	if err := m.Update(ctx, func(tx meta.Tx) error {
		id, secret, err = s.PutFunctionKey(tx, fn, role1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "ASIA") || len(id) != 20 || len(secret) != 40 {
		t.Errorf("key %q / %d-character secret", id, len(secret))
	}
	got, err := s.Secret(ctx, id)
	if err != nil || got != secret {
		t.Errorf("Secret = %q, %v", got, err)
	}
	p, err := s.Principal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsFunction() || p.IsRoot() || p.FunctionARN != fn || p.RoleARN != role1 ||
		p.ARN != "arn:aws:sts::123456789012:assumed-role/resizer/resize" || p.ID != s.Root().ID {
		t.Errorf("Principal = %+v", p)
	}
	if s.Root().IsFunction() {
		t.Error("the root is a function")
	}

	// Putting again keeps the key and updates the role.
	if err := m.Update(ctx, func(tx meta.Tx) error {
		id2, secret2, err := s.PutFunctionKey(tx, fn, role2)
		if id2 != id || secret2 != secret {
			t.Errorf("PutFunctionKey made a new key")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Principal(ctx, id); err != nil || p.RoleARN != role2 {
		t.Errorf("role after update: %v %v", p, err)
	}
	if err := m.View(ctx, func(tx meta.Tx) error {
		gotID, _, ok, err := s.FunctionKey(tx, fn)
		if !ok || gotID != id {
			t.Errorf("FunctionKey = %s, %v", gotID, ok)
		}
		_, _, ok, _ = s.FunctionKey(tx, fn+"-other")
		if ok {
			t.Error("FunctionKey found a key for another function")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	if err := m.Update(ctx, func(tx meta.Tx) error { return s.DeleteFunctionKey(tx, fn) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(ctx, id); !errors.Is(err, sigv4.ErrInvalidAccessKeyID) {
		t.Errorf("Secret after delete: %v", err)
	}
	if err := m.Update(ctx, func(tx meta.Tx) error { return s.DeleteFunctionKey(tx, fn) }); err != nil {
		t.Errorf("deleting an absent key: %v", err)
	}
	// Function keys are not IAM access keys of the root.
	keys, _, err := s.ListAccessKeys(ctx, iam.ListAccessKeysInput{MaxItems: 100})
	if err != nil || len(keys) != 1 {
		t.Errorf("root keys %v, %v", keys, err)
	}
}
