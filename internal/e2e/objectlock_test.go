package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Object Lock: bucket configuration, retention, legal hold, the lock headers
// of writes and reads, and enforcement on delete. Expected behaviour is
// Amazon S3's (docs/design.md, "Object Lock").

// lockedBucket creates a bucket with Object Lock enabled.
func (e *env) lockedBucket(name string) string {
	e.t.Helper()
	if _, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		e.t.Fatalf("CreateBucket %s with Object Lock: %v", name, err)
	}
	return name
}

// lockConfig sets a bucket's default retention (mode "" for none).
func (e *env) lockConfig(bucket string, mode types.ObjectLockRetentionMode, days, years int32) error {
	cfg := &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}
	if mode != "" {
		dr := &types.DefaultRetention{Mode: mode}
		if days != 0 {
			dr.Days = aws.Int32(days)
		}
		if years != 0 {
			dr.Years = aws.Int32(years)
		}
		cfg.Rule = &types.ObjectLockRule{DefaultRetention: dr}
	}
	_, err := e.c.PutObjectLockConfiguration(e.ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(bucket), ObjectLockConfiguration: cfg})
	return err
}

// retain sets a version's retention ("" versionID: the latest).
func (e *env) retain(bucket, key, versionID string, mode types.ObjectLockRetentionMode, until time.Time, bypass bool) error {
	in := &s3.PutObjectRetentionInput{
		Bucket:    aws.String(bucket),
		Key:       aws.String(key),
		Retention: &types.ObjectLockRetention{Mode: mode, RetainUntilDate: aws.Time(until)},
	}
	if mode == "" {
		in.Retention = &types.ObjectLockRetention{}
	}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := e.c.PutObjectRetention(e.ctx, in)
	return err
}

func (e *env) hold(bucket, key, versionID string, status types.ObjectLockLegalHoldStatus) error {
	in := &s3.PutObjectLegalHoldInput{Bucket: aws.String(bucket), Key: aws.String(key), LegalHold: &types.ObjectLockLegalHold{Status: status}}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	_, err := e.c.PutObjectLegalHold(e.ctx, in)
	return err
}

// deleteVersion deletes one version, optionally bypassing GOVERNANCE.
func (e *env) deleteVersion(bucket, key, versionID string, bypass bool) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(versionID)}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := e.c.DeleteObject(e.ctx, in)
	return err
}

// wantMessage checks the message of an S3 error.
func wantMessage(tb testing.TB, err error, msg string) {
	tb.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		tb.Fatalf("got %v, want an API error", err)
	}
	if ae.ErrorMessage() != msg {
		tb.Errorf("message = %q, want %q", ae.ErrorMessage(), msg)
	}
}

// lockedMessage is S3's refusal of a change Object Lock forbids.
const lockedMessage = "Access Denied because object protected by object lock."

func TestObjectLockBucket(t *testing.T) {
	t.Parallel()
	e := start(t)

	b := e.lockedBucket("lock-created")
	v, err := e.c.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning of a bucket created with Object Lock = %v, %v; want Enabled", v, err)
	}
	cfg, err := e.c.GetObjectLockConfiguration(e.ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.ObjectLockConfiguration; c.ObjectLockEnabled != types.ObjectLockEnabledEnabled || c.Rule != nil {
		t.Errorf("configuration = %+v, want Enabled without a rule", c)
	}
	_, err = e.c.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantErr(t, err, "InvalidBucketState", http.StatusConflict)
	wantMessage(t, err, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
	e.setVersioning(b, types.BucketVersioningStatusEnabled)

	plain := e.bucket("lock-plain")
	_, err = e.c.GetObjectLockConfiguration(e.ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(plain)})
	wantErr(t, err, "ObjectLockConfigurationNotFoundError", http.StatusNotFound)

	// Since 2023 S3 enables Object Lock on an existing bucket once its
	// versioning is enabled.
	late := e.bucket("lock-late")
	err = e.lockConfig(late, types.ObjectLockRetentionModeGovernance, 1, 0)
	wantErr(t, err, "InvalidBucketState", http.StatusConflict)
	wantMessage(t, err, "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	e.setVersioning(late, types.BucketVersioningStatusSuspended)
	wantErr(t, e.lockConfig(late, types.ObjectLockRetentionModeGovernance, 1, 0), "InvalidBucketState", http.StatusConflict)
	e.setVersioning(late, types.BucketVersioningStatusEnabled)
	if err := e.lockConfig(late, types.ObjectLockRetentionModeGovernance, 1, 0); err != nil {
		t.Fatalf("enabling Object Lock on a versioned bucket: %v", err)
	}
	_, err = e.c.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(late),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantErr(t, err, "InvalidBucketState", http.StatusConflict)

	// An empty bucket with Object Lock is deleted like any other.
	if _, err := e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Errorf("DeleteBucket of an empty Object Lock bucket: %v", err)
	}
}

func TestObjectLockConfiguration(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-config")

	valid := []struct {
		name        string
		mode        types.ObjectLockRetentionMode
		days, years int32
	}{
		{"GovernanceDays", types.ObjectLockRetentionModeGovernance, 1, 0},
		{"ComplianceYears", types.ObjectLockRetentionModeCompliance, 0, 1},
		{"MaxDays", types.ObjectLockRetentionModeGovernance, 36500, 0},
		{"MaxYears", types.ObjectLockRetentionModeGovernance, 0, 100},
		{"NoRule", "", 0, 0},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.lockConfig(b, tc.mode, tc.days, tc.years); err != nil {
				t.Fatal(err)
			}
			out, err := e.c.GetObjectLockConfiguration(e.ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
			if err != nil {
				t.Fatal(err)
			}
			c := out.ObjectLockConfiguration
			if c.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
				t.Errorf("ObjectLockEnabled = %q", c.ObjectLockEnabled)
			}
			if tc.mode == "" {
				if c.Rule != nil {
					t.Errorf("Rule = %+v, want none", c.Rule)
				}
				return
			}
			dr := c.Rule.DefaultRetention
			if dr.Mode != tc.mode || aws.ToInt32(dr.Days) != tc.days || aws.ToInt32(dr.Years) != tc.years {
				t.Errorf("DefaultRetention = %s %d days %d years, want %s %d %d", dr.Mode, aws.ToInt32(dr.Days), aws.ToInt32(dr.Years), tc.mode, tc.days, tc.years)
			}
			if (tc.days == 0) != (dr.Days == nil) || (tc.years == 0) != (dr.Years == nil) {
				t.Errorf("DefaultRetention names Days %v and Years %v", dr.Days != nil, dr.Years != nil)
			}
		})
	}

	doc := func(inner string) string {
		return `<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + inner + `</ObjectLockConfiguration>`
	}
	rule := func(inner string) string {
		return doc(`<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>` + inner + `</DefaultRetention></Rule>`)
	}
	invalid := []struct {
		name, body, code, msg string
	}{
		{"DaysAndYears", rule(`<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>`), "MalformedXML", ""},
		{"NoPeriod", rule(`<Mode>GOVERNANCE</Mode>`), "MalformedXML", ""},
		{"NoMode", rule(`<Days>1</Days>`), "MalformedXML", ""},
		{"LowercaseMode", rule(`<Mode>governance</Mode><Days>1</Days>`), "MalformedXML", ""},
		{"UnknownMode", rule(`<Mode>abc</Mode><Days>1</Days>`), "MalformedXML", ""},
		{"NotEnabled", doc(`<ObjectLockEnabled>Disabled</ObjectLockEnabled>`), "MalformedXML", ""},
		{"NoStatus", doc(``), "MalformedXML", ""},
		{"EmptyRule", doc(`<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule></Rule>`), "MalformedXML", ""},
		{"NotXML", "object lock", "MalformedXML", ""},
		{"ZeroDays", rule(`<Mode>GOVERNANCE</Mode><Days>0</Days>`), "InvalidArgument", "Default retention period must be a positive integer value."},
		{"NegativeYears", rule(`<Mode>GOVERNANCE</Mode><Years>-1</Years>`), "InvalidArgument", "Default retention period must be a positive integer value."},
		{"TooManyDays", rule(`<Mode>GOVERNANCE</Mode><Days>36501</Days>`), "InvalidArgument", "Default retention period too large."},
		{"TooManyYears", rule(`<Mode>COMPLIANCE</Mode><Years>101</Years>`), "InvalidArgument", "Default retention period too large."},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.signedRaw(http.MethodPut, "/"+b+"?object-lock", map[string]string{"Content-MD5": contentMD5([]byte(tc.body))}, []byte(tc.body), nil)
			d := checkErrorDoc(t, resp, body, http.StatusBadRequest, tc.code)
			if tc.msg != "" && d.Message != tc.msg {
				t.Errorf("message = %q, want %q", d.Message, tc.msg)
			}
		})
	}

	t.Run("IntegrityRequired", func(t *testing.T) {
		body := []byte(rule(`<Mode>GOVERNANCE</Mode><Days>1</Days>`))
		resp, rb := e.signedRaw(http.MethodPut, "/"+b+"?object-lock", nil, body, nil)
		checkErrorDoc(t, resp, rb, http.StatusBadRequest, "InvalidRequest")
	})
}

func contentMD5(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func crc32Base64(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)))
}

func TestObjectLockWriteHeaders(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-headers")
	plain := e.bucket("lock-headers-plain")
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	e.put(plain, "src", []byte("source"))

	const both = "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied."
	invalid := []struct {
		name      string
		hdr       map[string]string
		code, msg string
		plainToo  bool // S3 checks the headers before the bucket
	}{
		{"ModeOnly", map[string]string{"x-amz-object-lock-mode": "GOVERNANCE"}, "InvalidArgument", both, true},
		{"DateOnly", map[string]string{"x-amz-object-lock-retain-until-date": future.Format(time.RFC3339)}, "InvalidArgument", both, true},
		{"BadDate", map[string]string{"x-amz-object-lock-mode": "abc", "x-amz-object-lock-retain-until-date": "abc"},
			"InvalidArgument", "The retain until date must be provided in ISO 8601 format", true},
		{"PastDate", map[string]string{"x-amz-object-lock-mode": "abc", "x-amz-object-lock-retain-until-date": "2020-01-01T00:00:00Z"},
			"InvalidArgument", "The retain until date must be in the future!", true},
		{"BadMode", map[string]string{"x-amz-object-lock-mode": "governance", "x-amz-object-lock-retain-until-date": future.Format(time.RFC3339)},
			"InvalidArgument", "Unknown wormMode directive.", true},
		{"BadLegalHold", map[string]string{"x-amz-object-lock-legal-hold": "wrong"}, "InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'", true},
		{"RetentionNoLockBucket", map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": future.Format(time.RFC3339)},
			"InvalidRequest", "Bucket is missing ObjectLockConfiguration", false},
		{"LegalHoldNoLockBucket", map[string]string{"x-amz-object-lock-legal-hold": "ON"}, "InvalidRequest", "Bucket is missing ObjectLockConfiguration", false},
	}
	body := []byte("locked body")
	for _, tc := range invalid {
		buckets := []string{plain}
		if tc.plainToo {
			buckets = append(buckets, b)
		}
		for _, bk := range buckets {
			for _, op := range []string{"PutObject", "CopyObject", "CreateMultipartUpload"} {
				t.Run(tc.name+"/"+bk+"/"+op, func(t *testing.T) {
					hdr := map[string]string{"Content-MD5": contentMD5(body)}
					for k, v := range tc.hdr {
						hdr[k] = v
					}
					path, method, payload := "/"+bk+"/k", http.MethodPut, body
					switch op {
					case "CopyObject":
						hdr["x-amz-copy-source"] = "/" + plain + "/src"
						delete(hdr, "Content-MD5")
						payload = nil
					case "CreateMultipartUpload":
						path, method, payload = path+"?uploads", http.MethodPost, nil
						delete(hdr, "Content-MD5")
					}
					resp, rb := e.signedRaw(method, path, hdr, payload, nil)
					d := checkErrorDoc(t, resp, rb, http.StatusBadRequest, tc.code)
					if d.Message != tc.msg {
						t.Errorf("message = %q, want %q", d.Message, tc.msg)
					}
				})
			}
		}
	}

	t.Run("IntegrityRequired", func(t *testing.T) {
		lock := map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": future.Format(time.RFC3339)}
		resp, rb := e.signedRaw(http.MethodPut, "/"+b+"/k", lock, body, nil)
		d := checkErrorDoc(t, resp, rb, http.StatusBadRequest, "InvalidRequest")
		if want := "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"; d.Message != want {
			t.Errorf("message = %q, want %q", d.Message, want)
		}
		resp, rb = e.signedRaw(http.MethodPut, "/"+b+"/k", map[string]string{"x-amz-object-lock-legal-hold": "OFF"}, body, nil)
		checkErrorDoc(t, resp, rb, http.StatusBadRequest, "InvalidRequest")
		// Without lock parameters, and without a default retention, a
		// plain PUT needs no digest.
		if resp, rb := e.signedRaw(http.MethodPut, "/"+b+"/k", nil, body, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("plain PUT: %d %s", resp.StatusCode, rb)
		}
		// A checksum header will do instead of Content-MD5.
		lock["x-amz-checksum-crc32"] = crc32Base64(body)
		resp, rb = e.signedRaw(http.MethodPut, "/"+b+"/k", lock, body, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("PUT with lock and x-amz-checksum-crc32: %d %s", resp.StatusCode, rb)
		}
	})
}

func TestObjectLockRetention(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-retention")
	v1 := aws.ToString(e.put(b, "k", []byte("one")).VersionId)

	_, err := e.c.GetObjectRetention(e.ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k")})
	wantErr(t, err, "NoSuchObjectLockConfiguration", http.StatusNotFound)
	wantMessage(t, err, "The specified object does not have a ObjectLock configuration")
	_, err = e.c.GetObjectLegalHold(e.ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k")})
	wantErr(t, err, "NoSuchObjectLockConfiguration", http.StatusNotFound)

	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	if err := e.retain(b, "k", "", types.ObjectLockRetentionModeGovernance, until, false); err != nil {
		t.Fatal(err)
	}
	r, err := e.c.GetObjectRetention(e.ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v1)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Retention.Mode != types.ObjectLockRetentionModeGovernance || !aws.ToTime(r.Retention.RetainUntilDate).Equal(until) {
		t.Errorf("retention = %s until %v, want GOVERNANCE until %v", r.Retention.Mode, aws.ToTime(r.Retention.RetainUntilDate), until)
	}
	h := e.head(b, "k")
	if h.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(h.ObjectLockRetainUntilDate).Equal(until) || h.ObjectLockLegalHoldStatus != "" {
		t.Errorf("HEAD lock = %s %v %q", h.ObjectLockMode, aws.ToTime(h.ObjectLockRetainUntilDate), h.ObjectLockLegalHoldStatus)
	}
	_, g := e.get(b, "k")
	if g.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(g.ObjectLockRetainUntilDate).Equal(until) {
		t.Errorf("GET lock = %s %v", g.ObjectLockMode, aws.ToTime(g.ObjectLockRetainUntilDate))
	}

	// Changes, in order, each against the state the previous one left.
	gov, comp := types.ObjectLockRetentionModeGovernance, types.ObjectLockRetentionModeCompliance
	steps := []struct {
		name   string
		mode   types.ObjectLockRetentionMode
		until  time.Time
		bypass bool
		code   string // "" for success
	}{
		{"ExtendGovernance", gov, until.Add(time.Hour), false, ""},
		{"SameGovernance", gov, until.Add(time.Hour), false, ""},
		{"ShortenGovernance", gov, until, false, "AccessDenied"},
		{"ShortenGovernanceBypass", gov, until, true, ""},
		{"GovernanceToCompliance", comp, until.Add(time.Hour), false, "AccessDenied"},
		{"RemoveGovernance", "", time.Time{}, false, "AccessDenied"},
		{"RemoveGovernanceBypass", "", time.Time{}, true, ""},
		{"SetGovernanceAgain", gov, until, false, ""},
		{"GovernanceToComplianceBypass", comp, until, true, ""},
		{"ExtendCompliance", comp, until.Add(time.Hour), false, ""},
		{"ShortenComplianceBypass", comp, until, true, "AccessDenied"},
		{"ComplianceToGovernanceBypass", gov, until.Add(2 * time.Hour), true, "AccessDenied"},
		{"RemoveComplianceBypass", "", time.Time{}, true, "AccessDenied"},
	}
	for _, st := range steps {
		err := e.retain(b, "k", v1, st.mode, st.until, st.bypass)
		if st.code == "" {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("%s: succeeded, want %s", st.name, st.code)
		}
		wantErr(t, err, st.code, http.StatusForbidden)
		wantMessage(t, err, lockedMessage)
	}
	r, err = e.c.GetObjectRetention(e.ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || r.Retention.Mode != comp || !aws.ToTime(r.Retention.RetainUntilDate).Equal(until.Add(time.Hour)) {
		t.Errorf("final retention = %+v, %v; want COMPLIANCE until %v", r, err, until.Add(time.Hour))
	}

	t.Run("Invalid", func(t *testing.T) {
		v2 := aws.ToString(e.put(b, "other", []byte("x")).VersionId)
		err := e.retain(b, "other", v2, gov, time.Now().Add(-time.Minute), false)
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		wantMessage(t, err, "The retain until date must be in the future!")
		wantErr(t, e.retain(b, "other", v2, "governance", until, false), "MalformedXML", http.StatusBadRequest)
		wantErr(t, e.retain(b, "other", v2, "abc", until, false), "MalformedXML", http.StatusBadRequest)
		wantErr(t, e.retain(b, "missing", "", gov, until, false), "NoSuchKey", http.StatusNotFound)
		wantErr(t, e.retain(b, "other", "0000000000000001aaaaaaaaaaaaaaaa", gov, until, false), "NoSuchVersion", http.StatusNotFound)
		wantErr(t, e.retain(b, "other", "not-a-version", gov, until, false), "InvalidArgument", http.StatusBadRequest)
		// A delete marker holds no lock.
		dm, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("other")})
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.retain(b, "other", aws.ToString(dm.VersionId), gov, until, false), "MethodNotAllowed", http.StatusMethodNotAllowed)
		wantErr(t, e.hold(b, "other", aws.ToString(dm.VersionId), types.ObjectLockLegalHoldStatusOn), "MethodNotAllowed", http.StatusMethodNotAllowed)
		wantErr(t, e.retain(b, "other", "", gov, until, false), "NoSuchKey", http.StatusNotFound)
		resp, rb := e.signedRaw(http.MethodPut, "/"+b+"/other?retention&versionId="+v2, nil,
			[]byte(`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2999-01-01T00:00:00Z</RetainUntilDate></Retention>`), nil)
		checkErrorDoc(t, resp, rb, http.StatusBadRequest, "InvalidRequest")
		body := []byte(`<Retention><Mode>GOVERNANCE</Mode></Retention>`)
		resp, rb = e.signedRaw(http.MethodPut, "/"+b+"/other?retention&versionId="+v2, map[string]string{"Content-MD5": contentMD5(body)}, body, nil)
		checkErrorDoc(t, resp, rb, http.StatusBadRequest, "MalformedXML")
	})

	t.Run("NoLockBucket", func(t *testing.T) {
		plain := e.bucket("lock-retention-plain")
		e.put(plain, "k", []byte("x"))
		const msg = "Bucket is missing Object Lock Configuration"
		err := e.retain(plain, "k", "", gov, until, false)
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		wantMessage(t, err, msg)
		_, err = e.c.GetObjectRetention(e.ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(plain), Key: aws.String("k")})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		wantMessage(t, err, msg)
		err = e.hold(plain, "k", "", types.ObjectLockLegalHoldStatusOn)
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		wantMessage(t, err, msg)
		_, err = e.c.GetObjectLegalHold(e.ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(plain), Key: aws.String("k")})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		wantMessage(t, err, msg)
		// A missing key is reported first.
		_, err = e.c.GetObjectRetention(e.ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(plain), Key: aws.String("missing")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		wantErr(t, e.hold(plain, "missing", "", types.ObjectLockLegalHoldStatusOn), "NoSuchKey", http.StatusNotFound)
	})

	t.Run("NoDocument", func(t *testing.T) {
		e.put(b, "nodoc", []byte("x"))
		for _, sub := range []string{"retention", "legal-hold"} {
			resp, rb := e.signedRaw(http.MethodPut, "/"+b+"/nodoc?"+sub, map[string]string{"Content-MD5": contentMD5(nil)}, nil, nil)
			checkErrorDoc(t, resp, rb, http.StatusBadRequest, "MalformedXML")
		}
		resp, rb := e.signedRaw(http.MethodPut, "/"+b+"?object-lock", map[string]string{"Content-MD5": contentMD5(nil)}, nil, nil)
		checkErrorDoc(t, resp, rb, http.StatusBadRequest, "MissingRequestBodyError")
	})
}

func TestObjectLockLegalHold(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-hold")
	v := aws.ToString(e.put(b, "k", []byte("held")).VersionId)
	newer := aws.ToString(e.put(b, "k", []byte("newer")).VersionId)

	if err := e.hold(b, "k", v, types.ObjectLockLegalHoldStatusOn); err != nil {
		t.Fatal(err)
	}
	out, err := e.c.GetObjectLegalHold(e.ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v)})
	if err != nil || out.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("legal hold = %+v, %v", out, err)
	}
	if h := e.head(b, "k", func(in *s3.HeadObjectInput) { in.VersionId = aws.String(v) }); h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn || h.ObjectLockMode != "" {
		t.Errorf("HEAD legal hold = %q mode %q", h.ObjectLockLegalHoldStatus, h.ObjectLockMode)
	}
	// The latest version has its own (no) legal hold.
	_, err = e.c.GetObjectLegalHold(e.ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k")})
	wantErr(t, err, "NoSuchObjectLockConfiguration", http.StatusNotFound)

	// A legal hold cannot be bypassed.
	for _, bypass := range []bool{false, true} {
		err := e.deleteVersion(b, "k", v, bypass)
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		wantMessage(t, err, lockedMessage)
	}
	if err := e.deleteVersion(b, "k", newer, false); err != nil {
		t.Errorf("deleting a version without a lock: %v", err)
	}
	if err := e.hold(b, "k", v, types.ObjectLockLegalHoldStatusOff); err != nil {
		t.Fatal(err)
	}
	out, err = e.c.GetObjectLegalHold(e.ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v)})
	if err != nil || out.LegalHold.Status != types.ObjectLockLegalHoldStatusOff {
		t.Fatalf("legal hold = %+v, %v", out, err)
	}
	if h := e.head(b, "k"); h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOff {
		t.Errorf("HEAD legal hold after OFF = %q", h.ObjectLockLegalHoldStatus)
	}
	if err := e.deleteVersion(b, "k", v, false); err != nil {
		t.Errorf("deleting after the legal hold is off: %v", err)
	}

	e.put(b, "k2", []byte("x"))
	wantErr(t, e.hold(b, "k2", "", "abc"), "MalformedXML", http.StatusBadRequest)
	wantErr(t, e.hold(b, "missing", "", types.ObjectLockLegalHoldStatusOn), "NoSuchKey", http.StatusNotFound)
}

func TestObjectLockDelete(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-delete")
	until := time.Now().Add(time.Hour)

	gov := aws.ToString(e.put(b, "gov", []byte("g"), func(in *s3.PutObjectInput) {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = types.ObjectLockModeGovernance, aws.Time(until)
	}).VersionId)
	compUntil := time.Now().Add(3 * time.Second)
	comp := aws.ToString(e.put(b, "comp", []byte("c"), func(in *s3.PutObjectInput) {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = types.ObjectLockModeCompliance, aws.Time(compUntil)
	}).VersionId)
	free := aws.ToString(e.put(b, "free", []byte("f")).VersionId)

	err := e.deleteVersion(b, "gov", gov, false)
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	wantMessage(t, err, lockedMessage)
	wantErr(t, e.deleteVersion(b, "comp", comp, true), "AccessDenied", http.StatusForbidden)

	// A delete without a version ID only adds a delete marker, which is
	// allowed, and the marker itself holds no lock.
	dm, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("gov")})
	if err != nil || !aws.ToBool(dm.DeleteMarker) {
		t.Fatalf("DeleteObject without a version = %+v, %v; want a delete marker", dm, err)
	}
	wantErr(t, e.deleteVersion(b, "gov", gov, false), "AccessDenied", http.StatusForbidden)
	if err := e.deleteVersion(b, "gov", aws.ToString(dm.VersionId), false); err != nil {
		t.Errorf("deleting the delete marker: %v", err)
	}

	// A bucket holding locked versions is not empty.
	_, err = e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
	wantErr(t, err, "BucketNotEmpty", http.StatusConflict)

	// DeleteObjects reports each locked version and deletes the rest.
	out, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("gov"), VersionId: aws.String(gov)},
		{Key: aws.String("comp"), VersionId: aws.String(comp)},
		{Key: aws.String("free"), VersionId: aws.String(free)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "free" || aws.ToString(out.Deleted[0].VersionId) != free {
		t.Errorf("Deleted = %+v, want free only", out.Deleted)
	}
	if len(out.Errors) != 2 {
		t.Fatalf("Errors = %+v, want gov and comp", out.Errors)
	}
	for _, er := range out.Errors {
		if aws.ToString(er.Code) != "AccessDenied" || aws.ToString(er.Message) != lockedMessage || aws.ToString(er.VersionId) == "" {
			t.Errorf("error %s %s: %s %q", aws.ToString(er.Key), aws.ToString(er.VersionId), aws.ToString(er.Code), aws.ToString(er.Message))
		}
	}
	// With the bypass, GOVERNANCE yields and COMPLIANCE does not.
	out, err = e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), BypassGovernanceRetention: aws.Bool(true), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("gov"), VersionId: aws.String(gov)},
		{Key: aws.String("comp"), VersionId: aws.String(comp)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "gov" || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "comp" {
		t.Errorf("bypass: Deleted %+v Errors %+v, want gov deleted and comp refused", out.Deleted, out.Errors)
	}

	// Once a retention has passed, the version can go.
	time.Sleep(time.Until(compUntil.Add(100 * time.Millisecond)))
	if err := e.deleteVersion(b, "comp", comp, false); err != nil {
		t.Errorf("deleting after the COMPLIANCE retention passed: %v", err)
	}
	if _, err := e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Errorf("DeleteBucket once every version is gone: %v", err)
	}
}

func TestObjectLockDefaultRetention(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-default")
	if err := e.lockConfig(b, types.ObjectLockRetentionModeGovernance, 1, 0); err != nil {
		t.Fatal(err)
	}
	near := func(t *testing.T, what string, got, want time.Time) {
		t.Helper()
		if d := got.Sub(want); d < -5*time.Second || d > 5*time.Second {
			t.Errorf("%s retain until %v, want about %v", what, got, want)
		}
	}

	put := e.put(b, "put", []byte("x"))
	h := e.head(b, "put")
	if h.ObjectLockMode != types.ObjectLockModeGovernance {
		t.Errorf("default mode = %q", h.ObjectLockMode)
	}
	near(t, "PUT", aws.ToTime(h.ObjectLockRetainUntilDate), aws.ToTime(h.LastModified).AddDate(0, 0, 1))
	wantErr(t, e.deleteVersion(b, "put", aws.ToString(put.VersionId), false), "AccessDenied", http.StatusForbidden)

	// Explicit headers win over the default.
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	e.put(b, "explicit", []byte("x"), func(in *s3.PutObjectInput) {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = types.ObjectLockModeCompliance, aws.Time(until)
		in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
	})
	h = e.head(b, "explicit")
	if h.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(h.ObjectLockRetainUntilDate).Equal(until) || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("explicit lock = %s %v %s", h.ObjectLockMode, aws.ToTime(h.ObjectLockRetainUntilDate), h.ObjectLockLegalHoldStatus)
	}

	// Copies and completed uploads get the default too; a copy does not
	// take its source's lock.
	e.copy(&s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/explicit")})
	h = e.head(b, "copy")
	if h.ObjectLockMode != types.ObjectLockModeGovernance || h.ObjectLockLegalHoldStatus != "" {
		t.Errorf("copy lock = %s %s, want the default", h.ObjectLockMode, h.ObjectLockLegalHoldStatus)
	}
	near(t, "copy", aws.ToTime(h.ObjectLockRetainUntilDate), aws.ToTime(h.LastModified).AddDate(0, 0, 1))
	plain := e.bucket("lock-default-plain")
	e.copy(&s3.CopyObjectInput{Bucket: aws.String(plain), Key: aws.String("copy"), CopySource: aws.String(b + "/explicit")})
	if h := e.head(plain, "copy"); h.ObjectLockMode != "" || h.ObjectLockLegalHoldStatus != "" {
		t.Errorf("copy into a bucket without Object Lock has lock %s %s", h.ObjectLockMode, h.ObjectLockLegalHoldStatus)
	}

	e.uploadObject(b, "mpu", []byte("part"))
	h = e.head(b, "mpu")
	if h.ObjectLockMode != types.ObjectLockModeGovernance {
		t.Errorf("multipart lock mode = %q", h.ObjectLockMode)
	}
	near(t, "multipart", aws.ToTime(h.ObjectLockRetainUntilDate), aws.ToTime(h.LastModified).AddDate(0, 0, 1))

	// Years count calendar years.
	if err := e.lockConfig(b, types.ObjectLockRetentionModeCompliance, 0, 1); err != nil {
		t.Fatal(err)
	}
	e.put(b, "years", []byte("x"))
	h = e.head(b, "years")
	if h.ObjectLockMode != types.ObjectLockModeCompliance {
		t.Errorf("mode = %q", h.ObjectLockMode)
	}
	near(t, "Years", aws.ToTime(h.ObjectLockRetainUntilDate), aws.ToTime(h.LastModified).AddDate(1, 0, 0))

	// With a default retention every upload needs a digest.
	resp, rb := e.signedRaw(http.MethodPut, "/"+b+"/nodigest", nil, []byte("x"), nil)
	checkErrorDoc(t, resp, rb, http.StatusBadRequest, "InvalidRequest")
	resp, rb = e.signedRaw(http.MethodPut, "/"+b+"/digest", map[string]string{"Content-MD5": contentMD5([]byte("x"))}, []byte("x"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("PUT with Content-MD5: %d %s", resp.StatusCode, rb)
	}
	id := e.createUpload(b, "parts")
	resp, rb = e.signedRaw(http.MethodPut, "/"+b+"/parts?partNumber=1&uploadId="+id, nil, []byte("x"), nil)
	d := checkErrorDoc(t, resp, rb, http.StatusBadRequest, "InvalidRequest")
	if want := "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters"; d.Message != want {
		t.Errorf("message = %q, want %q", d.Message, want)
	}
	resp, rb = e.signedRaw(http.MethodPut, "/"+b+"/parts?partNumber=1&uploadId="+id, map[string]string{"Content-MD5": contentMD5([]byte("x"))}, []byte("x"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("UploadPart with Content-MD5: %d %s", resp.StatusCode, rb)
	}
}

func TestObjectLockMultipart(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-mpu")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	id := e.createUpload(b, "k", func(in *s3.CreateMultipartUploadInput) {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = types.ObjectLockModeGovernance, aws.Time(until)
		in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
	})
	p := e.uploadPart(b, "k", id, 1, []byte("abc"))
	out, err := e.complete(b, "k", id, []types.CompletedPart{completed(1, p.ETag)})
	if err != nil {
		t.Fatal(err)
	}
	h := e.head(b, "k")
	if h.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(h.ObjectLockRetainUntilDate).Equal(until) || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("lock = %s %v %s", h.ObjectLockMode, aws.ToTime(h.ObjectLockRetainUntilDate), h.ObjectLockLegalHoldStatus)
	}
	vid := aws.ToString(out.VersionId)
	wantErr(t, e.deleteVersion(b, "k", vid, true), "AccessDenied", http.StatusForbidden)
	if err := e.hold(b, "k", vid, types.ObjectLockLegalHoldStatusOff); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.deleteVersion(b, "k", vid, false), "AccessDenied", http.StatusForbidden)
	if err := e.deleteVersion(b, "k", vid, true); err != nil {
		t.Errorf("bypassing GOVERNANCE: %v", err)
	}
}

// TestObjectLockRaces races deletes against the lock changes that would
// forbid them: each pair must end as if one ran entirely before the other.
func TestObjectLockRaces(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-race")
	const rounds = 24
	until := time.Now().Add(time.Hour)
	locks := []struct {
		name string
		lock func(key, vid string) error
	}{
		{"Retention", func(key, vid string) error {
			return e.retain(b, key, vid, types.ObjectLockRetentionModeGovernance, until, false)
		}},
		{"LegalHold", func(key, vid string) error { return e.hold(b, key, vid, types.ObjectLockLegalHoldStatusOn) }},
	}
	deletes := []struct {
		name string
		del  func(key, vid string) error
	}{
		{"DeleteObject", func(key, vid string) error { return e.deleteVersion(b, key, vid, false) }},
		{"DeleteObjects", func(key, vid string) error {
			out, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b),
				Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(key), VersionId: aws.String(vid)}}}})
			if err != nil {
				return err
			}
			if len(out.Errors) > 0 {
				return fmt.Errorf("%s: %s", aws.ToString(out.Errors[0].Code), aws.ToString(out.Errors[0].Message))
			}
			return nil
		}},
	}
	for _, l := range locks {
		for _, d := range deletes {
			t.Run(l.name+"/"+d.name, func(t *testing.T) {
				var locked, deleted int
				for i := range rounds {
					key := fmt.Sprintf("%s-%s-%d", l.name, d.name, i)
					vid := aws.ToString(e.put(b, key, []byte("x")).VersionId)
					var lockErr, delErr error
					var wg sync.WaitGroup
					wg.Go(func() { lockErr = l.lock(key, vid) })
					wg.Go(func() { delErr = d.del(key, vid) })
					wg.Wait()
					_, headErr := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key), VersionId: aws.String(vid)})
					switch {
					case lockErr == nil && delErr != nil:
						// The lock came first: the delete was refused
						// and the version is still there.
						locked++
						if headErr != nil {
							t.Errorf("%s: lock won but the version is gone: %v", key, headErr)
						}
					case lockErr != nil && delErr == nil:
						// The delete came first: the lock found no
						// version.
						deleted++
						if headErr == nil {
							t.Errorf("%s: delete won but the version is still there", key)
						}
					default:
						t.Errorf("%s: lock err %v, delete err %v: want exactly one to succeed", key, lockErr, delErr)
					}
				}
				t.Logf("%d locked first, %d deleted first", locked, deleted)
			})
		}
	}

	// Enabling Object Lock races suspending versioning: a bucket must
	// never end with Object Lock and suspended versioning.
	for i := range rounds {
		name := fmt.Sprintf("lock-race-versioning-%d", i)
		e.versionedBucket(name)
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.lockConfig(name, "", 0, 0) })
		wg.Go(func() {
			_, _ = e.c.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
				VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
		})
		wg.Wait()
		v, err := e.c.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		_, lockErr := e.c.GetObjectLockConfiguration(e.ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(name)})
		if lockErr == nil && v.Status != types.BucketVersioningStatusEnabled {
			t.Errorf("%s: Object Lock enabled with versioning %q", name, v.Status)
		}
	}
}

// TestObjectLockPutBody checks that a locked PUT stores its body like any
// other.
func TestObjectLockPutBody(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-body")
	body := randBytes(200<<10, 7)
	e.put(b, "k", body, func(in *s3.PutObjectInput) {
		in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
	})
	got, out := e.get(b, "k")
	if !bytes.Equal(got, body) || out.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("GET: %d bytes, legal hold %q", len(got), out.ObjectLockLegalHoldStatus)
	}
}

// TestObjectLockEventHolds: event holds (S3, 2026) would keep an object
// from deletion; sluice has none, so every way to ask for one is 501, and
// nothing asked for is half-applied.
func TestObjectLockEventHolds(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.lockedBucket("lock-event-holds")
	v := aws.ToString(e.put(b, "k", []byte("x")).VersionId)

	_, err := e.c.PutObjectLockConfiguration(e.ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1),
				DefaultEventHold: &types.EventHoldDuration{Days: aws.Int32(30)}}}}})
	wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
	out, err := e.c.GetObjectLockConfiguration(e.ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
	if err != nil || out.ObjectLockConfiguration.Rule != nil {
		t.Errorf("configuration after the refusal: %+v, %v", out, err)
	}

	for name, r := range map[string]*types.ObjectLockRetention{
		"EventHold":         {EventHold: types.ObjectLockEventHoldOn},
		"EventHoldDuration": {Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour)), EventHoldDuration: &types.EventHoldDuration{Years: aws.Int32(1)}},
	} {
		_, err := e.c.PutObjectRetention(e.ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v), Retention: r})
		t.Run(name, func(t *testing.T) { wantErr(t, err, "NotImplemented", http.StatusNotImplemented) })
	}
	if _, err := e.c.GetObjectRetention(e.ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v)}); err == nil {
		t.Error("a refused PutObjectRetention left a retention")
	}
}
