package iam

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// DefaultMaxItems is the page size of list operations whose caller gives
// none; maxPageSize is the largest a caller may ask for.
const (
	DefaultMaxItems = 100
	maxPageSize     = 1000
)

// CreateUserInput describes a user to create.
type CreateUserInput struct {
	// Name is required: 1–64 characters of [\w+=,.@-]. User names are
	// unique regardless of case, as on AWS.
	Name string
	// Path defaults to "/".
	Path string
	Tags []meta.Tag
}

// CreateUser creates a user. Errors: ValidationError for a malformed name,
// path or tag; InvalidInput for duplicate tag keys; EntityAlreadyExists if a
// user of that name (in any case) exists.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (*meta.User, error) {
	var v violations
	if in.Name == "" {
		v.required("userName")
	} else {
		v.userName("userName", in.Name, maxNewUserName)
	}
	if in.Path == "" {
		in.Path = "/"
	} else {
		v.str("path", in.Path, 1, maxPath, rePath, patPath)
	}
	tags(&v, in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := uniqueTagKeys(in.Tags); err != nil {
		return nil, err
	}
	u := &meta.User{
		Name:    in.Name,
		ID:      "AIDA" + randomString(17, idChars),
		ARN:     s.UserARN(in.Path, in.Name),
		Path:    in.Path,
		Created: s.timestamp(),
	}
	if len(in.Tags) > 0 {
		u.Tags = slices.Clone(in.Tags)
	}
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := findUser(tx, in.Name); err == nil {
			return newErr("EntityAlreadyExists", "User with name %s already exists.", in.Name)
		} else if !errors.Is(err, ErrNoSuchEntity) {
			return err
		}
		return tx.PutUser(u, true)
	})
	if errors.Is(err, meta.ErrUserExists) {
		return nil, newErr("EntityAlreadyExists", "User with name %s already exists.", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// User returns the named user (matched regardless of case, as AWS does);
// NoSuchEntity if there is none.
func (s *Service) User(ctx context.Context, name string) (*meta.User, error) {
	var v violations
	v.userName("userName", name, maxUserName)
	if err := v.err(); err != nil {
		return nil, err
	}
	var u *meta.User
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = findUser(tx, name)
		return err
	})
	return u, err
}

// RootUser describes the account root the way IAM's GetUser does when the
// root calls it without a user name: the account ID as user ID, the root
// ARN, and neither name nor path.
func (s *Service) RootUser() *meta.User {
	return &meta.User{ID: s.accountID, ARN: s.RootARN()}
}

// ListUsersInput selects a page of ListUsers.
type ListUsersInput struct {
	// PathPrefix keeps users whose path starts with it; "" means "/".
	PathPrefix string
	// Marker continues a truncated listing (the Marker of the previous
	// page).
	Marker string
	// MaxItems is the page size, 1–1000: use DefaultMaxItems when the
	// caller gives none.
	MaxItems int
}

// ListUsers returns a page of users in name order and, if the listing is
// truncated, the marker of the next page.
func (s *Service) ListUsers(ctx context.Context, in ListUsersInput) (users []*meta.User, next string, err error) {
	var v violations
	if in.PathPrefix != "" {
		v.str("pathPrefix", in.PathPrefix, 1, maxPath, rePathPrefix, patPathPrefix)
	}
	v.marker(in.Marker)
	v.maxItems(in.MaxItems)
	if err := v.err(); err != nil {
		return nil, "", err
	}
	after, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, "", err
	}
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		users = users[:0]
		for u, err := range tx.Users() {
			if err != nil {
				return err
			}
			if strings.HasPrefix(u.Path, in.PathPrefix) && (in.Marker == "" || u.Name > after) {
				users = append(users, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	slices.SortFunc(users, func(a, b *meta.User) int { return strings.Compare(a.Name, b.Name) })
	if len(users) > in.MaxItems {
		users = users[:in.MaxItems]
		next = encodeMarker(users[len(users)-1].Name)
	}
	return users, next, nil
}

// DeleteUser deletes a user. Errors: NoSuchEntity; DeleteConflict while
// the user has access keys. The buckets the user owns stay, reachable by
// the root.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	var v violations
	if name == "" {
		v.required("userName")
	} else {
		v.userName("userName", name, maxUserName)
	}
	if err := v.err(); err != nil {
		return err
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		for _, err := range tx.AccessKeys(u.Name) {
			if err != nil {
				return err
			}
			return newErr("DeleteConflict", "Cannot delete entity, must delete access keys first.")
		}
		return tx.DeleteUser(u.Name)
	})
}

// findUser looks a user up by name regardless of case; NoSuchEntity if
// there is none.
func findUser(tx meta.Tx, name string) (*meta.User, error) {
	u, err := tx.User(name)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, meta.ErrNoSuchUser) {
		return nil, err
	}
	for u, err := range tx.Users() {
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(u.Name, name) {
			return u, nil
		}
	}
	return nil, noSuchUser(name)
}

// tags checks a tag list against IAM's constraints.
func tags(v *violations, ts []meta.Tag) {
	if len(ts) > maxTags {
		n := strconv.Itoa(len(ts))
		v.add("tags", &n, "Member must have length less than or equal to "+strconv.Itoa(maxTags))
		return
	}
	for i, t := range ts {
		at := "tags." + strconv.Itoa(i+1) + ".member."
		v.str(at+"key", t.Key, 1, maxTagKey, reTagKey, patTagKey)
		v.str(at+"value", t.Value, 0, maxTagValue, reTagValue, patTagValue)
	}
}

// uniqueTagKeys refuses tag lists that repeat a key (compared regardless
// of case).
func uniqueTagKeys(ts []meta.Tag) error {
	seen := make(map[string]bool, len(ts))
	for _, t := range ts {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return newErr("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}

// Markers are opaque to clients: the base64 of the last name returned.
func encodeMarker(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

func decodeMarker(m string) (string, error) {
	if m == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return "", newErr("ValidationError", "Invalid Marker.")
	}
	return string(b), nil
}

// timestamp is the creation time recorded for new entities: IAM reports
// them to the second.
func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Second) }

// Alphabets of generated identifiers: IAM IDs use upper-case letters and
// the digits 2–7; secrets use base64's alphabet.
const (
	idChars     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomString returns n characters drawn uniformly from alphabet, whose
// length must divide 256.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
