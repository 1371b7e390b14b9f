package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/sluicehq/sluice/internal/server"
)

const jobUsage = `Usage:
  sluice job create --manifest s3://BUCKET/KEY | --generate s3://BUCKET  OPERATION  [flags]
                         create a Batch Operations job and print its ID; OPERATION is one of
                           --invoke FUNCTION [--schema 1.0|2.0] [--arg K=V ...]
                           --copy-to BUCKET [--copy-prefix P] [--storage-class C]
                           --tag K=V ...          (S3PutObjectTagging)
                           --untag                (S3DeleteObjectTagging)
                           --checksum ALGORITHM [--checksum-type FULL_OBJECT|COMPOSITE]
  sluice job describe ID [--json]
                         print a job's status, progress and failure reasons
  sluice job ls [--status S ...]
                         list jobs, newest first
  sluice job cancel ID   cancel a job
  sluice job confirm ID  run a job that awaits confirmation (Suspended)
  sluice job watch ID    follow a job's progress until it ends

The commands call the S3 Control API of a running server: AWS_ENDPOINT_URL
(or AWS_ENDPOINT_URL_S3_CONTROL), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY as
"sluice server" prints them (or --endpoint; without keys in the environment, the
credentials.json of --data). Run "sluice job create -h" for every flag.
`

func runJob(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, jobUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "create":
		return jobCreate(ctx, args[1:], e)
	case "describe":
		return jobDescribe(ctx, args[1:], e)
	case "ls", "list":
		return jobList(ctx, args[1:], e)
	case "cancel":
		return jobSetStatus(ctx, args[1:], e, types.RequestedJobStatusCancelled)
	case "confirm":
		return jobSetStatus(ctx, args[1:], e, types.RequestedJobStatusReady)
	case "watch":
		return jobWatch(ctx, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, jobUsage)
		return nil
	}
	fmt.Fprint(e.stderr, jobUsage)
	return fmt.Errorf("unknown job command %q", args[0])
}

// controlFlags are the flags of commands that call a server's S3 Control
// API.
type controlFlags struct {
	endpoint string
	data     string
	account  string
}

func (c *controlFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.endpoint, "endpoint", "", "server `URL` (default $AWS_ENDPOINT_URL_S3_CONTROL, $AWS_ENDPOINT_URL, http://127.0.0.1:9000)")
	fs.StringVar(&c.data, "data", "./sluice-data", "server data directory, for its credentials when the environment has none")
	fs.StringVar(&c.account, "account-id", firstOf(getenv("AWS_ACCOUNT_ID"), "000000000000"), "the server's account ID (default $AWS_ACCOUNT_ID or 000000000000)")
}

// awsConfig returns the SDK configuration for the server: endpoint,
// credentials (environment, else the server's credentials.json), an HTTP
// client of its own (so AWS_CA_BUNDLE does not apply), no retries.
func (c *controlFlags) awsConfig(getenv func(string) string, service string) (aws.Config, error) {
	endpoint := firstOf(c.endpoint, getenv("AWS_ENDPOINT_URL_"+service), getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:9000")
	key, secret, token := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
	if key == "" || secret == "" {
		raw, err := os.ReadFile(server.CredentialsPath(c.data))
		if err != nil {
			return aws.Config{}, fmt.Errorf("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (as sluice server prints them), or point --data at the server's data directory (%v)", err)
		}
		var cr server.Credentials
		if err := json.Unmarshal(raw, &cr); err != nil {
			return aws.Config{}, fmt.Errorf("%s: %v", server.CredentialsPath(c.data), err)
		}
		key, secret, token = cr.AccessKeyID, cr.SecretAccessKey, ""
	}
	return aws.Config{
		Region:           firstOf(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, token),
		BaseEndpoint:     aws.String(endpoint),
		HTTPClient:       &http.Client{Timeout: time.Minute},
		RetryMaxAttempts: 1,
	}, nil
}

// fixedEndpoint resolves every S3 Control request to the configured
// endpoint as is: the SDK would put the account ID in front of its host
// (123456789012.127.0.0.1), which needs wildcard DNS.
type fixedEndpoint struct{ u url.URL }

func (f fixedEndpoint) ResolveEndpoint(context.Context, s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.u}, nil
}

func (c *controlFlags) client(getenv func(string) string) (*s3control.Client, error) {
	cfg, err := c.awsConfig(getenv, "S3_CONTROL")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(aws.ToString(cfg.BaseEndpoint))
	if err != nil {
		return nil, fmt.Errorf("endpoint: %v", err)
	}
	return s3control.NewFromConfig(cfg, func(o *s3control.Options) { o.EndpointResolverV2 = fixedEndpoint{*u} }), nil
}

func (c *controlFlags) s3(getenv func(string) string) (*s3.Client, error) {
	cfg, err := c.awsConfig(getenv, "S3")
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), nil
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func jobCreate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sluice job create", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var cf controlFlags
	cf.register(fs, e.getenv)
	manifest := fs.String("manifest", "", "CSV manifest `s3://bucket/key` (its ETag is read from the server)")
	fields := fs.String("fields", "Bucket,Key", "the manifest's columns: Bucket, Key, VersionId, Ignore")
	inventory := fs.Bool("inventory", false, "the manifest is an S3 Inventory manifest.json")
	generate := fs.String("generate", "", "generate the manifest from the objects of `s3://bucket`")
	matchPrefix := fs.String("match-prefix", "", "with --generate: only keys with this prefix")
	matchSuffix := fs.String("match-suffix", "", "with --generate: only keys with this suffix")
	invoke := fs.String("invoke", "", "LambdaInvoke: the function `name or ARN` (qualified or not)")
	schema := fs.String("schema", "2.0", "LambdaInvoke: InvocationSchemaVersion (1.0 or 2.0)")
	fnArgs := envFlag{}
	fs.Var(fnArgs, "arg", "LambdaInvoke: a user argument `K=V` (repeatable; schema 2.0)")
	copyTo := fs.String("copy-to", "", "S3PutObjectCopy: the target `bucket`")
	copyPrefix := fs.String("copy-prefix", "", "S3PutObjectCopy: TargetKeyPrefix")
	storageClass := fs.String("storage-class", "", "S3PutObjectCopy: StorageClass")
	tags := envFlag{}
	fs.Var(tags, "tag", "S3PutObjectTagging: a tag `K=V` (repeatable)")
	untag := fs.Bool("untag", false, "S3DeleteObjectTagging")
	algorithm := fs.String("checksum", "", "S3ComputeObjectChecksum: the `algorithm` (CRC32, CRC32C, CRC64NVME, SHA1, SHA256, MD5, ...)")
	checksumType := fs.String("checksum-type", "FULL_OBJECT", "S3ComputeObjectChecksum: FULL_OBJECT or COMPOSITE")
	reportTo := fs.String("report", "", "write the completion report to `s3://bucket/prefix`")
	failedOnly := fs.Bool("failed-only", false, "report failed tasks only")
	priority := fs.Int("priority", 10, "job priority (higher runs first)")
	confirm := fs.Bool("confirmation-required", false, "create the job Suspended; run it with sluice job confirm")
	description := fs.String("description", "", "job description")
	roleARN := fs.String("role", "", "RoleArn (default arn:aws:iam::<account>:role/sluice-batch)")
	token := fs.String("token", "", "ClientRequestToken (default: a new one)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	in := &s3control.CreateJobInput{
		AccountId: aws.String(cf.account), Priority: aws.Int32(int32(*priority)), ConfirmationRequired: aws.Bool(*confirm),
		RoleArn: aws.String(firstOf(*roleARN, "arn:aws:iam::"+cf.account+":role/sluice-batch")),
		Report:  &types.JobReport{Enabled: false},
	}
	if *description != "" {
		in.Description = description
	}
	if *token != "" {
		in.ClientRequestToken = token
	}
	ops := 0
	for _, set := range []bool{*invoke != "", *copyTo != "", len(tags) > 0, *untag, *algorithm != ""} {
		if set {
			ops++
		}
	}
	if ops != 1 {
		return errors.New("job create: give exactly one operation: --invoke, --copy-to, --tag, --untag or --checksum")
	}
	in.Operation = &types.JobOperation{}
	switch {
	case *invoke != "":
		op := &types.LambdaInvokeOperation{FunctionArn: invoke, InvocationSchemaVersion: schema}
		if len(fnArgs) > 0 {
			op.UserArguments = fnArgs
		}
		in.Operation.LambdaInvoke = op
	case *copyTo != "":
		op := &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::" + strings.TrimPrefix(*copyTo, "s3://"))}
		if *copyPrefix != "" {
			op.TargetKeyPrefix = copyPrefix
		}
		op.StorageClass = types.S3StorageClass(*storageClass)
		in.Operation.S3PutObjectCopy = op
	case len(tags) > 0:
		op := &types.S3SetObjectTaggingOperation{}
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			op.TagSet = append(op.TagSet, types.S3Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		in.Operation.S3PutObjectTagging = op
	case *untag:
		in.Operation.S3DeleteObjectTagging = &types.S3DeleteObjectTaggingOperation{}
	default:
		in.Operation.S3ComputeObjectChecksum = &types.S3ComputeObjectChecksumOperation{
			ChecksumAlgorithm: types.ComputeObjectChecksumAlgorithm(*algorithm),
			ChecksumType:      types.ComputeObjectChecksumType(*checksumType),
		}
	}
	if *reportTo != "" {
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(*reportTo, "s3://"), "/")
		in.Report = &types.JobReport{
			Enabled: true, Bucket: aws.String("arn:aws:s3:::" + bucket),
			Format: types.JobReportFormatReportCsv20180820, ReportScope: types.JobReportScopeAllTasks,
		}
		if prefix != "" {
			in.Report.Prefix = aws.String(strings.TrimSuffix(prefix, "/"))
		}
		if *failedOnly {
			in.Report.ReportScope = types.JobReportScopeFailedTasksOnly
		}
	}
	switch {
	case (*manifest == "") == (*generate == ""):
		return errors.New("job create: give --manifest or --generate")
	case *manifest != "":
		bucket, key, ok := strings.Cut(strings.TrimPrefix(*manifest, "s3://"), "/")
		if !ok || key == "" {
			return fmt.Errorf("job create: --manifest %q: want s3://bucket/key", *manifest)
		}
		sc, err := cf.s3(e.getenv)
		if err != nil {
			return err
		}
		head, err := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return fmt.Errorf("job create: reading the manifest's ETag: %w", err)
		}
		spec := &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820}
		if *inventory {
			spec.Format = types.JobManifestFormatS3InventoryReportCsv20161130
		} else {
			for f := range strings.SplitSeq(*fields, ",") {
				spec.Fields = append(spec.Fields, types.JobManifestFieldName(strings.TrimSpace(f)))
			}
		}
		in.Manifest = &types.JobManifest{Spec: spec, Location: &types.JobManifestLocation{
			ObjectArn: aws.String("arn:aws:s3:::" + bucket + "/" + key), ETag: aws.String(strings.Trim(aws.ToString(head.ETag), `"`)),
		}}
	default:
		g := &types.S3JobManifestGenerator{
			SourceBucket:         aws.String("arn:aws:s3:::" + strings.Trim(strings.TrimPrefix(*generate, "s3://"), "/")),
			EnableManifestOutput: false,
		}
		if *matchPrefix != "" || *matchSuffix != "" {
			k := &types.KeyNameConstraint{}
			if *matchPrefix != "" {
				k.MatchAnyPrefix = []string{*matchPrefix}
			}
			if *matchSuffix != "" {
				k.MatchAnySuffix = []string{*matchSuffix}
			}
			g.Filter = &types.JobManifestGeneratorFilter{KeyNameConstraint: k}
		}
		in.ManifestGenerator = &types.JobManifestGeneratorMemberS3JobManifestGenerator{Value: *g}
	}
	c, err := cf.client(e.getenv)
	if err != nil {
		return err
	}
	out, err := c.CreateJob(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, aws.ToString(out.JobId))
	return nil
}

// oneJob parses the flags and the single job ID of describe, cancel,
// confirm and watch.
func oneJob(name string, args []string, e env, extra func(*flag.FlagSet)) (*controlFlags, string, error) {
	fs := flag.NewFlagSet("sluice job "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cf := &controlFlags{}
	cf.register(fs, e.getenv)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, "", err
	}
	if len(pos) != 1 {
		return nil, "", fmt.Errorf("job %s: want exactly one job ID", name)
	}
	return cf, pos[0], nil
}

func jobDescribe(ctx context.Context, args []string, e env) error {
	var asJSON bool
	cf, id, err := oneJob("describe", args, e, func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print the whole JobDescriptor as JSON") })
	if err != nil {
		return err
	}
	c, err := cf.client(e.getenv)
	if err != nil {
		return err
	}
	out, err := c.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(cf.account), JobId: aws.String(id)})
	if err != nil {
		return err
	}
	j := out.Job
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(j)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Job\t%s\n", aws.ToString(j.JobId))
	fmt.Fprintf(w, "Status\t%s\n", j.Status)
	if d := aws.ToString(j.Description); d != "" {
		fmt.Fprintf(w, "Description\t%s\n", d)
	}
	fmt.Fprintf(w, "Operation\t%s\n", operationName(j.Operation))
	fmt.Fprintf(w, "Priority\t%d\n", j.Priority)
	if p := j.ProgressSummary; p != nil {
		total := "?"
		if p.TotalNumberOfTasks != nil {
			total = fmt.Sprint(*p.TotalNumberOfTasks)
		}
		fmt.Fprintf(w, "Tasks\t%s total, %d succeeded, %d failed\n", total, aws.ToInt64(p.NumberOfTasksSucceeded), aws.ToInt64(p.NumberOfTasksFailed))
		if p.Timers != nil {
			fmt.Fprintf(w, "Active for\t%ds\n", aws.ToInt64(p.Timers.ElapsedTimeInActiveSeconds))
		}
	}
	if j.CreationTime != nil {
		fmt.Fprintf(w, "Created\t%s\n", j.CreationTime.Format(time.RFC3339))
	}
	if j.TerminationDate != nil {
		fmt.Fprintf(w, "Ended\t%s\n", j.TerminationDate.Format(time.RFC3339))
	}
	if r := aws.ToString(j.StatusUpdateReason); r != "" {
		fmt.Fprintf(w, "Status reason\t%s\n", r)
	}
	if c := aws.ToString(j.SuspendedCause); c != "" {
		fmt.Fprintf(w, "Suspended\t%s\n", c)
	}
	for _, f := range j.FailureReasons {
		fmt.Fprintf(w, "Failure\t%s: %s\n", aws.ToString(f.FailureCode), aws.ToString(f.FailureReason))
	}
	if r := j.Report; r != nil && r.Enabled {
		fmt.Fprintf(w, "Report\t%s/%s (%s)\n", aws.ToString(r.Bucket), aws.ToString(r.Prefix), r.ReportScope)
	}
	return w.Flush()
}

func operationName(op *types.JobOperation) string {
	switch {
	case op == nil:
		return "?"
	case op.LambdaInvoke != nil:
		return "LambdaInvoke " + aws.ToString(op.LambdaInvoke.FunctionArn)
	case op.S3PutObjectCopy != nil:
		return "S3PutObjectCopy to " + aws.ToString(op.S3PutObjectCopy.TargetResource)
	case op.S3PutObjectTagging != nil:
		return "S3PutObjectTagging"
	case op.S3DeleteObjectTagging != nil:
		return "S3DeleteObjectTagging"
	case op.S3ComputeObjectChecksum != nil:
		return "S3ComputeObjectChecksum " + string(op.S3ComputeObjectChecksum.ChecksumAlgorithm)
	}
	return "?"
}

func jobList(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sluice job ls", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var cf controlFlags
	cf.register(fs, e.getenv)
	var statuses listFlag
	fs.Var(&statuses, "status", "only jobs in this `status` (repeatable)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	c, err := cf.client(e.getenv)
	if err != nil {
		return err
	}
	in := &s3control.ListJobsInput{AccountId: aws.String(cf.account)}
	for _, s := range statuses {
		in.JobStatuses = append(in.JobStatuses, types.JobStatus(s))
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "JOB\tSTATUS\tOPERATION\tPRIORITY\tTOTAL\tSUCCEEDED\tFAILED\tCREATED\tDESCRIPTION")
	for {
		out, err := c.ListJobs(ctx, in)
		if err != nil {
			return err
		}
		for _, j := range out.Jobs {
			total, ok, bad := "?", int64(0), int64(0)
			if p := j.ProgressSummary; p != nil {
				if p.TotalNumberOfTasks != nil {
					total = fmt.Sprint(*p.TotalNumberOfTasks)
				}
				ok, bad = aws.ToInt64(p.NumberOfTasksSucceeded), aws.ToInt64(p.NumberOfTasksFailed)
			}
			created := ""
			if j.CreationTime != nil {
				created = j.CreationTime.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", aws.ToString(j.JobId), j.Status, j.Operation,
				j.Priority, total, ok, bad, created, aws.ToString(j.Description))
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	return w.Flush()
}

func jobSetStatus(ctx context.Context, args []string, e env, to types.RequestedJobStatus) error {
	var reason string
	name := "cancel"
	if to == types.RequestedJobStatusReady {
		name = "confirm"
	}
	cf, id, err := oneJob(name, args, e, func(fs *flag.FlagSet) { fs.StringVar(&reason, "reason", "", "StatusUpdateReason") })
	if err != nil {
		return err
	}
	c, err := cf.client(e.getenv)
	if err != nil {
		return err
	}
	in := &s3control.UpdateJobStatusInput{AccountId: aws.String(cf.account), JobId: aws.String(id), RequestedJobStatus: to}
	if reason != "" {
		in.StatusUpdateReason = aws.String(reason)
	}
	out, err := c.UpdateJobStatus(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s\n", aws.ToString(out.JobId), out.Status)
	return nil
}

func jobWatch(ctx context.Context, args []string, e env) error {
	var every time.Duration
	cf, id, err := oneJob("watch", args, e, func(fs *flag.FlagSet) {
		fs.DurationVar(&every, "interval", 500*time.Millisecond, "how often to ask for the job's progress")
	})
	if err != nil {
		return err
	}
	c, err := cf.client(e.getenv)
	if err != nil {
		return err
	}
	var bar progressBar
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		out, err := c.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(cf.account), JobId: aws.String(id)})
		if err != nil {
			return err
		}
		j := out.Job
		bar.update(e.stdout, j, time.Now())
		switch j.Status {
		case types.JobStatusComplete, types.JobStatusFailed, types.JobStatusCancelled:
			fmt.Fprintln(e.stdout)
			for _, f := range j.FailureReasons {
				fmt.Fprintf(e.stdout, "failure: %s: %s\n", aws.ToString(f.FailureCode), aws.ToString(f.FailureReason))
			}
			if j.Status == types.JobStatusFailed {
				return fmt.Errorf("job %s failed", id)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(e.stdout)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// progressBar draws a job's progress on one line, rewritten in place:
// done and failed tasks, the rate over the last samples and the ETA.
type progressBar struct {
	samples []rateSample
}

type rateSample struct {
	at   time.Time
	done int64
}

// rateWindow is how far back the rate looks.
const rateWindow = 5 * time.Second

func (p *progressBar) update(w io.Writer, j *types.JobDescriptor, now time.Time) {
	var total, ok, bad int64 = -1, 0, 0
	if s := j.ProgressSummary; s != nil {
		if s.TotalNumberOfTasks != nil {
			total = *s.TotalNumberOfTasks
		}
		ok, bad = aws.ToInt64(s.NumberOfTasksSucceeded), aws.ToInt64(s.NumberOfTasksFailed)
	}
	fmt.Fprint(w, "\r"+p.line(j.Status, total, ok, bad, now)+"\x1b[K")
}

// line renders the bar (pure, for tests).
func (p *progressBar) line(status types.JobStatus, total, ok, bad int64, now time.Time) string {
	done := ok + bad
	p.samples = append(p.samples, rateSample{now, done})
	for len(p.samples) > 2 && now.Sub(p.samples[0].at) > rateWindow {
		p.samples = p.samples[1:]
	}
	rate := 0.0
	if first := p.samples[0]; now.Sub(first.at) > 0 {
		rate = float64(done-first.done) / now.Sub(first.at).Seconds()
	}
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	totalS := "?"
	if total >= 0 {
		totalS = fmt.Sprint(total)
	}
	eta := "-"
	if total > 0 && rate > 0 && done < total {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %3.0f%% %d/%s done, %d failed, %.0f tasks/s, ETA %s  %s", bar, frac*100, done, totalS, bad, rate, eta, status)
}
