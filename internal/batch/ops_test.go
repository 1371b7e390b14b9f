package batch_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/sluicehq/sluice/internal/lambda"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

func TestPutObjectTagging(t *testing.T) {
	e := newEnv(t)
	e.bucket("src")
	e.bucket("rep")
	var rows []string
	for _, k := range keys("obj/", 20) {
		e.put("src", k, "x")
		rows = append(rows, "src,"+k)
	}
	rows = append(rows, "src,missing")
	id := e.create(&s3control.CreateJobInput{
		Manifest: e.manifest("src", "manifest.csv", bucketKey, rows...),
		Operation: &types.JobOperation{S3PutObjectTagging: &types.S3SetObjectTaggingOperation{
			TagSet: []types.S3Tag{{Key: aws.String("k"), Value: aws.String("v")}},
		}},
		Report: report("rep", "reports"),
	})
	j := e.wait(id, 30*time.Second, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete {
		t.Fatalf("status %s: %v", j.Status, failures(j))
	}
	ps := j.ProgressSummary
	if aws.ToInt64(ps.TotalNumberOfTasks) != 21 || aws.ToInt64(ps.NumberOfTasksSucceeded) != 20 || aws.ToInt64(ps.NumberOfTasksFailed) != 1 {
		t.Fatalf("progress %+v", *ps)
	}
	tags, err := e.s3.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("src"), Key: aws.String("obj/00003")})
	if err != nil || len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "k" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	m, rep := e.readReport("rep", "reports", id)
	t.Logf("manifest %+v", m)
	byKey := rowsByKey(t, rep)
	if len(byKey) != 21 {
		t.Fatalf("%d rows", len(byKey))
	}
	if r := byKey["missing"]; r.Status != "failed" || r.HTTPStatus != "404" || r.ErrorCode != "NoSuchKey" {
		t.Errorf("missing: %+v", r)
	}
	if r := byKey["obj/00000"]; r.Status != "succeeded" || r.HTTPStatus != "200" {
		t.Errorf("ok row: %+v", r)
	}
}

// eventEngine records the S3 event notifications functions receive.
type eventEngine struct {
	mu     sync.Mutex
	events []string
}

func (x *eventEngine) Invoke(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
	var ev events.S3Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, r := range ev.Records {
		x.events = append(x.events, r.EventName+" "+r.S3.Bucket.Name+"/"+r.S3.Object.Key)
	}
	return &lambda.Result{Payload: []byte("null")}, nil
}

func (x *eventEngine) seen() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := append([]string(nil), x.events...)
	sort.Strings(out)
	return out
}

// notifyTo sends every object-created and tagging event of bucket to
// function fn.
func (e *env) notifyTo(bucket, fn, arn string) {
	e.t.Helper()
	_, err := e.lambda().AddPermission(e.ctx, &awslambda.AddPermissionInput{
		FunctionName: aws.String(fn), StatementId: aws.String("s3-" + bucket), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::" + bucket), SourceAccount: aws.String(account),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.s3.PutBucketNotificationConfiguration(e.ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{{
			LambdaFunctionArn: aws.String(arn), Events: []s3types.Event{"s3:ObjectCreated:*", "s3:ObjectTagging:*"},
		}}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestCopyJob copies versions named by the manifest into another bucket
// under a prefix, replacing metadata and tags, and raises the same
// events as CopyObject.
func TestCopyJob(t *testing.T) {
	rec := &eventEngine{}
	e := withEngine(t, &fakeEngine{invoke: rec.Invoke})
	e.versioned("src")
	e.bucket("dst")
	e.bucket("rep")
	arn := e.function("recorder", map[string]string{"app.py": "def handler(e, c): pass\n"})
	e.notifyTo("dst", "recorder", arn)
	_, v1 := e.put("src", "a b+c.txt", "first")
	e.put("src", "a b+c.txt", "second")
	_, v2 := e.put("src", "dir/x.txt", "x")
	fields := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey, types.JobManifestFieldNameVersionId}
	man := e.manifest("src", "m.csv", fields, "src,a%20b%2Bc.txt,"+v1, "src,dir/x.txt,"+v2, "src,dir/x.txt,")
	id := e.create(&s3control.CreateJobInput{Manifest: man, Report: report("rep", "copy"),
		Operation: &types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{
			TargetResource: aws.String("arn:aws:s3:::dst"), TargetKeyPrefix: aws.String("copied/"),
			MetadataDirective: types.S3MetadataDirectiveReplace, StorageClass: types.S3StorageClassStandardIa,
			RedirectLocation:  aws.String("/moved.html"),
			NewObjectMetadata: &types.S3ObjectMetadata{ContentType: aws.String("text/x-copied"), UserMetadata: map[string]string{"origin": "batch"}},
			NewObjectTagging:  []types.S3Tag{{Key: aws.String("copied"), Value: aws.String("yes")}},
		}}})
	j := e.wait(id, 20*time.Second, types.JobStatusComplete)
	if aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 2 || aws.ToInt64(j.ProgressSummary.NumberOfTasksFailed) != 1 {
		t.Fatalf("progress %+v", *j.ProgressSummary)
	}
	if got := e.mustGet("dst", "copied/a b+c.txt"); got != "first" {
		t.Errorf("copy of version 1 = %q", got)
	}
	head, err := e.s3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copied/dir/x.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "text/x-copied" || head.Metadata["origin"] != "batch" || head.StorageClass != s3types.StorageClassStandardIa ||
		aws.ToString(head.WebsiteRedirectLocation) != "/moved.html" {
		t.Errorf("copy metadata: %s %v %s %q", aws.ToString(head.ContentType), head.Metadata, head.StorageClass, aws.ToString(head.WebsiteRedirectLocation))
	}
	tags, err := e.s3.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("dst"), Key: aws.String("copied/dir/x.txt")})
	if err != nil || len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "copied" {
		t.Errorf("copy tags %+v %v", tags, err)
	}
	_, rows := e.readReport("rep", "copy", id)
	var failedRow reportRow
	for _, r := range rows {
		if r.Status == "failed" {
			failedRow = r
		}
	}
	if failedRow != (reportRow{"src", "dir/x.txt", "", "failed", "400", "InvalidRequest", "Task failed due to missing VersionId"}) {
		t.Errorf("missing-version row %+v", failedRow)
	}
	want := []string{"ObjectCreated:Copy dst/copied/a+b%2Bc.txt", "ObjectCreated:Copy dst/copied/dir/x.txt"}
	deadline := time.Now().Add(10 * time.Second)
	for !reflect.DeepEqual(rec.seen(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := rec.seen(); !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestTaggingEventsChecksumAndUntag runs S3PutObjectTagging (with its
// events), S3ComputeObjectChecksum and S3DeleteObjectTagging.
func TestTaggingEventsChecksumAndUntag(t *testing.T) {
	rec := &eventEngine{}
	e := withEngine(t, &fakeEngine{invoke: rec.Invoke})
	e.bucket("data")
	e.bucket("rep")
	arn := e.function("recorder", map[string]string{"app.py": "def handler(e, c): pass\n"})
	e.put("data", "one", "hello")
	e.put("data", "two", "world")
	man := e.manifest("data", "m.csv", bucketKey, "data,one", "data,two")
	e.notifyTo("data", "recorder", arn)

	id := e.create(&s3control.CreateJobInput{Manifest: man, Operation: tagOp()})
	e.wait(id, 20*time.Second, types.JobStatusComplete)
	want := []string{"ObjectTagging:Put data/one", "ObjectTagging:Put data/two"}
	deadline := time.Now().Add(10 * time.Second)
	for !reflect.DeepEqual(rec.seen(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := rec.seen(); !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}

	id = e.create(&s3control.CreateJobInput{Manifest: man, Report: report("rep", "sum"),
		Operation: &types.JobOperation{S3ComputeObjectChecksum: &types.S3ComputeObjectChecksumOperation{
			ChecksumAlgorithm: types.ComputeObjectChecksumAlgorithmSha256, ChecksumType: types.ComputeObjectChecksumTypeFullObject}}})
	e.wait(id, 20*time.Second, types.JobStatusComplete)
	_, rows := e.readReport("rep", "sum", id)
	byKey := rowsByKey(t, rows)
	sum := sha256.Sum256([]byte("hello"))
	var res struct {
		Base64    string `json:"checksum_base64"`
		Hex       string `json:"checksum_hex"`
		Algorithm string `json:"checksumAlgorithm"`
		Type      string `json:"checksumType"`
	}
	if err := json.Unmarshal([]byte(byKey["one"].Message), &res); err != nil {
		t.Fatalf("checksum message %q: %v", byKey["one"].Message, err)
	}
	if res.Hex != hex.EncodeToString(sum[:]) || res.Base64 != base64.StdEncoding.EncodeToString(sum[:]) || res.Algorithm != "SHA256" || res.Type != "FULL_OBJECT" {
		t.Errorf("checksum %+v", res)
	}

	id = e.create(&s3control.CreateJobInput{Manifest: man, Operation: &types.JobOperation{S3DeleteObjectTagging: &types.S3DeleteObjectTaggingOperation{}}})
	e.wait(id, 20*time.Second, types.JobStatusComplete)
	tags, err := e.s3.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("data"), Key: aws.String("two")})
	if err != nil || len(tags.TagSet) != 0 {
		t.Errorf("tags after S3DeleteObjectTagging: %+v %v", tags, err)
	}
}

// TestInventoryManifest runs a job from an S3 Inventory manifest.json
// pointing at gzip CSV files.
func TestInventoryManifest(t *testing.T) {
	e := newEnv(t)
	e.bucket("data")
	e.bucket("inv")
	var files []map[string]any
	for f := range 2 {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		for i := range 3 {
			key := fmt.Sprintf("f%d/obj %d", f, i)
			e.put("data", key, "x")
			fmt.Fprintf(gz, "\"data\",\"%s\",\"\",\"true\",\"false\",\"1\"\n", strings.ReplaceAll(key, " ", "%20"))
		}
		gz.Close()
		name := fmt.Sprintf("inventory/data/cfg/data/file%d.csv.gz", f)
		e.put("inv", name, buf.String())
		files = append(files, map[string]any{"key": name, "size": buf.Len(), "MD5checksum": "x"})
	}
	raw, _ := json.Marshal(map[string]any{
		"sourceBucket": "data", "destinationBucket": "arn:aws:s3:::inv", "version": "2016-11-30",
		"creationTimestamp": "1514944800000", "fileFormat": "CSV",
		"fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size", "files": files,
	})
	etag, _ := e.put("inv", "inventory/data/cfg/2024-01-01T00-00Z/manifest.json", string(raw))
	id := e.create(&s3control.CreateJobInput{Operation: tagOp(), Manifest: &types.JobManifest{
		Spec:     &types.JobManifestSpec{Format: types.JobManifestFormatS3InventoryReportCsv20161130},
		Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::inv/inventory/data/cfg/2024-01-01T00-00Z/manifest.json"), ETag: aws.String(etag)},
	}})
	j := e.wait(id, 20*time.Second, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete || aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 6 {
		t.Fatalf("job %s %v: %+v", j.Status, failures(j), *j.ProgressSummary)
	}
	tags, err := e.s3.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("data"), Key: aws.String("f1/obj 2")})
	if err != nil || len(tags.TagSet) != 1 {
		t.Errorf("tags %+v %v", tags, err)
	}
}

// TestManifestGenerator generates the manifest from a bucket listing with
// a filter, and writes it out as S3InventoryReport_CSV_20211130.
func TestManifestGenerator(t *testing.T) {
	e := newEnv(t)
	e.bucket("data")
	e.bucket("out")
	for _, k := range []string{"logs/a.txt", "logs/b.json", "logs/big.txt", "img/c.txt", "logs/d e.txt"} {
		body := "x"
		if strings.Contains(k, "big") {
			body = strings.Repeat("x", 100)
		}
		e.put("data", k, body)
	}
	gen := func(filter *types.JobManifestGeneratorFilter, output bool) types.JobManifestGenerator {
		g := types.S3JobManifestGenerator{SourceBucket: aws.String("arn:aws:s3:::data"), Filter: filter, EnableManifestOutput: output}
		if output {
			g.ManifestOutputLocation = &types.S3ManifestOutputLocation{Bucket: aws.String("arn:aws:s3:::out"),
				ManifestPrefix: aws.String("gen"), ManifestFormat: types.GeneratedManifestFormatS3InventoryReportCsv20211130}
		}
		return &types.JobManifestGeneratorMemberS3JobManifestGenerator{Value: g}
	}
	filter := &types.JobManifestGeneratorFilter{
		KeyNameConstraint:       &types.KeyNameConstraint{MatchAnyPrefix: []string{"logs/"}, MatchAnySuffix: []string{".txt"}},
		ObjectSizeLessThanBytes: aws.Int64(50),
		CreatedAfter:            aws.Time(time.Now().Add(-time.Hour)),
	}
	id := e.create(&s3control.CreateJobInput{Operation: tagOp(), ManifestGenerator: gen(filter, true)})
	j := e.wait(id, 20*time.Second, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete || aws.ToInt64(j.ProgressSummary.TotalNumberOfTasks) != 2 {
		t.Fatalf("job %s %v: %+v", j.Status, failures(j), *j.ProgressSummary)
	}
	for key, want := range map[string]int{"logs/a.txt": 1, "logs/d e.txt": 1, "logs/b.json": 0, "logs/big.txt": 0, "img/c.txt": 0} {
		tags, err := e.s3.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("data"), Key: aws.String(key)})
		if err != nil || len(tags.TagSet) != want {
			t.Errorf("%s: %d tags, want %d (%v)", key, len(tags.TagSet), want, err)
		}
	}
	d := j.GeneratedManifestDescriptor
	if d == nil || d.Format != types.GeneratedManifestFormatS3InventoryReportCsv20211130 {
		t.Fatalf("GeneratedManifestDescriptor %+v", d)
	}
	wantARN := "arn:aws:s3:::out/gen/job-" + id + "/manifest.json"
	if aws.ToString(d.Location.ObjectArn) != wantARN || aws.ToString(d.Location.ETag) == "" {
		t.Fatalf("generated manifest at %s, want %s", aws.ToString(d.Location.ObjectArn), wantARN)
	}
	var m struct {
		FileSchema string `json:"fileSchema"`
		Files      []struct{ Key string }
	}
	json.Unmarshal([]byte(e.mustGet("out", "gen/job-"+id+"/manifest.json")), &m)
	if m.FileSchema != "Bucket, Key, VersionId" || len(m.Files) != 1 {
		t.Fatalf("generated manifest.json %+v", m)
	}
	gz, err := gzip.NewReader(strings.NewReader(e.mustGet("out", m.Files[0].Key)))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(gz)
	if want := "\"data\",\"logs/a.txt\",\"\"\n\"data\",\"logs/d%20e.txt\",\"\"\n"; string(data) != want {
		t.Errorf("generated data %q, want %q", data, want)
	}
	// The generated manifest is itself a manifest a job can use.
	id2 := e.create(&s3control.CreateJobInput{Operation: tagOp(), Manifest: &types.JobManifest{
		Spec:     &types.JobManifestSpec{Format: types.JobManifestFormatS3InventoryReportCsv20161130},
		Location: d.Location,
	}})
	if j := e.wait(id2, 20*time.Second, types.JobStatusComplete, types.JobStatusFailed); aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 2 {
		t.Errorf("job on the generated manifest: %s %v", j.Status, failures(j))
	}

	// Nothing matches: the job fails with AWS's reason.
	none := &types.JobManifestGeneratorFilter{KeyNameConstraint: &types.KeyNameConstraint{MatchAnySubstring: []string{"zzz"}}}
	id3 := e.create(&s3control.CreateJobInput{Operation: tagOp(), ManifestGenerator: gen(none, false)})
	j = e.wait(id3, 20*time.Second, types.JobStatusFailed)
	if aws.ToString(j.FailureReasons[0].FailureReason) != "Manifest generation found no keys matching the filter criteria" {
		t.Errorf("failure %v", failures(j))
	}
}
