package lambda

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// Document kinds in the metadata store. Keys within a kind are the
// function name, or the function name, "/" and a sub-key (function names
// cannot contain "/", so a name's documents are one contiguous range).
const (
	kindFunction    = "lambda/function"     // name → function
	kindVersion     = "lambda/version"      // name/0000000001 → VersionConfig
	kindAlias       = "lambda/alias"        // name/alias → Alias
	kindPolicy      = "lambda/policy"       // name/qualifier ("" unqualified) → policy
	kindEventConfig = "lambda/event-config" // name/qualifier ($LATEST unqualified) → EventInvokeConfig
	kindCode        = "lambda/code"         // hex SHA-256 → codeDoc
	kindAccount     = "lambda/account"      // "usage" → usage
)

// VersionConfig is the configuration of one version of a function: $LATEST, which
// UpdateFunctionConfiguration and UpdateFunctionCode change, or a published
// version, which never changes.
type VersionConfig struct {
	// Version is "$LATEST" or a published version number.
	Version     string `json:"version"`
	Description string `json:"desc,omitempty"`
	Runtime     string `json:"runtime"`
	Handler     string `json:"handler"`
	Role        string `json:"role"`
	// Timeout is in seconds, MemorySize and EphemeralStorage in MB.
	Timeout          int               `json:"timeout"`
	MemorySize       int               `json:"memory"`
	EphemeralStorage int               `json:"tmp"`
	Environment      map[string]string `json:"env,omitempty"`
	// Architecture is "x86_64" or "arm64".
	Architecture string `json:"arch"`
	// CodeSHA256 is the hex SHA-256 of the package; CodeSize its length.
	CodeSHA256   string    `json:"sha"`
	CodeSize     int64     `json:"size"`
	LastModified time.Time `json:"mtime"`
	// RevisionID changes with every change to the version (or, for
	// $LATEST, to the function's configuration and code).
	RevisionID string `json:"rev"`
}

// PackageType is the only package type sluice runs.
const PackageType = "Zip"

// function is the stored record of a function: its $LATEST configuration
// and what applies to the function as a whole.
type function struct {
	Name    string        `json:"name"`
	Created time.Time     `json:"created"`
	Latest  VersionConfig `json:"latest"`
	// LastVersion is the highest version number ever published; numbers
	// are not reused after a version is deleted.
	LastVersion int `json:"lastVersion,omitempty"`
	// PublishedHash is configHash of $LATEST when version LastVersion
	// was published from it.
	PublishedHash string            `json:"publishedHash,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	// Reserved is the reserved concurrency; nil when unreserved.
	Reserved      *int   `json:"reserved,omitempty"`
	RecursiveLoop string `json:"recursiveLoop,omitempty"`
}

// codeDoc records a stored package, shared by every version with the same
// content.
type codeDoc struct {
	Blob string `json:"blob"`
	Size int64  `json:"size"`
	// Refs counts the versions ($LATEST included) that use the package.
	Refs int `json:"refs"`
}

// usage is the account's running totals, kept in the transactions that
// change them.
type usage struct {
	// CodeSize sums the package sizes of every version, as AWS counts
	// TotalCodeSize.
	CodeSize  int64 `json:"codeSize"`
	Functions int64 `json:"functions"`
	// Reserved sums the functions' reserved concurrency.
	Reserved int `json:"reserved"`
}

// configHash identifies what PublishVersion snapshots: everything but the
// version name, time and revision.
func configHash(c *VersionConfig) string {
	x := *c
	x.Version, x.LastModified, x.RevisionID = "", time.Time{}, ""
	raw, _ := json.Marshal(&x)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// clone returns a deep copy of c.
func (c *VersionConfig) clone() *VersionConfig {
	x := *c
	x.Environment = maps.Clone(c.Environment)
	return &x
}

func getDoc[T any](tx meta.Tx, kind, key string) (*T, error) {
	raw, err := tx.Doc(kind, key)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

func putDoc(tx meta.Tx, kind, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutDoc(kind, key, raw)
}

// deleteDoc removes a document; an absent one is not an error.
func deleteDoc(tx meta.Tx, kind, key string) error {
	if err := tx.DeleteDoc(kind, key); err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
		return err
	}
	return nil
}

// getFunction returns the named function, or ErrNoSuchDoc.
func getFunction(tx meta.Tx, name string) (*function, error) {
	return getDoc[function](tx, kindFunction, name)
}

// getVersion returns a published version, or ErrNoSuchDoc.
func getVersion(tx meta.Tx, name, version string) (*VersionConfig, error) {
	n, err := strconv.Atoi(version)
	if err != nil || n <= 0 {
		return nil, meta.ErrNoSuchDoc
	}
	return getDoc[VersionConfig](tx, kindVersion, versionKey(name, n))
}

// versions yields a function's published versions, oldest first.
func versions(tx meta.Tx, name string, yield func(*VersionConfig) error) error {
	for d, err := range tx.Docs(kindVersion, meta.ListOptions{Prefix: name + "/"}) {
		if err != nil {
			return err
		}
		var c VersionConfig
		if err := json.Unmarshal(d.Value, &c); err != nil {
			return err
		}
		if err := yield(&c); err != nil {
			return err
		}
	}
	return nil
}

// aliases yields a function's aliases in name order.
func aliases(tx meta.Tx, name string, yield func(*Alias) error) error {
	for d, err := range tx.Docs(kindAlias, meta.ListOptions{Prefix: name + "/"}) {
		if err != nil {
			return err
		}
		var a Alias
		if err := json.Unmarshal(d.Value, &a); err != nil {
			return err
		}
		if err := yield(&a); err != nil {
			return err
		}
	}
	return nil
}

func getUsage(tx meta.Tx) (*usage, error) {
	u, err := getDoc[usage](tx, kindAccount, "usage")
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return &usage{}, nil
	}
	return u, err
}

func putUsage(tx meta.Tx, u *usage) error { return putDoc(tx, kindAccount, "usage", u) }

// deleteRange removes every document of kind whose key starts with prefix.
func deleteRange(tx meta.Tx, kind, prefix string) error {
	var keys []string
	for d, err := range tx.Docs(kind, meta.ListOptions{Prefix: prefix}) {
		if err != nil {
			return err
		}
		keys = append(keys, d.Key)
	}
	for _, k := range keys {
		if err := tx.DeleteDoc(kind, k); err != nil {
			return err
		}
	}
	return nil
}
