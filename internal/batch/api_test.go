package batch_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/server"
)

// wantAPIError checks an SDK error's code and HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("err = %v, want status %d", err, status)
	}
}

func tagOp() *types.JobOperation {
	return &types.JobOperation{S3PutObjectTagging: &types.S3SetObjectTaggingOperation{
		TagSet: []types.S3Tag{{Key: aws.String("a"), Value: aws.String("b")}},
	}}
}

func TestCreateJobValidation(t *testing.T) {
	e := newEnv(t)
	e.bucket("man")
	man := e.manifest("man", "m.csv", bucketKey, "man,k")
	base := func() *s3control.CreateJobInput {
		return &s3control.CreateJobInput{
			AccountId: aws.String(account), Manifest: man, Operation: tagOp(), Priority: aws.Int32(1),
			RoleArn: aws.String(role), Report: &types.JobReport{Enabled: false}, ConfirmationRequired: aws.Bool(false),
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*s3control.CreateJobInput)
		want string
	}{
		{"unsupported operation", func(in *s3control.CreateJobInput) {
			in.Operation = &types.JobOperation{S3ReplicateObject: &types.S3ReplicateObjectOperation{}}
		}, "sluice does not support the S3ReplicateObject operation"},
		{"acl operation", func(in *s3control.CreateJobInput) {
			in.Operation = &types.JobOperation{S3PutObjectAcl: &types.S3SetObjectAclOperation{}}
		}, "S3PutObjectAcl"},
		{"no operation", func(in *s3control.CreateJobInput) { in.Operation = &types.JobOperation{} }, "exactly one operation"},
		{"bad role", func(in *s3control.CreateJobInput) { in.RoleArn = aws.String("role") }, "RoleArn"},
		{"manifest and generator", func(in *s3control.CreateJobInput) {
			in.ManifestGenerator = &types.JobManifestGeneratorMemberS3JobManifestGenerator{Value: types.S3JobManifestGenerator{SourceBucket: aws.String("arn:aws:s3:::man")}}
		}, "Exactly one of Manifest and ManifestGenerator"},
		{"bad fields", func(in *s3control.CreateJobInput) {
			in.Manifest = &types.JobManifest{Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820,
				Fields: []types.JobManifestFieldName{types.JobManifestFieldNameKey}}, Location: man.Location}
		}, "Bucket and Key"},
		{"user arguments need 2.0", func(in *s3control.CreateJobInput) {
			in.Operation = &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String("f"), UserArguments: map[string]string{"a": "b"}}}
		}, "2.0"},
		{"copy grants", func(in *s3control.CreateJobInput) {
			in.Operation = &types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::man"),
				AccessControlGrants: []types.S3Grant{{Permission: types.S3PermissionRead}}}}
		}, "AccessControlGrants"},
		{"report without bucket", func(in *s3control.CreateJobInput) {
			in.Report = &types.JobReport{Enabled: true, Format: types.JobReportFormatReportCsv20180820}
		}, "Report Bucket"},
		{"replication filter", func(in *s3control.CreateJobInput) {
			in.Manifest = nil
			in.ManifestGenerator = &types.JobManifestGeneratorMemberS3JobManifestGenerator{Value: types.S3JobManifestGenerator{
				SourceBucket: aws.String("arn:aws:s3:::man"), Filter: &types.JobManifestGeneratorFilter{EligibleForReplication: aws.Bool(true)}}}
		}, "replicate"},
		{"checksum type", func(in *s3control.CreateJobInput) {
			in.Operation = &types.JobOperation{S3ComputeObjectChecksum: &types.S3ComputeObjectChecksumOperation{
				ChecksumAlgorithm: types.ComputeObjectChecksumAlgorithmCrc64nvme, ChecksumType: types.ComputeObjectChecksumTypeComposite}}
		}, "COMPOSITE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.edit(in)
			_, err := e.ctl.CreateJob(e.ctx, in)
			wantAPIError(t, err, "BadRequestException", http.StatusBadRequest)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q does not mention %q", err, tc.want)
			}
		})
	}
	t.Run("too many tags", func(t *testing.T) {
		in := base()
		for i := range 51 {
			in.Tags = append(in.Tags, types.S3Tag{Key: aws.String(strings.Repeat("k", i+1)), Value: aws.String("v")})
		}
		_, err := e.ctl.CreateJob(e.ctx, in)
		wantAPIError(t, err, "TooManyTagsException", http.StatusBadRequest)
	})
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Batch.MaxActiveJobs = 1 })
	e.bucket("man")
	man := e.manifest("man", "m.csv", bucketKey, "man,k")
	in := func(prio int32) *s3control.CreateJobInput {
		return &s3control.CreateJobInput{
			AccountId: aws.String(account), Manifest: man, Operation: tagOp(), Priority: aws.Int32(prio),
			RoleArn: aws.String(role), Report: &types.JobReport{Enabled: false}, ConfirmationRequired: aws.Bool(true),
			ClientRequestToken: aws.String("token-1"), Description: aws.String("same"),
		}
	}
	a, err := e.ctl.CreateJob(e.ctx, in(3))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.ctl.CreateJob(e.ctx, in(3))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(a.JobId) != aws.ToString(b.JobId) {
		t.Fatalf("same token and parameters made two jobs: %s, %s", aws.ToString(a.JobId), aws.ToString(b.JobId))
	}
	_, err = e.ctl.CreateJob(e.ctx, in(4))
	wantAPIError(t, err, "IdempotencyException", http.StatusConflict)
	list, err := e.ctl.ListJobs(e.ctx, &s3control.ListJobsInput{AccountId: aws.String(account)})
	if err != nil || len(list.Jobs) != 1 {
		t.Fatalf("ListJobs: %v, %d jobs", err, len(list.Jobs))
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	id := aws.String("00000000-0000-4000-8000-000000000000")
	acct := aws.String(account)
	calls := map[string]func() error{
		"DescribeJob": func() error {
			_, err := e.ctl.DescribeJob(e.ctx, &s3control.DescribeJobInput{AccountId: acct, JobId: id})
			return err
		},
		"UpdateJobPriority": func() error {
			_, err := e.ctl.UpdateJobPriority(e.ctx, &s3control.UpdateJobPriorityInput{AccountId: acct, JobId: id, Priority: 1})
			return err
		},
		"UpdateJobStatus": func() error {
			_, err := e.ctl.UpdateJobStatus(e.ctx, &s3control.UpdateJobStatusInput{AccountId: acct, JobId: id, RequestedJobStatus: types.RequestedJobStatusCancelled})
			return err
		},
		"GetJobTagging": func() error {
			_, err := e.ctl.GetJobTagging(e.ctx, &s3control.GetJobTaggingInput{AccountId: acct, JobId: id})
			return err
		},
		"PutJobTagging": func() error {
			_, err := e.ctl.PutJobTagging(e.ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: id, Tags: []types.S3Tag{}})
			return err
		},
		"DeleteJobTagging": func() error {
			_, err := e.ctl.DeleteJobTagging(e.ctx, &s3control.DeleteJobTaggingInput{AccountId: acct, JobId: id})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantAPIError(t, call(), "NotFoundException", http.StatusNotFound)
		})
	}
}

func TestJobTagging(t *testing.T) {
	e := newEnv(t)
	e.bucket("man")
	id := e.create(&s3control.CreateJobInput{
		Manifest: e.manifest("man", "m.csv", bucketKey, "man,k"), Operation: tagOp(), ConfirmationRequired: aws.Bool(true),
		Tags: []types.S3Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	acct := aws.String(account)
	get := func() []types.S3Tag {
		out, err := e.ctl.GetJobTagging(e.ctx, &s3control.GetJobTaggingInput{AccountId: acct, JobId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Tags
	}
	if tags := get(); len(tags) != 1 || aws.ToString(tags[0].Key) != "team" {
		t.Fatalf("tags %v", tags)
	}
	_, err := e.ctl.PutJobTagging(e.ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: aws.String(id),
		Tags: []types.S3Tag{{Key: aws.String("x"), Value: aws.String("1")}, {Key: aws.String("y"), Value: aws.String("2")}}})
	if err != nil {
		t.Fatal(err)
	}
	if tags := get(); len(tags) != 2 || aws.ToString(tags[1].Value) != "2" {
		t.Fatalf("tags %v", tags)
	}
	var many []types.S3Tag
	for i := range 51 {
		many = append(many, types.S3Tag{Key: aws.String(strings.Repeat("t", i+1)), Value: aws.String("")})
	}
	_, err = e.ctl.PutJobTagging(e.ctx, &s3control.PutJobTaggingInput{AccountId: acct, JobId: aws.String(id), Tags: many})
	wantAPIError(t, err, "TooManyTagsException", http.StatusBadRequest)
	if _, err := e.ctl.DeleteJobTagging(e.ctx, &s3control.DeleteJobTaggingInput{AccountId: acct, JobId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if tags := get(); len(tags) != 0 {
		t.Fatalf("tags after delete %v", tags)
	}
}

// TestConfirmationAndStatusUpdates walks a job through confirmation and
// checks every illegal UpdateJobStatus.
func TestConfirmationAndStatusUpdates(t *testing.T) {
	e := newEnv(t)
	e.bucket("man")
	e.put("man", "k", "x")
	man := e.manifest("man", "m.csv", bucketKey, "man,k")
	acct := aws.String(account)
	status := func(id string, to types.RequestedJobStatus, reason string) (*s3control.UpdateJobStatusOutput, error) {
		in := &s3control.UpdateJobStatusInput{AccountId: acct, JobId: aws.String(id), RequestedJobStatus: to}
		if reason != "" {
			in.StatusUpdateReason = aws.String(reason)
		}
		return e.ctl.UpdateJobStatus(e.ctx, in)
	}

	id := e.create(&s3control.CreateJobInput{Manifest: man, Operation: tagOp(), ConfirmationRequired: aws.Bool(true), Description: aws.String("confirm me")})
	j := e.wait(id, 10*time.Second, types.JobStatusSuspended)
	if j.SuspendedDate == nil || aws.ToString(j.SuspendedCause) == "" || !aws.ToBool(j.ConfirmationRequired) {
		t.Errorf("suspended job: date %v cause %q", j.SuspendedDate, aws.ToString(j.SuspendedCause))
	}
	if aws.ToInt64(j.ProgressSummary.TotalNumberOfTasks) != 1 {
		t.Errorf("TotalNumberOfTasks %v after Preparing", j.ProgressSummary.TotalNumberOfTasks)
	}
	out, err := status(id, types.RequestedJobStatusReady, "looks right")
	if err != nil || out.Status != types.JobStatusReady || aws.ToString(out.StatusUpdateReason) != "looks right" {
		t.Fatalf("confirm: %+v %v", out, err)
	}
	j = e.wait(id, 10*time.Second, types.JobStatusComplete)
	if j.TerminationDate == nil || aws.ToString(j.StatusUpdateReason) != "looks right" || j.ProgressSummary.Timers == nil {
		t.Errorf("complete job: %+v", j)
	}
	_, err = status(id, types.RequestedJobStatusReady, "")
	wantAPIError(t, err, "JobStatusException", http.StatusConflict)
	_, err = status(id, types.RequestedJobStatusCancelled, "")
	wantAPIError(t, err, "JobStatusException", http.StatusConflict)

	// Cancelling a job that awaits confirmation ends it at once.
	id2 := e.create(&s3control.CreateJobInput{Manifest: man, Operation: tagOp(), ConfirmationRequired: aws.Bool(true)})
	e.wait(id2, 10*time.Second, types.JobStatusSuspended)
	out, err = status(id2, types.RequestedJobStatusCancelled, "")
	if err != nil || out.Status != types.JobStatusCancelled {
		t.Fatalf("cancel suspended: %+v %v", out, err)
	}
	if j := e.describe(id2); j.Status != types.JobStatusCancelled || j.TerminationDate == nil {
		t.Errorf("cancelled job %s, terminated %v", j.Status, j.TerminationDate)
	}
	_, err = status(id2, types.RequestedJobStatusReady, "")
	wantAPIError(t, err, "JobStatusException", http.StatusConflict)

	// A requested status other than Ready and Cancelled is refused.
	_, err = e.ctl.UpdateJobStatus(e.ctx, &s3control.UpdateJobStatusInput{AccountId: acct, JobId: aws.String(id2), RequestedJobStatus: "Active"})
	wantAPIError(t, err, "BadRequestException", http.StatusBadRequest)
}

func TestListJobs(t *testing.T) {
	e := newEnv(t)
	e.bucket("man")
	man := e.manifest("man", "m.csv", bucketKey, "man,k")
	var ids []string
	for i := range 5 {
		ids = append(ids, e.create(&s3control.CreateJobInput{Manifest: man, Operation: tagOp(), ConfirmationRequired: aws.Bool(true),
			Description: aws.String("job " + string(rune('a'+i)))}))
		time.Sleep(2 * time.Millisecond)
	}
	for _, id := range ids {
		e.wait(id, 10*time.Second, types.JobStatusSuspended)
	}
	// Cancel one: it is listed under Cancelled only.
	if _, err := e.ctl.UpdateJobStatus(e.ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(account), JobId: aws.String(ids[0]),
		RequestedJobStatus: types.RequestedJobStatusCancelled}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	in := &s3control.ListJobsInput{AccountId: aws.String(account), MaxResults: aws.Int32(2), JobStatuses: []types.JobStatus{types.JobStatusSuspended}}
	pages := 0
	for {
		out, err := e.ctl.ListJobs(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range out.Jobs {
			seen = append(seen, aws.ToString(j.JobId))
			if j.Operation != types.OperationNameS3PutObjectTagging || j.Status != types.JobStatusSuspended || j.CreationTime == nil {
				t.Errorf("listed %+v", j)
			}
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	want := []string{ids[4], ids[3], ids[2], ids[1]} // newest first
	if strings.Join(seen, ",") != strings.Join(want, ",") || pages != 2 {
		t.Fatalf("listed %v in %d pages, want %v in 2", seen, pages, want)
	}
	_, err := e.ctl.ListJobs(e.ctx, &s3control.ListJobsInput{AccountId: aws.String(account), NextToken: aws.String("!!")})
	wantAPIError(t, err, "InvalidNextTokenException", http.StatusBadRequest)
	_, err = e.ctl.ListJobs(e.ctx, &s3control.ListJobsInput{AccountId: aws.String(account), JobStatuses: []types.JobStatus{"Sleeping"}})
	wantAPIError(t, err, "InvalidRequestException", http.StatusBadRequest)
}

func TestUpdateJobPriority(t *testing.T) {
	e := newEnv(t)
	e.bucket("man")
	id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("man", "m.csv", bucketKey, "man,k"), Operation: tagOp(), ConfirmationRequired: aws.Bool(true)})
	out, err := e.ctl.UpdateJobPriority(e.ctx, &s3control.UpdateJobPriorityInput{AccountId: aws.String(account), JobId: aws.String(id), Priority: 77})
	if err != nil || out.Priority != 77 || aws.ToString(out.JobId) != id {
		t.Fatalf("%+v %v", out, err)
	}
	if j := e.describe(id); j.Priority != 77 {
		t.Fatalf("priority %d", j.Priority)
	}
	_, err = e.ctl.UpdateJobPriority(e.ctx, &s3control.UpdateJobPriorityInput{AccountId: aws.String(account), JobId: aws.String(id), Priority: -1})
	wantAPIError(t, err, "BadRequestException", http.StatusBadRequest)
}

// TestDescribeJobEchoesSpecification checks that DescribeJob returns the
// job as created, whichever order the SDK wrote the elements in.
func TestDescribeJobEchoesSpecification(t *testing.T) {
	e := newEnv(t)
	e.bucket("man")
	e.bucket("tgt")
	man := e.manifest("man", "m.csv", []types.JobManifestFieldName{types.JobManifestFieldNameIgnore, types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey}, "x,man,k")
	op := &types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{
		TargetResource: aws.String("arn:aws:s3:::tgt"), TargetKeyPrefix: aws.String("copies/"),
		MetadataDirective: types.S3MetadataDirectiveReplace, StorageClass: types.S3StorageClassStandardIa,
		NewObjectMetadata: &types.S3ObjectMetadata{ContentType: aws.String("text/plain"), UserMetadata: map[string]string{"a": "1"}},
		NewObjectTagging:  []types.S3Tag{{Key: aws.String("t"), Value: aws.String("v")}},
	}}
	id := e.create(&s3control.CreateJobInput{Manifest: man, Operation: op, ConfirmationRequired: aws.Bool(true),
		Description: aws.String("echo"), Report: report("tgt", "pre")})
	j := e.describe(id)
	c := j.Operation.S3PutObjectCopy
	if c == nil || aws.ToString(c.TargetKeyPrefix) != "copies/" || c.StorageClass != types.S3StorageClassStandardIa ||
		c.NewObjectMetadata.UserMetadata["a"] != "1" || len(c.NewObjectTagging) != 1 || c.MetadataDirective != types.S3MetadataDirectiveReplace {
		t.Errorf("operation %+v", c)
	}
	if len(j.Manifest.Spec.Fields) != 3 || aws.ToString(j.Manifest.Location.ETag) != aws.ToString(man.Location.ETag) {
		t.Errorf("manifest %+v", j.Manifest)
	}
	if aws.ToString(j.Report.Prefix) != "pre" || !j.Report.Enabled || aws.ToString(j.RoleArn) != role ||
		aws.ToString(j.JobArn) != "arn:aws:s3:us-east-1:"+account+":job/"+id || aws.ToString(j.Description) != "echo" {
		t.Errorf("job %+v", j)
	}
}
