package batch

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/objstore"
)

// prepare is the Preparing phase: it fixes the manifest the job reads
// (checking its ETag), counts its tasks in one streaming pass (rejecting
// a malformed manifest before any task runs), or generates the manifest,
// and then moves the job to Suspended or Ready.
func (s *Service) prepare(ctx context.Context, w *worker, j *Job) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()

	// The scheduler decided from a snapshot: prepare only a job the
	// store says is Preparing.
	j, err := s.job(ctx, j.ID)
	if err != nil || j.Status != StatusPreparing {
		return
	}
	src, total, gen, err := s.prepareSource(ctx, j)
	if w.stopped() != stopNone {
		return // cancelled (the scheduler finishes the job) or shutting down (it is prepared again)
	}
	if err == nil {
		err = s.checkFunction(ctx, j)
	}
	if err != nil {
		code, reason := failureOf(err)
		if code == "InternalError" {
			s.log.Error("batch: preparing job", "job", j.ID, "err", err)
		}
		s.transition(ctx, j.ID, StatusFailing, func(j *Job) { j.fail(code, reason) }, StatusPreparing)
		return
	}
	next := StatusReady
	if j.ConfirmationRequired && !j.Confirmed {
		next = StatusSuspended
	}
	_, err = s.transition(ctx, j.ID, next, func(j *Job) {
		j.Source, j.Total, j.Generated = src, total, gen
		j.Progress = Checkpoint{}
		if next == StatusSuspended {
			j.SuspendedCause = "The job was created with ConfirmationRequired: confirm it with UpdateJobStatus (requestedJobStatus Ready) to run it."
		}
	}, StatusPreparing)
	if err != nil {
		s.log.Error("batch: recording a prepared job", "job", j.ID, "err", err)
	}
}

// failureOf turns an error that ends a job into its failure code and
// reason.
func failureOf(err error) (string, string) {
	var me *manifestError
	if errors.As(err, &me) {
		return me.code, me.reason
	}
	return "InternalError", "sluice could not run the job: " + err.Error()
}

// prepareSource fixes the job's manifest and counts its tasks.
func (s *Service) prepareSource(ctx context.Context, j *Job) (*Source, int64, *generatedManifest, error) {
	if j.Generator != nil {
		return s.generate(ctx, j)
	}
	m := j.Manifest
	bucket, key, _ := objectFromARN(m.Location.ObjectArn)
	obj, err := s.objects.HeadObject(ctx, &objstore.GetInput{Bucket: bucket, Key: key, VersionID: m.Location.ObjectVersionID})
	var oe *objstore.Error
	if errors.As(err, &oe) {
		return nil, 0, nil, manifestErrorf(failManifestRead, "Reading the manifest failed: %s", oe.Code)
	}
	if err != nil {
		return nil, 0, nil, err
	}
	if unquote(obj.Version.ETag) != unquote(m.Location.ETag) {
		return nil, 0, nil, manifestErrorf(failManifestETag, "The ETag of the manifest object (%s) does not match the ETag of the job's manifest location (%s).",
			unquote(obj.Version.ETag), unquote(m.Location.ETag))
	}
	ref := objectRef{Bucket: bucket, Key: key, VersionID: obj.Version.VersionID}
	var src *Source
	switch m.Spec.Format {
	case FormatCSV:
		src = &Source{Format: FormatCSV, Bucket: bucket, Key: key, VersionID: ref.VersionID, ETag: obj.Version.ETag, Fields: m.Spec.Fields}
	case FormatInventory:
		if src, err = s.readInventory(ctx, ref, obj.Version.ETag); err != nil {
			return nil, 0, nil, err
		}
	default:
		return nil, 0, nil, fmt.Errorf("batch: manifest format %q", m.Spec.Format)
	}
	total, err := s.countTasks(ctx, src, s.jobDir(j.ID))
	if err != nil {
		return nil, 0, nil, err
	}
	return src, total, nil, nil
}

// countTasks reads a whole manifest once, validating every row.
func (s *Service) countTasks(ctx context.Context, src *Source, dir string) (int64, error) {
	r, err := s.openTasks(ctx, src, dir, Position{})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		_, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n++
	}
}

// checkFunction makes sure a LambdaInvoke job's function exists before
// any task runs.
func (s *Service) checkFunction(ctx context.Context, j *Job) error {
	op := j.Operation.LambdaInvoke
	if op == nil {
		return nil
	}
	if s.functions == nil {
		return manifestErrorf(failFunction, "This sluice server runs no functions.")
	}
	_, err := s.functions.Resolve(ctx, op.FunctionArn, "")
	var le *lambda.Error
	if errors.As(err, &le) {
		return manifestErrorf(failFunction, "The job's function %s cannot be invoked: %s: %s", op.FunctionArn, le.Code, le.Message)
	}
	return err
}
