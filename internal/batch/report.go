package batch

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/objstore"
)

// Report constants.
const (
	ReportFormat = "Report_CSV_20180820"
	// reportSchema is the schema AWS's manifest.json names; the rows
	// themselves put HTTPStatusCode before ErrorCode, as every AWS
	// example does (docs/design.md).
	reportSchema = "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
	// maxReportRows starts a new CSV file after this many rows.
	maxReportRows = 1_000_000
)

// finish is the last phase of a job in Completing, Failing or Cancelling:
// it writes the completion report (when one was asked for and some task
// ran) and moves the job to Complete, Failed or Cancelled. A report that
// cannot be written is recorded as a failure reason; the job still ends.
func (s *Service) finish(ctx context.Context, w *worker, j *Job) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stopCh:
			if w.stopped() == stopShutdown {
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	j, err := s.job(ctx, j.ID)
	if err != nil || !j.Status.ending() {
		return
	}
	var reportErr error
	if j.Report.Enabled && j.Progress.Succeeded+j.Progress.Failed > 0 {
		reportErr = s.writeReport(ctx, j)
		if reportErr != nil && ctx.Err() != nil {
			return // shutting down: the report is written after the restart
		}
		if reportErr != nil {
			s.log.Warn("batch: writing a completion report", "job", j.ID, "err", reportErr)
		}
	}
	_, err = s.transition(context.Background(), j.ID, j.Status.final(), func(j *Job) {
		if reportErr != nil {
			code, reason := failureOf(reportErr)
			if code == "InternalError" {
				code = failReport
			}
			j.fail(code, "The completion report could not be written: "+reason)
		}
	}, j.Status)
	if err != nil {
		s.log.Error("batch: ending job", "job", j.ID, "err", err)
		return
	}
	// The outcome log and a generated manifest have served their
	// purpose: the report (if any) is written.
	if j, err := s.job(context.Background(), j.ID); err == nil && j.Status.Terminal() {
		s.removeJobDir(j.ID)
	}
}

// reportFile is one CSV file of a report being written.
type reportFile struct {
	status string // succeeded or failed
	part   int
	path   string
	f      *os.File
	bw     *bufio.Writer
	md5    hash.Hash
	csv    *csv.Writer
	rows   int
}

// reportManifest is a report's manifest.json, its members in the order
// of AWS's example.
type reportManifest struct {
	Format             string        `json:"Format"`
	ReportCreationDate string        `json:"ReportCreationDate"`
	Results            []reportEntry `json:"Results"`
	ReportSchema       string        `json:"ReportSchema"`
}

// reportEntry is one element of a report manifest's Results.
type reportEntry struct {
	TaskExecutionStatus string `json:"TaskExecutionStatus"`
	Bucket              string `json:"Bucket"`
	MD5Checksum         string `json:"MD5Checksum"`
	Key                 string `json:"Key"`
}

// writeReport writes the report of job j: its CSV files under
// <prefix>/job-<id>/results/ and <prefix>/job-<id>/manifest.json. The
// names are derived from the job, so a report written again after a
// crash replaces the first attempt's objects.
func (s *Service) writeReport(ctx context.Context, j *Job) error {
	bucket, _ := bucketFromARN(j.Report.Bucket)
	base := "job-" + j.ID
	if p := strings.TrimSuffix(j.Report.Prefix, "/"); p != "" {
		base = p + "/" + base
	}
	dir := filepath.Join(s.jobDir(j.ID), "report")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	failedOnly := j.Report.ReportScope == "FailedTasksOnly"
	var (
		files   []*reportFile
		current = map[string]*reportFile{}
		row     [7]string
	)
	open := func(status string) (*reportFile, error) {
		rf := current[status]
		if rf != nil && rf.rows < maxReportRows {
			return rf, nil
		}
		part := 0
		if rf != nil {
			part = rf.part + 1
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.csv", status, part))
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		rf = &reportFile{status: status, part: part, path: path, f: f, md5: md5.New()}
		rf.bw = bufio.NewWriterSize(io.MultiWriter(f, rf.md5), 256<<10)
		rf.csv = csv.NewWriter(rf.bw)
		current[status] = rf
		files = append(files, rf)
		return rf, nil
	}
	defer func() {
		for _, rf := range files {
			rf.f.Close()
		}
	}()
	err := scanOutcomes(s.jobDir(j.ID), 0, j.Progress.LogSize, func(_ int64, o *outcome) error {
		status := "succeeded"
		if o.Failed {
			status = "failed"
		} else if failedOnly {
			return nil
		}
		rf, err := open(status)
		if err != nil {
			return err
		}
		row = [7]string{o.Bucket, o.Key, o.VersionID, status, strconv.Itoa(o.HTTPStatus), o.ErrorCode, o.Message}
		rf.rows++
		return rf.csv.Write(row[:])
	})
	if err != nil {
		return err
	}
	var results []reportEntry
	for _, rf := range files {
		rf.csv.Flush()
		if err := rf.csv.Error(); err != nil {
			return err
		}
		if err := rf.bw.Flush(); err != nil {
			return err
		}
		size, err := rf.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		if _, err := rf.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		name := sha1.Sum([]byte(j.ID + "/" + rf.status + "/" + strconv.Itoa(rf.part)))
		key := base + "/results/" + hex.EncodeToString(name[:]) + ".csv"
		_, err = s.objects.PutObject(ctx, &objstore.PutInput{
			Bucket: bucket, Key: key, Owner: s.owner, Body: rf.f, Size: size,
			Meta: objstore.ObjectMeta{ContentType: "text/csv"}, Encryption: reportEncryption(), Origin: s.origin(j.ID),
		})
		if err != nil {
			return reportError(err, bucket)
		}
		results = append(results, reportEntry{TaskExecutionStatus: rf.status, Bucket: bucket, MD5Checksum: hex.EncodeToString(rf.md5.Sum(nil)), Key: key})
	}
	if results == nil {
		results = []reportEntry{}
	}
	raw, err := json.MarshalIndent(reportManifest{
		Format:             ReportFormat,
		ReportCreationDate: s.now().UTC().Format(timeFormat),
		Results:            results,
		ReportSchema:       reportSchema,
	}, "", "    ")
	if err != nil {
		return err
	}
	if _, err := s.putSmall(ctx, j.ID, bucket, base+"/manifest.json", "application/json", raw, reportEncryption()); err != nil {
		return reportError(err, bucket)
	}
	return nil
}

// reportEncryption is how reports are stored: AWS encrypts every
// completion report with SSE-S3.
func reportEncryption() objstore.Encryption { return objstore.Encryption{Method: objstore.SSES3} }

func reportError(err error, bucket string) error {
	var oe *objstore.Error
	if errors.As(err, &oe) {
		return manifestErrorf(failReport, "%s: %s (report bucket %s)", oe.Code, oe.Message, bucket)
	}
	return err
}

// timeFormat is how the API and reports write times: ISO 8601 with
// milliseconds, as AWS does.
const timeFormat = "2006-01-02T15:04:05.000Z"
