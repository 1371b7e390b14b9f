package e2e

// Regression tests for what rclone's S3 backend integration tests
// (test/compat/suites/rclone_test.go, docs/compat.md) found.

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// TestRcloneSigV2 covers the SigV2 requests rclone's V2 signer (region
// other-v2-signature) makes: it writes the Date as RFC 1123 with the zone
// name "UTC" rather than "GMT", and signs a path-style bucket request's
// path as sent ("/bucket", where botocore and minio-go sign "/bucket/").
// Both were refused (AccessDenied "requires a valid Date",
// SignatureDoesNotMatch), so rclone could not create or list a bucket.
func TestRcloneSigV2(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("rclone-sigv2")
	e.put(b, "k", []byte("v"))
	now := time.Now().UTC()
	for _, tc := range []struct {
		name               string
		method, path, date string
		signed             string // CanonicalizedResource
		lockHeader         bool   // send (and sign) x-amz-bucket-object-lock-enabled: false, as rclone does
		wantStatus         int
	}{
		{name: "bucket as sent, date in UTC", method: http.MethodGet, path: "/" + b,
			date: now.Format(time.RFC1123), signed: "/" + b, wantStatus: http.StatusOK},
		{name: "bucket with slash, date in UTC", method: http.MethodGet, path: "/" + b,
			date: now.Format(time.RFC1123), signed: "/" + b + "/", wantStatus: http.StatusOK},
		{name: "bucket as sent, date in GMT", method: http.MethodGet, path: "/" + b,
			date: now.Format(http.TimeFormat), signed: "/" + b, wantStatus: http.StatusOK},
		{name: "bucket sub-resource as sent", method: http.MethodGet, path: "/" + b + "?versioning",
			date: now.Format(time.RFC1123), signed: "/" + b + "?versioning", wantStatus: http.StatusOK},
		{name: "create bucket as sent", method: http.MethodPut, path: "/" + b + "-new",
			date: now.Format(time.RFC1123), signed: "/" + b + "-new",
			lockHeader: true, wantStatus: http.StatusOK},
		// rclone signs only the sub-resources of S3's SigV2 documentation,
		// botocore also the newer ones (object-lock, tagging, ...): both
		// forms verify (404: no configuration, but authenticated).
		{name: "newer sub-resource left out", method: http.MethodGet, path: "/" + b + "?object-lock",
			date: now.Format(time.RFC1123), signed: "/" + b, wantStatus: http.StatusNotFound},
		{name: "newer sub-resource signed", method: http.MethodGet, path: "/" + b + "?object-lock",
			date: now.Format(time.RFC1123), signed: "/" + b + "/?object-lock", wantStatus: http.StatusNotFound},
		{name: "documented sub-resource left out", method: http.MethodGet, path: "/" + b + "?versioning",
			date: now.Format(time.RFC1123), signed: "/" + b, wantStatus: http.StatusForbidden},
		{name: "object", method: http.MethodHead, path: "/" + b + "/k",
			date: now.Format(time.RFC1123), signed: "/" + b + "/k", wantStatus: http.StatusOK},
		{name: "object signed without its key", method: http.MethodHead, path: "/" + b + "/k",
			date: now.Format(time.RFC1123), signed: "/" + b, wantStatus: http.StatusForbidden},
		{name: "other bucket", method: http.MethodGet, path: "/" + b,
			date: now.Format(time.RFC1123), signed: "/other", wantStatus: http.StatusForbidden},
		{name: "unknown zone name", method: http.MethodGet, path: "/" + b,
			date: now.Format("Mon, 02 Jan 2006 15:04:05") + " XYZ", signed: "/" + b, wantStatus: http.StatusForbidden},
		{name: "skewed UTC date", method: http.MethodGet, path: "/" + b,
			date: now.Add(-time.Hour).Format(time.RFC1123), signed: "/" + b, wantStatus: http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, tc.method, e.n.Endpoint+tc.path, nil)
			req.Header.Set("Date", tc.date)
			amz := ""
			if tc.lockHeader {
				req.Header.Set("X-Amz-Bucket-Object-Lock-Enabled", "false")
				amz = "x-amz-bucket-object-lock-enabled:false\n"
			}
			m := hmac.New(sha1.New, []byte(servertest.SecretAccessKey))
			m.Write([]byte(tc.method + "\n\n\n" + tc.date + "\n" + amz + tc.signed))
			req.Header.Set("Authorization", "AWS "+servertest.AccessKeyID+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
			resp, out := rawDo(t, req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("%s %s signed as %q with Date %q = %d %s, want %d",
					tc.method, tc.path, tc.signed, tc.date, resp.StatusCode, out, tc.wantStatus)
			}
		})
	}
}
