package batch

import (
	"fmt"
	"time"
)

// Status is a job's JobStatus.
type Status string

// The job statuses of the S3 Control model.
const (
	StatusNew        Status = "New"
	StatusPreparing  Status = "Preparing"
	StatusSuspended  Status = "Suspended"
	StatusReady      Status = "Ready"
	StatusActive     Status = "Active"
	StatusPausing    Status = "Pausing"
	StatusPaused     Status = "Paused"
	StatusCompleting Status = "Completing"
	StatusComplete   Status = "Complete"
	StatusFailing    Status = "Failing"
	StatusFailed     Status = "Failed"
	StatusCancelling Status = "Cancelling"
	StatusCancelled  Status = "Cancelled"
)

var allStatuses = []Status{
	StatusActive, StatusCancelled, StatusCancelling, StatusComplete, StatusCompleting, StatusFailed,
	StatusFailing, StatusNew, StatusPaused, StatusPausing, StatusPreparing, StatusReady, StatusSuspended,
}

// Terminal reports whether a job in status s is finished for good.
func (s Status) Terminal() bool {
	return s == StatusComplete || s == StatusFailed || s == StatusCancelled
}

// ending reports whether s is one of the statuses in which a job's
// report is written before it becomes terminal.
func (s Status) ending() bool {
	return s == StatusCompleting || s == StatusFailing || s == StatusCancelling
}

// final is the terminal status an ending status leads to.
func (s Status) final() Status {
	switch s {
	case StatusCompleting:
		return StatusComplete
	case StatusFailing:
		return StatusFailed
	}
	return StatusCancelled
}

// validStatus reports whether s names a job status.
func validStatus(s string) bool {
	for _, x := range allStatuses {
		if string(x) == s {
			return true
		}
	}
	return false
}

// Job is the stored record of a job: its specification as created, its
// status, and its progress as last committed. It is one document of the
// metadata store; per-task outcomes are not in it (see outcomes.go).
type Job struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	SpecHash  string    `json:"specHash"`
	Created   time.Time `json:"created"`
	AccountID string    `json:"account"`

	Description          string             `json:"description,omitempty"`
	Priority             int64              `json:"priority"`
	RoleARN              string             `json:"role"`
	ConfirmationRequired bool               `json:"confirmationRequired,omitempty"`
	Operation            Operation          `json:"operation"`
	Manifest             *Manifest          `json:"manifest,omitempty"`
	Generator            *ManifestGenerator `json:"generator,omitempty"`
	Report               Report             `json:"report"`
	Tags                 []Tag              `json:"tags,omitempty"`

	Status             Status          `json:"status"`
	StatusUpdateReason string          `json:"statusReason,omitempty"`
	FailureReasons     []failureReason `json:"failures,omitempty"`
	TerminationDate    time.Time       `json:"terminated,omitzero"`
	SuspendedDate      time.Time       `json:"suspended,omitzero"`
	SuspendedCause     string          `json:"suspendedCause,omitempty"`
	// ActiveTime is the time spent Active before ActiveSince (which is
	// set while the job is Active).
	ActiveTime  time.Duration `json:"activeTime,omitempty"`
	ActiveSince time.Time     `json:"activeSince,omitzero"`
	// Confirmed is set once a Suspended job was confirmed: it never
	// returns to Suspended.
	Confirmed bool `json:"confirmed,omitempty"`

	// Source is the manifest the tasks are read from, fixed when the
	// job was prepared; Total is its number of tasks (-1 before).
	Source    *Source            `json:"source,omitempty"`
	Total     int64              `json:"total"`
	Generated *generatedManifest `json:"generated,omitempty"`
	// Progress is the last committed checkpoint of the task outcomes.
	Progress Checkpoint `json:"progress"`
}

// Checkpoint is a job's committed progress: the outcome log holds
// exactly LogSize valid bytes, with Succeeded+Failed records; every task
// with an index below Low has its outcome among them, and the manifest
// position of task Low is Pos. Records of tasks at or above Low (done out
// of order) start at log offset ScanFrom or later.
type Checkpoint struct {
	Succeeded int64    `json:"succeeded"`
	Failed    int64    `json:"failed"`
	LogSize   int64    `json:"logSize"`
	Low       int64    `json:"low"`
	Pos       Position `json:"pos"`
	ScanFrom  int64    `json:"scanFrom"`
}

// ARN is the job's ARN.
func (j *Job) ARN(region string) string {
	return fmt.Sprintf("arn:aws:s3:%s:%s:job/%s", region, j.AccountID, j.ID)
}

// activeFor is the job's time in Active up to now.
func (j *Job) activeFor(now time.Time) time.Duration {
	d := j.ActiveTime
	if !j.ActiveSince.IsZero() {
		d += now.Sub(j.ActiveSince)
	}
	return d
}

// setStatus moves j to status to at now, keeping the timers and dates
// that depend on the status right.
func (j *Job) setStatus(to Status, now time.Time) {
	if j.Status == to {
		return
	}
	if !j.ActiveSince.IsZero() && to != StatusActive {
		j.ActiveTime += now.Sub(j.ActiveSince)
		j.ActiveSince = time.Time{}
	}
	if to == StatusActive && j.ActiveSince.IsZero() {
		j.ActiveSince = now
	}
	if to == StatusSuspended {
		j.SuspendedDate = now
	}
	if to.Terminal() {
		j.TerminationDate = now
	}
	j.Status = to
}

// fail records why a job fails.
func (j *Job) fail(code, reason string) {
	if len(reason) > 256 {
		reason = reason[:253] + "..."
	}
	j.FailureReasons = append(j.FailureReasons, failureReason{FailureCode: code, FailureReason: reason})
}

// operationName is the OperationName of the job's operation.
func (o *Operation) name() string {
	switch {
	case o.LambdaInvoke != nil:
		return "LambdaInvoke"
	case o.S3PutObjectCopy != nil:
		return "S3PutObjectCopy"
	case o.S3PutObjectTagging != nil:
		return "S3PutObjectTagging"
	case o.S3DeleteObjectTagging != nil:
		return "S3DeleteObjectTagging"
	case o.S3ComputeObjectChecksum != nil:
		return "S3ComputeObjectChecksum"
	}
	return ""
}

// Failure codes sluice records in FailureReasons.
const (
	failManifestETag     = "ManifestETagMismatch"
	failManifestRead     = "ManifestReadFailed"
	failManifestFormat   = "ManifestMalformed"
	failNoKeys           = "ManifestGenerationEmpty"
	failThreshold        = "TaskFailureThresholdExceeded"
	failFunction         = "FunctionNotFound"
	failSuspendedTooLong = "SuspendedTooLong"
	failReport           = "ReportWriteFailed"
)
