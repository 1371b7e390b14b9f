package batch

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/s3control"
)

// Register adds the jobs API to an S3 Control handler.
func (s *Service) Register(h *s3control.Handler) {
	h.Handle(http.MethodPost, "jobs", "CreateJob", s.wrap(s.createJob))
	h.Handle(http.MethodGet, "jobs", "ListJobs", s.wrap(s.listJobs))
	h.Handle(http.MethodGet, "jobs/{id}", "DescribeJob", s.wrap(s.describeJob))
	h.Handle(http.MethodPost, "jobs/{id}/priority", "UpdateJobPriority", s.wrap(s.updateJobPriority))
	h.Handle(http.MethodPost, "jobs/{id}/status", "UpdateJobStatus", s.wrap(s.updateJobStatus))
	h.Handle(http.MethodGet, "jobs/{id}/tagging", "GetJobTagging", s.wrap(s.getJobTagging))
	h.Handle(http.MethodPut, "jobs/{id}/tagging", "PutJobTagging", s.wrap(s.putJobTagging))
	h.Handle(http.MethodDelete, "jobs/{id}/tagging", "DeleteJobTagging", s.wrap(s.deleteJobTagging))
}

// statusOfCode is the HTTP status of each jobs API exception (the model
// gives none; docs/design.md).
var statusOfCode = map[string]int{
	CodeBadRequest:       http.StatusBadRequest,
	CodeInvalidRequest:   http.StatusBadRequest,
	CodeInvalidNextToken: http.StatusBadRequest,
	CodeTooManyTags:      http.StatusBadRequest,
	CodeNotFound:         http.StatusNotFound,
	CodeJobStatus:        http.StatusConflict,
	CodeIdempotency:      http.StatusConflict,
}

// wrap is the one place batch errors become S3 Control errors.
func (s *Service) wrap(fn s3control.HandlerFunc) s3control.HandlerFunc {
	return func(rq *s3control.Request) error {
		err := fn(rq)
		var e *Error
		if errors.As(err, &e) {
			st, ok := statusOfCode[e.Code]
			if !ok {
				st = http.StatusBadRequest
			}
			return s3control.Errorf(st, e.Code, e.Message)
		}
		return err
	}
}

func badRequest(format string, args ...any) *Error { return errorf(CodeBadRequest, format, args...) }

var roleARNPattern = regexp.MustCompile(`^arn:[^:]+:iam::\d{12}:role/.*$`)

// maxJobTags is how many tags a job may have.
const maxJobTags = 50

func (s *Service) createJob(rq *s3control.Request) error {
	var req createJobRequest
	if err := rq.ReadXML(&req); err != nil {
		return err
	}
	if err := validateCreate(&req); err != nil {
		return err
	}
	token := req.ClientRequestToken
	req.ClientRequestToken = ""
	req.XMLName.Local, req.XMLName.Space = "", ""
	spec, _ := json.Marshal(&req)
	sum := sha256.Sum256(spec)
	hash := hex.EncodeToString(sum[:])

	now := s.now().UTC()
	j := &Job{
		ID: newJobID(), Token: token, SpecHash: hash, Created: now, AccountID: s.account,
		Description: req.Description, Priority: *req.Priority, RoleARN: req.RoleArn,
		ConfirmationRequired: req.ConfirmationRequired, Operation: *req.Operation,
		Manifest: req.Manifest, Generator: req.ManifestGenerator, Report: *req.Report,
		Tags: req.Tags, Status: StatusNew, Total: -1,
	}
	if j.Report.Enabled && j.Report.ReportScope == "" {
		j.Report.ReportScope = "AllTasks"
	}
	id := j.ID
	err := s.meta.Update(rq.Context(), func(tx meta.Tx) error {
		id = j.ID
		raw, err := tx.Doc(kindToken, token)
		if err == nil {
			var tr tokenRecord
			if err := json.Unmarshal(raw, &tr); err != nil {
				return err
			}
			if tr.SpecHash != hash {
				return errorf(CodeIdempotency, "The ClientRequestToken %s was used before with different parameters.", token)
			}
			id = tr.JobID
			return nil
		}
		if !errors.Is(err, meta.ErrNoSuchDoc) {
			return err
		}
		raw, _ = json.Marshal(tokenRecord{JobID: j.ID, SpecHash: hash})
		if err := tx.PutDoc(kindToken, token, raw); err != nil {
			return err
		}
		return putJob(tx, j)
	})
	if err != nil {
		return err
	}
	if id == j.ID && s.opts.Observe != nil {
		s.opts.Observe(id, "", StatusNew)
	}
	s.Kick()
	return rq.WriteXML(http.StatusOK, &createJobResult{Xmlns: s3control.Namespace, JobID: id})
}

// newJobID returns a UUID (version 4), as AWS's job IDs are.
func newJobID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Service) describeJob(rq *s3control.Request) error {
	j, err := s.job(rq.Context(), rq.Param("id"))
	if err != nil {
		return err
	}
	return rq.WriteXML(http.StatusOK, &describeJobResult{Xmlns: s3control.Namespace, Job: s.descriptor(j)})
}

// progress is a job's ProgressSummary: live counters while it runs.
func (s *Service) progress(j *Job) progressSummary {
	p := progressSummary{
		NumberOfTasksSucceeded: j.Progress.Succeeded,
		NumberOfTasksFailed:    j.Progress.Failed,
		Timers:                 timers{ElapsedTimeInActiveSeconds: int64(j.activeFor(s.now()).Seconds())},
	}
	if j.Total >= 0 {
		t := j.Total
		p.TotalNumberOfTasks = &t
	}
	if w := s.workerOf(j.ID); w != nil && w.kind == workRun && w.live.Load() {
		p.NumberOfTasksSucceeded = w.succeeded.Load()
		p.NumberOfTasksFailed = w.failed.Load()
	}
	return p
}

func (s *Service) descriptor(j *Job) jobDescriptor {
	op := j.Operation
	rep := j.Report
	d := jobDescriptor{
		JobID: j.ID, ConfirmationRequired: j.ConfirmationRequired, Description: j.Description,
		JobArn: j.ARN(s.region), Status: j.Status, Manifest: j.Manifest, Operation: &op, Priority: j.Priority,
		ProgressSummary: s.progress(j), StatusUpdateReason: j.StatusUpdateReason, FailureReasons: j.FailureReasons,
		Report: &rep, CreationTime: j.Created.UTC().Format(timeFormat), RoleArn: j.RoleARN,
		SuspendedCause: j.SuspendedCause, ManifestGenerator: j.Generator, GeneratedManifestDescriptor: j.Generated,
	}
	if !j.TerminationDate.IsZero() {
		d.TerminationDate = j.TerminationDate.UTC().Format(timeFormat)
	}
	if !j.SuspendedDate.IsZero() {
		d.SuspendedDate = j.SuspendedDate.UTC().Format(timeFormat)
	}
	return d
}

// defaultListJobs is ListJobs' page size when maxResults is absent.
const defaultListJobs = 1000

func (s *Service) listJobs(rq *s3control.Request) error {
	var statuses []string
	for _, st := range rq.Query["jobStatuses"] {
		if !validStatus(st) {
			return errorf(CodeInvalidRequest, "Value '%s' at 'jobStatuses' failed to satisfy constraint: Member must satisfy enum value set: %v", st, allStatuses)
		}
		statuses = append(statuses, st)
	}
	limit := defaultListJobs
	if v := rq.Query.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return errorf(CodeInvalidRequest, "Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and 1000", v)
		}
		if n > 0 {
			limit = n
		}
	}
	var after *listCursor
	if tok := rq.Query.Get("nextToken"); tok != "" {
		c, err := parseCursor(tok)
		if err != nil {
			return errorf(CodeInvalidNextToken, "The continuation token provided is invalid.")
		}
		after = c
	}
	jobs, err := s.allJobs(rq.Context())
	if err != nil {
		return err
	}
	// Newest first.
	sort.Slice(jobs, func(a, b int) bool { return listCursorOf(jobs[a]).before(listCursorOf(jobs[b])) })
	res := &listJobsResult{Xmlns: s3control.Namespace, Jobs: []jobListDescriptor{}}
	var last *Job
	for _, j := range jobs {
		if after != nil && !after.before(listCursorOf(j)) {
			continue
		}
		if len(statuses) > 0 && !contains(statuses, string(j.Status)) {
			continue
		}
		if len(res.Jobs) == limit {
			res.NextToken = listCursorOf(last).String()
			break
		}
		d := jobListDescriptor{
			JobID: j.ID, Description: j.Description, Operation: j.Operation.name(), Priority: j.Priority,
			Status: j.Status, CreationTime: j.Created.UTC().Format(timeFormat), ProgressSummary: s.progress(j),
		}
		if !j.TerminationDate.IsZero() {
			d.TerminationDate = j.TerminationDate.UTC().Format(timeFormat)
		}
		res.Jobs = append(res.Jobs, d)
		last = j
	}
	return rq.WriteXML(http.StatusOK, res)
}

// listCursor is a position in ListJobs' order (newest first).
type listCursor struct {
	created int64
	id      string
}

func listCursorOf(j *Job) listCursor { return listCursor{created: j.Created.UnixNano(), id: j.ID} }

// before reports whether c comes before o in the listing.
func (c listCursor) before(o listCursor) bool {
	if c.created != o.created {
		return c.created > o.created
	}
	return c.id < o.id
}

func (c listCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.created, 10) + "/" + c.id))
}

func parseCursor(tok string) (*listCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, err
	}
	ts, id, ok := strings.Cut(string(raw), "/")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, errors.New("bad token")
	}
	return &listCursor{created: n, id: id}, nil
}

func (s *Service) updateJobPriority(rq *s3control.Request) error {
	v := rq.Query.Get("priority")
	p, err := strconv.ParseInt(v, 10, 64)
	if err != nil || p < 0 || p > 2147483647 {
		return badRequest("Value '%s' at 'priority' failed to satisfy constraint: Member must have value between 0 and 2147483647", v)
	}
	j, err := s.updateJob(rq.Context(), rq.Param("id"), func(j *Job) error {
		j.Priority = p
		return nil
	})
	if err != nil {
		return err
	}
	s.Kick()
	return rq.WriteXML(http.StatusOK, &updateJobPriorityResult{Xmlns: s3control.Namespace, JobID: j.ID, Priority: j.Priority})
}

func (s *Service) updateJobStatus(rq *s3control.Request) error {
	want := Status(rq.Query.Get("requestedJobStatus"))
	reason := rq.Query.Get("statusUpdateReason")
	if want != StatusReady && want != StatusCancelled {
		return badRequest("Value '%s' at 'requestedJobStatus' failed to satisfy constraint: Member must satisfy enum value set: [Cancelled, Ready]", want)
	}
	if len(reason) > 256 {
		return badRequest("Value at 'statusUpdateReason' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	j, err := s.updateJob(rq.Context(), rq.Param("id"), func(j *Job) error {
		now := s.now().UTC()
		switch want {
		case StatusReady:
			if j.Status != StatusSuspended {
				return errorf(CodeJobStatus, "Job %s is %s; only a Suspended job can be confirmed (requestedJobStatus Ready).", j.ID, j.Status)
			}
			j.Confirmed = true
			j.SuspendedCause = ""
			j.setStatus(StatusReady, now)
		case StatusCancelled:
			switch {
			case j.Status.Terminal():
				return errorf(CodeJobStatus, "Job %s is %s already; it cannot be cancelled.", j.ID, j.Status)
			case j.Status == StatusCancelling:
				return errUnchanged
			case (j.Status == StatusNew || j.Status == StatusSuspended || j.Status == StatusReady || j.Status == StatusPaused) &&
				j.Progress.Succeeded+j.Progress.Failed == 0:
				j.setStatus(StatusCancelled, now)
			default:
				j.setStatus(StatusCancelling, now)
			}
		}
		if reason != "" {
			j.StatusUpdateReason = reason
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Kick()
	return rq.WriteXML(http.StatusOK, &updateJobStatusResult{Xmlns: s3control.Namespace, JobID: j.ID, Status: j.Status, StatusUpdateReason: j.StatusUpdateReason})
}

func (s *Service) getJobTagging(rq *s3control.Request) error {
	j, err := s.job(rq.Context(), rq.Param("id"))
	if err != nil {
		return err
	}
	out := &jobTagging{Xmlns: s3control.Namespace, Tags: j.Tags}
	out.XMLName.Local = "GetJobTaggingResult"
	if out.Tags == nil {
		out.Tags = []Tag{}
	}
	return rq.WriteXML(http.StatusOK, out)
}

func (s *Service) putJobTagging(rq *s3control.Request) error {
	var req jobTagging
	if err := rq.ReadXML(&req); err != nil {
		return err
	}
	if err := validateJobTags(req.Tags); err != nil {
		return err
	}
	_, err := s.updateJob(rq.Context(), rq.Param("id"), func(j *Job) error {
		j.Tags = req.Tags
		return nil
	})
	if err != nil {
		return err
	}
	return rq.NoContent(http.StatusOK)
}

func (s *Service) deleteJobTagging(rq *s3control.Request) error {
	_, err := s.updateJob(rq.Context(), rq.Param("id"), func(j *Job) error {
		j.Tags = nil
		return nil
	})
	if err != nil {
		return err
	}
	return rq.NoContent(http.StatusNoContent)
}

func validateJobTags(tags []Tag) error {
	if len(tags) > maxJobTags {
		return errorf(CodeTooManyTags, "A job can have at most %d tags; %d were given.", maxJobTags, len(tags))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return badRequest("Tag keys must be 1 to 128 characters and values at most 256 characters.")
		}
		if seen[t.Key] {
			return badRequest("Duplicate tag key %q.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}
