package objstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// Object Lock: a bucket with Object Lock keeps every version it holds for as
// long as the version's retention or legal hold says. Enforcement happens in
// the transactions that delete versions (deleteOne) and change locks, so a
// delete cannot race a retention change.

// Retention modes and legal hold statuses, as S3 spells them.
const (
	LockGovernance = "GOVERNANCE"
	LockCompliance = "COMPLIANCE"
	LegalHoldOn    = "ON"
	LegalHoldOff   = "OFF"
)

// Units of a default retention period.
const (
	PeriodDays  = "Days"
	PeriodYears = "Years"
)

// Limits of a default retention period.
const (
	MaxRetentionDays  = 36500
	MaxRetentionYears = 100
)

// lockConfigName is the meta.Bucket.Configs entry that holds a bucket's
// LockConfig; a bucket has it exactly when Object Lock is enabled.
const lockConfigName = "object-lock"

// Object Lock errors; the messages are S3's.
var (
	// ErrObjectLocked refuses a change a retention or legal hold forbids.
	ErrObjectLocked = newErr("AccessDenied", "Access Denied because object protected by object lock.")
	// ErrNoLockConfig answers the retention and legal hold operations on
	// a bucket without Object Lock.
	ErrNoLockConfig = invalidRequest("Bucket is missing Object Lock Configuration")
	// errNoLockConfigForWrite answers a write that asks for a lock in a
	// bucket without Object Lock; S3 words it differently.
	errNoLockConfigForWrite = invalidRequest("Bucket is missing ObjectLockConfiguration")
	// ErrLockConfigNotFound answers GetObjectLockConfiguration on a
	// bucket without Object Lock.
	ErrLockConfigNotFound = newErr("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
	// ErrNoObjectLock answers a read of a retention or legal hold that a
	// version never had.
	ErrNoObjectLock = newErr("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration")

	errLockNeedsVersioning = newErr("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	errLockedVersioning    = newErr("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
	errLockNeedsIntegrity  = invalidRequest("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
	errPartNeedsIntegrity  = invalidRequest("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters")
)

// DefaultRetention is the retention a bucket gives each new object version
// that does not ask for one.
type DefaultRetention struct {
	Mode string `json:"mode"`
	// Period counts Unit (PeriodDays or PeriodYears).
	Period int64  `json:"n"`
	Unit   string `json:"unit"`
}

// until returns the end of a retention that starts at t.
func (d *DefaultRetention) until(t time.Time) time.Time {
	if d.Unit == PeriodYears {
		return t.AddDate(int(d.Period), 0, 0)
	}
	return t.AddDate(0, 0, int(d.Period))
}

func (d *DefaultRetention) validate() error {
	if !validLockMode(d.Mode) {
		return ErrMalformedXML
	}
	max := int64(MaxRetentionDays)
	switch d.Unit {
	case PeriodDays:
	case PeriodYears:
		max = MaxRetentionYears
	default:
		return ErrMalformedXML
	}
	// S3 names the element but, unlike for headers, not its value.
	switch {
	case d.Period <= 0:
		e := newErr("InvalidArgument", "Default retention period must be a positive integer value.")
		e.Extra = [][2]string{{"ArgumentName", d.Unit}}
		return e
	case d.Period > max:
		e := newErr("InvalidArgument", "Default retention period too large.")
		e.Extra = [][2]string{{"ArgumentName", d.Unit}}
		return e
	}
	return nil
}

// LockConfig is a bucket's Object Lock configuration: Object Lock is
// enabled, with an optional default retention.
type LockConfig struct {
	DefaultRetention *DefaultRetention `json:"default,omitempty"`
}

// bucketLock returns b's Object Lock configuration; ok is false when Object
// Lock is not enabled.
func bucketLock(b *meta.Bucket) (cfg LockConfig, ok bool, err error) {
	raw, ok := b.Configs[lockConfigName]
	if !ok {
		return cfg, false, nil
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, true, fmt.Errorf("objstore: bucket %s: object lock configuration: %w", b.Name, err)
	}
	return cfg, true, nil
}

func setBucketLock(b *meta.Bucket, cfg LockConfig) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if b.Configs == nil {
		b.Configs = make(map[string][]byte)
	}
	b.Configs[lockConfigName] = raw
	return nil
}

// lockEnabled reports whether b has Object Lock.
func lockEnabled(b *meta.Bucket) bool {
	_, ok := b.Configs[lockConfigName]
	return ok
}

// WithObjectLock makes CreateBucket enable Object Lock on the new bucket,
// which enables versioning for good.
func WithObjectLock() BucketOption {
	return func(b *meta.Bucket) error {
		b.Versioning = meta.VersioningEnabled
		return setBucketLock(b, LockConfig{})
	}
}

// ObjectLockConfig returns a bucket's Object Lock configuration,
// ErrLockConfigNotFound if Object Lock is not enabled.
func (s *Store) ObjectLockConfig(ctx context.Context, bucket string) (*LockConfig, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	cfg, ok, err := bucketLock(b)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrLockConfigNotFound
	}
	return &cfg, nil
}

// SetObjectLockConfig replaces a bucket's Object Lock configuration. On a
// bucket without Object Lock it enables it, which S3 allows once
// versioning is enabled.
func (s *Store) SetObjectLockConfig(ctx context.Context, bucket string, cfg LockConfig) error {
	if cfg.DefaultRetention != nil {
		if err := cfg.DefaultRetention.validate(); err != nil {
			return err
		}
	}
	return s.UpdateBucket(ctx, bucket, func(b *meta.Bucket) error {
		if !lockEnabled(b) && b.Versioning != meta.VersioningEnabled {
			return errLockNeedsVersioning
		}
		return setBucketLock(b, cfg)
	})
}

// ObjectLockInput is the lock a write asks for, as its
// x-amz-object-lock-* headers state it ("" when absent).
type ObjectLockInput struct {
	Mode            string
	RetainUntilDate string
	LegalHold       string
}

// objectLock is a validated ObjectLockInput.
type objectLock struct {
	mode      string
	until     time.Time
	legalHold string
}

func (l objectLock) requested() bool { return l.mode != "" || l.legalHold != "" }

func (l objectLock) apply(v *meta.Version) {
	v.LockMode, v.RetainUntil, v.LegalHold = l.mode, l.until, l.legalHold
}

// parseObjectLock validates the lock headers of a write in the order S3
// checks them: both retention headers or neither, the date's format, the
// date in the future, the mode, the legal hold.
func (s *Store) parseObjectLock(in ObjectLockInput) (objectLock, error) {
	var l objectLock
	const modeHeader, dateHeader, holdHeader = "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold"
	const both = "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied."
	switch {
	case in.Mode != "" && in.RetainUntilDate == "":
		return l, invalidArgument(dateHeader, "", both)
	case in.Mode == "" && in.RetainUntilDate != "":
		return l, invalidArgument(modeHeader, "", both)
	}
	if in.RetainUntilDate != "" {
		t, err := time.Parse(time.RFC3339Nano, in.RetainUntilDate)
		if err != nil {
			return l, invalidArgument(dateHeader, in.RetainUntilDate, "The retain until date must be provided in ISO 8601 format")
		}
		if !t.After(s.now()) {
			return l, invalidArgument(dateHeader, in.RetainUntilDate, "The retain until date must be in the future!")
		}
		if !validLockMode(in.Mode) {
			return l, invalidArgument(modeHeader, in.Mode, "Unknown wormMode directive.")
		}
		l.mode, l.until = in.Mode, t.UTC().Truncate(time.Millisecond)
	}
	switch in.LegalHold {
	case "", LegalHoldOn, LegalHoldOff:
		l.legalHold = in.LegalHold
	default:
		return l, invalidArgument(holdHeader, in.LegalHold, "Legal Hold must be either of 'ON' or 'OFF'")
	}
	return l, nil
}

func validLockMode(m string) bool { return m == LockGovernance || m == LockCompliance }

// checkLockRequest checks a write's lock against its bucket before any
// content is read: a lock needs a bucket with Object Lock, and an upload
// of content that will be locked (by the request or by the bucket's
// default retention) must carry an integrity check (Content-MD5 or a
// checksum). integrity reports whether it does; callers that send no
// content pass true.
func checkLockRequest(b *meta.Bucket, l objectLock, integrity bool) error {
	cfg, ok, err := bucketLock(b)
	if err != nil {
		return err
	}
	if !ok {
		if l.requested() {
			return errNoLockConfigForWrite
		}
		return nil
	}
	if !integrity && (l.requested() || cfg.DefaultRetention != nil) {
		return errLockNeedsIntegrity
	}
	return nil
}

// lockNewVersion applies Object Lock to a version about to be stored in b,
// inside the storing transaction: a version with a lock needs a bucket
// with Object Lock, and one without a retention of its own gets the
// bucket's default retention, counted from its creation.
func lockNewVersion(b *meta.Bucket, v *meta.Version) error {
	cfg, ok, err := bucketLock(b)
	if err != nil {
		return err
	}
	if !ok {
		if v.LockMode != "" || v.LegalHold != "" {
			return errNoLockConfigForWrite
		}
		return nil
	}
	if d := cfg.DefaultRetention; d != nil && v.LockMode == "" {
		v.LockMode, v.RetainUntil = d.Mode, d.until(v.LastModified)
	}
	return nil
}

// checkPartIntegrity refuses a part without Content-MD5 or a checksum when
// the object it belongs to will be locked.
func (s *Store) checkPartIntegrity(ctx context.Context, bucket string, u *meta.Upload) error {
	if u.Object.LockMode != "" || u.Object.LegalHold != "" {
		return errPartNeedsIntegrity
	}
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return err
	}
	cfg, _, err := bucketLock(b)
	if err != nil {
		return err
	}
	if cfg.DefaultRetention != nil {
		return errPartNeedsIntegrity
	}
	return nil
}

// retained reports whether v is under an unexpired retention at now.
func retained(v *meta.Version, now time.Time) bool {
	return v.LockMode != "" && v.RetainUntil.After(now)
}

// checkDeletable reports whether v may be deleted permanently: a legal hold
// forbids it, so does a retention, except a GOVERNANCE one the request
// bypasses.
func checkDeletable(v *meta.Version, bypass bool, now time.Time) error {
	if v.DeleteMarker {
		return nil
	}
	if v.LegalHold == LegalHoldOn {
		return ErrObjectLocked
	}
	if retained(v, now) && (v.LockMode == LockCompliance || !bypass) {
		return ErrObjectLocked
	}
	return nil
}

// checkVersionDelete runs inside a delete's transaction, before version
// versionID of key is deleted from b.
func (s *Store) checkVersionDelete(tx meta.Tx, b *meta.Bucket, key, versionID string, bypass bool) error {
	if !lockEnabled(b) {
		return nil
	}
	v, err := tx.Version(b.Name, key, versionID)
	if errors.Is(err, meta.ErrNoSuchVersion) {
		return nil
	}
	if err != nil {
		return err
	}
	return checkDeletable(v, bypass, s.now())
}

// DeleteOption adjusts DeleteObject and DeleteObjects.
type DeleteOption func(*deleteOptions)

type deleteOptions struct {
	bypassGovernance bool
	origin           Origin // see WithOrigin
	ifMatch          string // see IfMatch; DeleteObject only
}

// BypassGovernance lets the delete remove versions under a GOVERNANCE
// retention (x-amz-bypass-governance-retention: true). The caller checks
// that the principal may do so.
func BypassGovernance(bypass bool) DeleteOption {
	return func(o *deleteOptions) { o.bypassGovernance = bypass }
}

// Retention is an object version's retention.
type Retention struct {
	// Mode is LockGovernance or LockCompliance; "" (with a zero Until)
	// removes a retention.
	Mode  string
	Until time.Time
}

// RetentionInput describes PutObjectRetention.
type RetentionInput struct {
	Bucket    string
	Key       string
	VersionID string
	Retention Retention
	// BypassGovernance allows shortening or removing a GOVERNANCE
	// retention, or turning it into a COMPLIANCE one.
	BypassGovernance bool
}

// lockedVersion resolves the version a retention or legal hold operation
// addresses, in a bucket that must have Object Lock. As on S3, a missing
// key or version is reported before a bucket without Object Lock.
func lockedVersion(tx meta.Tx, bucket, key, versionID string) (*meta.Version, error) {
	v, err := lookup(tx, bucket, key, versionID)
	if err != nil {
		return nil, err
	}
	b, err := tx.Bucket(bucket)
	if err != nil {
		return nil, err
	}
	if !lockEnabled(b) {
		return nil, ErrNoLockConfig
	}
	return v, nil
}

// ObjectRetention returns the retention of an object version and the
// version's ID; ErrNoObjectLock if it has none.
func (s *Store) ObjectRetention(ctx context.Context, bucket, key, versionID string) (Retention, string, error) {
	var (
		r   Retention
		vid string
	)
	err := s.view(ctx, func(tx meta.Tx) error {
		v, err := lockedVersion(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		if v.LockMode == "" {
			return ErrNoObjectLock
		}
		r, vid = Retention{Mode: v.LockMode, Until: v.RetainUntil}, v.VersionID
		return nil
	})
	return r, vid, err
}

// SetObjectRetention places, changes or removes the retention of an object
// version. A retention in force may be extended; shortening or removing a
// GOVERNANCE retention, or changing its mode, needs BypassGovernance; a
// COMPLIANCE retention can only be extended.
func (s *Store) SetObjectRetention(ctx context.Context, in *RetentionInput) (*meta.Version, error) {
	r := in.Retention
	switch {
	case r.Mode == "" && r.Until.IsZero():
	case !validLockMode(r.Mode) || r.Until.IsZero():
		return nil, ErrMalformedXML
	case !r.Until.After(s.now()):
		return nil, newErr("InvalidArgument", "The retain until date must be in the future!")
	}
	r.Until = r.Until.UTC().Truncate(time.Millisecond)
	var out *meta.Version
	err := s.update(ctx, func(tx meta.Tx) error {
		v, err := lockedVersion(tx, in.Bucket, in.Key, in.VersionID)
		if err != nil {
			return err
		}
		if err := checkRetentionChange(v, r, in.BypassGovernance, s.now()); err != nil {
			return err
		}
		v.LockMode, v.RetainUntil = r.Mode, r.Until
		if err := tx.UpdateVersion(in.Bucket, v); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// checkRetentionChange reports whether v's retention may become r.
func checkRetentionChange(v *meta.Version, r Retention, bypass bool, now time.Time) error {
	if !retained(v, now) {
		return nil
	}
	if r.Mode == v.LockMode && !r.Until.Before(v.RetainUntil) {
		return nil // the same or a longer retention
	}
	if v.LockMode == LockCompliance || !bypass {
		return ErrObjectLocked
	}
	return nil
}

// ObjectLegalHold returns the legal hold status of an object version and
// the version's ID; ErrNoObjectLock if it never had one.
func (s *Store) ObjectLegalHold(ctx context.Context, bucket, key, versionID string) (string, string, error) {
	var status, vid string
	err := s.view(ctx, func(tx meta.Tx) error {
		v, err := lockedVersion(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		if v.LegalHold == "" {
			return ErrNoObjectLock
		}
		status, vid = v.LegalHold, v.VersionID
		return nil
	})
	return status, vid, err
}

// SetObjectLegalHold turns the legal hold of an object version on or off.
func (s *Store) SetObjectLegalHold(ctx context.Context, bucket, key, versionID, status string) (*meta.Version, error) {
	if status != LegalHoldOn && status != LegalHoldOff {
		return nil, ErrMalformedXML
	}
	var out *meta.Version
	err := s.update(ctx, func(tx meta.Tx) error {
		v, err := lockedVersion(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		v.LegalHold = status
		if err := tx.UpdateVersion(bucket, v); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}
