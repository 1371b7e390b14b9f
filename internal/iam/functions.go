package iam

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// Function keys. Every function runs with an access key of its own, which
// authenticates as a principal of kind "function": it carries the
// function's ARN and execution role and, until role policies are
// evaluated, acts with the account's authority (its UserName is empty, as
// the root's is). The keys live in the metadata store as documents,
// written in the transactions of the Lambda control plane that create and
// delete functions.
const (
	docFunctionKey      = "iam/function-key"       // access key ID → functionKey
	docFunctionKeyByARN = "iam/function-key-by-fn" // function ARN → access key ID
)

// functionKey is a stored function access key.
type functionKey struct {
	ID       string    `json:"id"`
	Secret   string    `json:"secret"`
	Function string    `json:"function"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created"`
}

// PutFunctionKey returns the access key of the function functionARN,
// creating one if it has none, and records roleARN as the role the
// function acts with. It runs in the caller's transaction.
func (s *Service) PutFunctionKey(tx meta.Tx, functionARN, roleARN string) (accessKeyID, secret string, err error) {
	k, err := functionKeyOf(tx, functionARN)
	switch {
	case errors.Is(err, meta.ErrNoSuchDoc):
		k = &functionKey{
			ID:       "ASIA" + randomString(16, idChars),
			Secret:   randomString(40, secretChars),
			Function: functionARN,
			Created:  s.timestamp(),
		}
		if err := tx.PutDoc(docFunctionKeyByARN, functionARN, []byte(k.ID)); err != nil {
			return "", "", err
		}
	case err != nil:
		return "", "", err
	case k.Role == roleARN:
		return k.ID, k.Secret, nil
	}
	k.Role = roleARN
	raw, err := json.Marshal(k)
	if err != nil {
		return "", "", err
	}
	if err := tx.PutDoc(docFunctionKey, k.ID, raw); err != nil {
		return "", "", err
	}
	return k.ID, k.Secret, nil
}

// FunctionKey returns the access key of the function functionARN; ok is
// false if it has none.
func (s *Service) FunctionKey(tx meta.Tx, functionARN string) (accessKeyID, secret string, ok bool, err error) {
	k, err := functionKeyOf(tx, functionARN)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return k.ID, k.Secret, true, nil
}

// DeleteFunctionKey revokes the access key of the function functionARN,
// if it has one.
func (s *Service) DeleteFunctionKey(tx meta.Tx, functionARN string) error {
	k, err := functionKeyOf(tx, functionARN)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.DeleteDoc(docFunctionKey, k.ID); err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
		return err
	}
	return tx.DeleteDoc(docFunctionKeyByARN, functionARN)
}

func functionKeyOf(tx meta.Tx, functionARN string) (*functionKey, error) {
	id, err := tx.Doc(docFunctionKeyByARN, functionARN)
	if err != nil {
		return nil, err
	}
	return functionKeyByID(tx, string(id))
}

func functionKeyByID(tx meta.Tx, id string) (*functionKey, error) {
	raw, err := tx.Doc(docFunctionKey, id)
	if err != nil {
		return nil, err
	}
	var k functionKey
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// functionPrincipal is the principal of a function key: the account's
// authority, under the identity of the function's role session.
func (s *Service) functionPrincipal(k *functionKey) *Principal {
	p := s.Root()
	p.AccessKeyID = k.ID
	p.FunctionARN = k.Function
	p.RoleARN = k.Role
	fn := k.Function[strings.LastIndex(k.Function, ":")+1:]
	role := k.Role[strings.LastIndex(k.Role, "/")+1:]
	p.ARN = "arn:aws:sts::" + s.accountID + ":assumed-role/" + role + "/" + fn
	return p
}
