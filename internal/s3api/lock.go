package s3api

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// Object Lock: the bucket configuration (?object-lock), the retention
// (?retention) and legal hold (?legal-hold) of object versions, the
// x-amz-object-lock-* headers of writes and reads, and
// x-amz-bypass-governance-retention. The rules live in objstore.

type objectLockConfiguration struct {
	XMLName           xml.Name  `xml:"ObjectLockConfiguration"`
	NS                string    `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string    `xml:"ObjectLockEnabled,omitempty"`
	Rule              *lockRule `xml:"Rule,omitempty"`
}

type lockRule struct {
	DefaultRetention *defaultRetention `xml:"DefaultRetention"`
}

type defaultRetention struct {
	Mode  string `xml:"Mode,omitempty"`
	Days  *int64 `xml:"Days,omitempty"`
	Years *int64 `xml:"Years,omitempty"`
	// DefaultEventHold (S3, 2026) is read only to be refused: sluice has
	// no event holds.
	DefaultEventHold *struct{} `xml:"DefaultEventHold,omitempty"`
}

func (h *Handler) getObjectLockConfiguration(rq *request) error {
	cfg, err := h.store.ObjectLockConfig(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	out := objectLockConfiguration{NS: s3NS, ObjectLockEnabled: "Enabled"}
	if d := cfg.DefaultRetention; d != nil {
		dr := &defaultRetention{Mode: d.Mode}
		n := d.Period
		if d.Unit == objstore.PeriodYears {
			dr.Years = &n
		} else {
			dr.Days = &n
		}
		out.Rule = &lockRule{DefaultRetention: dr}
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}

func (h *Handler) putObjectLockConfiguration(rq *request) error {
	if err := requireIntegrity(rq.r.Header); err != nil {
		return err
	}
	var doc objectLockConfiguration
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	if doc.ObjectLockEnabled != "Enabled" {
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	var cfg objstore.LockConfig
	if doc.Rule != nil && doc.Rule.DefaultRetention != nil && doc.Rule.DefaultRetention.DefaultEventHold != nil {
		return notImplemented("Object Lock event holds")
	}
	if doc.Rule != nil {
		dr := doc.Rule.DefaultRetention
		if dr == nil || (dr.Days == nil) == (dr.Years == nil) {
			return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
		}
		d := &objstore.DefaultRetention{Mode: dr.Mode}
		if dr.Days != nil {
			d.Period, d.Unit = *dr.Days, objstore.PeriodDays
		} else {
			d.Period, d.Unit = *dr.Years, objstore.PeriodYears
		}
		cfg.DefaultRetention = d
	}
	if err := h.store.SetObjectLockConfig(rq.ctx(), rq.bucket, cfg); err != nil {
		return err
	}
	return rq.ok()
}

// retention is the Retention document of PutObjectRetention and
// GetObjectRetention.
type retention struct {
	XMLName         xml.Name `xml:"Retention"`
	NS              string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
	// EventHold and EventHoldDuration (S3, 2026) are read only to be
	// refused: sluice has no event holds.
	EventHold         string    `xml:"EventHold,omitempty"`
	EventHoldDuration *struct{} `xml:"EventHoldDuration,omitempty"`
}

// legalHold is the LegalHold document of PutObjectLegalHold and
// GetObjectLegalHold.
type legalHold struct {
	XMLName xml.Name `xml:"LegalHold"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// lockVersionID reads the versionId a retention or legal hold operation
// addresses. As for every object operation, S3 refuses an empty one.
func lockVersionID(rq *request) (string, error) {
	vid := rq.query.Get("versionId")
	if _, ok := rq.query["versionId"]; ok && vid == "" {
		return "", errorf("InvalidArgument", "Version id cannot be the empty string")
	}
	return vid, nil
}

func (h *Handler) getObjectRetention(rq *request) error {
	vid, err := lockVersionID(rq)
	if err != nil {
		return err
	}
	r, _, err := h.store.ObjectRetention(rq.ctx(), rq.bucket, rq.key, vid)
	if err != nil {
		return err
	}
	writeXML(rq, http.StatusOK, &retention{NS: s3NS, Mode: r.Mode, RetainUntilDate: isoTime(r.Until)})
	return nil
}

func (h *Handler) putObjectRetention(rq *request) error {
	vid, err := lockVersionID(rq)
	if err != nil {
		return err
	}
	if err := requireIntegrity(rq.r.Header); err != nil {
		return err
	}
	var doc retention
	if err := readXML(rq, &doc, true); err != nil {
		return err
	}
	if doc.XMLName.Local == "" {
		// No document at all; an empty <Retention/> removes the retention.
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	if (doc.EventHold != "" && !strings.EqualFold(doc.EventHold, "OFF")) || doc.EventHoldDuration != nil {
		return notImplemented("Object Lock event holds")
	}
	in := &objstore.RetentionInput{
		Bucket:           rq.bucket,
		Key:              rq.key,
		VersionID:        vid,
		Retention:        objstore.Retention{Mode: doc.Mode},
		BypassGovernance: bypassGovernance(rq.r.Header),
	}
	if doc.RetainUntilDate != "" {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(doc.RetainUntilDate))
		if err != nil {
			return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
		}
		in.Retention.Until = t
	}
	if _, err := h.store.SetObjectRetention(rq.ctx(), in); err != nil {
		return err
	}
	return rq.ok()
}

func (h *Handler) getObjectLegalHold(rq *request) error {
	vid, err := lockVersionID(rq)
	if err != nil {
		return err
	}
	status, _, err := h.store.ObjectLegalHold(rq.ctx(), rq.bucket, rq.key, vid)
	if err != nil {
		return err
	}
	writeXML(rq, http.StatusOK, &legalHold{NS: s3NS, Status: status})
	return nil
}

func (h *Handler) putObjectLegalHold(rq *request) error {
	vid, err := lockVersionID(rq)
	if err != nil {
		return err
	}
	if err := requireIntegrity(rq.r.Header); err != nil {
		return err
	}
	// A missing document is a legal hold without a valid status.
	var doc legalHold
	if err := readXML(rq, &doc, true); err != nil {
		return err
	}
	if _, err := h.store.SetObjectLegalHold(rq.ctx(), rq.bucket, rq.key, vid, doc.Status); err != nil {
		return err
	}
	return rq.ok()
}

// requireIntegrity refuses a request without Content-MD5 or a checksum, for
// the operations whose body S3 requires to be checked.
func requireIntegrity(hd http.Header) error {
	if hd.Get("Content-MD5") == "" && hd.Get("x-amz-trailer") == "" && !hasChecksumHeader(hd) {
		return errorf("InvalidRequest", "Missing required header for this request: Content-MD5")
	}
	return nil
}

// lockHeaders reads the Object Lock a PUT, copy or CreateMultipartUpload
// asks for.
func lockHeaders(hd http.Header) objstore.ObjectLockInput {
	return objstore.ObjectLockInput{
		Mode:            hd.Get("x-amz-object-lock-mode"),
		RetainUntilDate: hd.Get("x-amz-object-lock-retain-until-date"),
		LegalHold:       hd.Get("x-amz-object-lock-legal-hold"),
	}
}

// bypassGovernance reports whether a request asks to bypass GOVERNANCE
// retention. Every principal that may act on the bucket may bypass; with
// bucket policies this becomes the s3:BypassGovernanceRetention check.
func bypassGovernance(hd http.Header) bool {
	return strings.EqualFold(strings.TrimSpace(hd.Get("x-amz-bypass-governance-retention")), "true")
}

// setLockHeaders writes the Object Lock of a version into a GET or HEAD
// response.
func setLockHeaders(hd http.Header, v *meta.Version) {
	if v.LockMode != "" {
		hd.Set("x-amz-object-lock-mode", v.LockMode)
		hd.Set("x-amz-object-lock-retain-until-date", isoTime(v.RetainUntil))
	}
	if v.LegalHold != "" {
		hd.Set("x-amz-object-lock-legal-hold", v.LegalHold)
	}
}
