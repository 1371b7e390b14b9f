package lambdaapi_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var reUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestFunctionLifecycle(t *testing.T) {
	e := start(t)
	code := makeZip(t, handlerZip)
	created := e.create("fn-life", code, func(in *awslambda.CreateFunctionInput) {
		in.Description = aws.String("first")
		in.Environment = &types.Environment{Variables: map[string]string{"AA": "1"}}
	})
	checks := []struct {
		what      string
		got, want any
	}{
		{"FunctionArn", aws.ToString(created.FunctionArn), arnOf("fn-life")},
		{"Version", aws.ToString(created.Version), "$LATEST"},
		{"State", created.State, types.StatePending},
		{"StateReasonCode", created.StateReasonCode, types.StateReasonCodeCreating},
		{"LastUpdateStatus", created.LastUpdateStatus, types.LastUpdateStatus("")},
		{"Timeout", aws.ToInt32(created.Timeout), int32(3)},
		{"MemorySize", aws.ToInt32(created.MemorySize), int32(128)},
		{"EphemeralStorage", aws.ToInt32(created.EphemeralStorage.Size), int32(512)},
		{"Architectures", created.Architectures[0], types.ArchitectureX8664},
		{"PackageType", created.PackageType, types.PackageTypeZip},
		{"CodeSha256", aws.ToString(created.CodeSha256), sha256b64(code)},
		{"CodeSize", created.CodeSize, int64(len(code))},
		{"Description", aws.ToString(created.Description), "first"},
		{"Env", created.Environment.Variables["AA"], "1"},
		{"RevisionId", reUUID.MatchString(aws.ToString(created.RevisionId)), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("CreateFunction %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-0700", aws.ToString(created.LastModified)); err != nil ||
		!strings.HasSuffix(aws.ToString(created.LastModified), "+0000") {
		t.Errorf("LastModified %q is not in Lambda's form", aws.ToString(created.LastModified))
	}

	got, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-life")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Configuration.State != types.StateActive || got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Errorf("GetFunction state %s/%s, want Active/Successful", got.Configuration.State, got.Configuration.LastUpdateStatus)
	}
	if aws.ToString(got.Configuration.RevisionId) != aws.ToString(created.RevisionId) {
		t.Errorf("RevisionId changed without a change")
	}
	if aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Errorf("RepositoryType %q", aws.ToString(got.Code.RepositoryType))
	}
	// Code.Location is fetchable with plain HTTP.
	resp, err := http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, code) {
		t.Errorf("GET Code.Location: %d, %d bytes; want 200 and the zip", resp.StatusCode, len(body))
	}
	// Without the signature it is refused.
	loc := aws.ToString(got.Code.Location)
	resp, err = http.Get(loc[:strings.Index(loc, "?")])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned package GET: %d, want 403", resp.StatusCode)
	}

	upd, err := e.c.UpdateFunctionConfiguration(e.ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("fn-life"),
		MemorySize:   aws.Int32(512),
		Timeout:      aws.Int32(10),
		Environment:  &types.Environment{Variables: map[string]string{}},
		RevisionId:   created.RevisionId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(upd.MemorySize) != 512 || aws.ToInt32(upd.Timeout) != 10 || upd.Environment != nil ||
		upd.LastUpdateStatus != types.LastUpdateStatusInProgress || aws.ToString(upd.Description) != "first" {
		t.Errorf("UpdateFunctionConfiguration: memory %d timeout %d env %v status %s description %q",
			aws.ToInt32(upd.MemorySize), aws.ToInt32(upd.Timeout), upd.Environment, upd.LastUpdateStatus, aws.ToString(upd.Description))
	}
	if aws.ToString(upd.RevisionId) == aws.ToString(created.RevisionId) {
		t.Error("RevisionId did not change on update")
	}
	_, err = e.c.UpdateFunctionConfiguration(e.ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("fn-life"), Description: aws.String("x"), RevisionId: created.RevisionId,
	})
	checkErr(t, "stale RevisionId", err, "PreconditionFailedException", 412, "does not match the latest Revision Id")

	code2 := makeZip(t, map[string]string{"index.py": "def handler(e, c):\n    return 2\n"})
	uc, err := e.c.UpdateFunctionCode(e.ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("fn-life"), ZipFile: code2})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(uc.CodeSha256) != sha256b64(code2) || uc.CodeSize != int64(len(code2)) {
		t.Errorf("UpdateFunctionCode: sha %s size %d", aws.ToString(uc.CodeSha256), uc.CodeSize)
	}
	_, err = e.c.UpdateFunctionCode(e.ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("fn-life"), ZipFile: code, RevisionId: created.RevisionId})
	checkErr(t, "UpdateFunctionCode stale RevisionId", err, "PreconditionFailedException", 412, "Revision Id")
	dry, err := e.c.UpdateFunctionCode(e.ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("fn-life"), ZipFile: code, DryRun: true})
	if err != nil || aws.ToString(dry.CodeSha256) != sha256b64(code) {
		t.Errorf("UpdateFunctionCode DryRun: %v", err)
	}
	cfg, err := e.c.GetFunctionConfiguration(e.ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String(arnOf("fn-life"))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg.CodeSha256) != sha256b64(code2) || aws.ToInt32(cfg.MemorySize) != 512 {
		t.Errorf("GetFunctionConfiguration after updates: sha %s memory %d", aws.ToString(cfg.CodeSha256), aws.ToInt32(cfg.MemorySize))
	}

	if _, err := e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-life")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-life")})
	checkErr(t, "GetFunction after delete", err, "ResourceNotFoundException", 404, "Function not found: "+arnOf("fn-life"))
	if len(e.engine.retired) != 1 || e.engine.retired[0] != "fn-life" {
		t.Errorf("engine retired %v, want [fn-life]", e.engine.retired)
	}
	_, err = e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-life")})
	checkErr(t, "DeleteFunction twice", err, "ResourceNotFoundException", 404, "Function not found")
}

// bigZip is an archive whose one file claims to unpack to n bytes.
func bigZip(t *testing.T, n uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.CreateRaw(&zip.FileHeader{Name: "big", Method: zip.Store, UncompressedSize64: n}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

func TestCreateFunctionErrors(t *testing.T) {
	e := start(t)
	e.create("taken", nil)
	tests := []struct {
		name   string
		edit   func(*awslambda.CreateFunctionInput)
		code   string
		status int
		msg    string
	}{
		{"duplicate", func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String("taken") },
			"ResourceConflictException", 409, "Function already exist: taken"},
		{"not a zip", func(in *awslambda.CreateFunctionInput) { in.Code.ZipFile = []byte("hello") },
			"InvalidParameterValueException", 400, "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"unzipped too large", func(in *awslambda.CreateFunctionInput) { in.Code.ZipFile = bigZip(t, 262144001) },
			"InvalidParameterValueException", 400, "Unzipped size must be smaller than 262144000 bytes"},
		{"zip too large", func(in *awslambda.CreateFunctionInput) { in.Code.ZipFile = make([]byte, 52428801) },
			"RequestEntityTooLargeException", 413, "Zipped size must be smaller than 52428800 bytes"},
		{"unknown runtime", func(in *awslambda.CreateFunctionInput) { in.Runtime = "cobol" },
			"InvalidParameterValueException", 400, "Value cobol at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14,"},
		{"deprecated runtime", func(in *awslambda.CreateFunctionInput) { in.Runtime = types.RuntimePython37 },
			"InvalidParameterValueException", 400, "The runtime parameter of python3.7 is no longer supported"},
		{"image", func(in *awslambda.CreateFunctionInput) { in.PackageType = types.PackageTypeImage },
			"InvalidParameterValueException", 400, "Zip packages only"},
		{"no handler", func(in *awslambda.CreateFunctionInput) { in.Handler = nil },
			"InvalidParameterValueException", 400, "Runtime and Handler are mandatory parameters"},
		{"bad role", func(in *awslambda.CreateFunctionInput) { in.Role = aws.String("r1") },
			"ValidationException", 400, "Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"memory too small", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(64) },
			"ValidationException", 400, "Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"memory too large", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(10241) },
			"InvalidParameterValueException", 400, "less than or equal to 10240"},
		{"timeout too long", func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) },
			"InvalidParameterValueException", 400, "less than or equal to 900"},
		{"reserved variable", func(in *awslambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "x", "OK": "y"}}
		}, "InvalidParameterValueException", 400, "Reserved keys used in this request: AWS_REGION"},
		{"variables too large", func(in *awslambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4096)}}
		}, "InvalidParameterValueException", 400, "exceeded the 4KB limit. String measured: {\"BIG\":\"xxx"},
		{"two architectures", func(in *awslambda.CreateFunctionInput) {
			in.Architectures = []types.Architecture{types.ArchitectureX8664, types.ArchitectureArm64}
		}, "ValidationException", 400, "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"name too long", func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String(strings.Repeat("a", 65)) },
			"InvalidParameterValueException", 400, "Member must have length less than or equal to 64"},
		{"bad name", func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String("invalid:function:name") },
			"ValidationException", 400, "Member must satisfy regular expression pattern"},
		{"no code", func(in *awslambda.CreateFunctionInput) { in.Code = &types.FunctionCode{} },
			"InvalidParameterValueException", 400, "A ZIP file or S3 bucket is required"},
		{"layers", func(in *awslambda.CreateFunctionInput) {
			in.Layers = []string{"arn:aws:lambda:us-east-1:000000000000:layer:x:1"}
		},
			"InvalidParameterValueException", 400, "sluice does not support Layers."},
		// Settings that would change how the function runs or who may run
		// it are refused, never dropped.
		{"active tracing", func(in *awslambda.CreateFunctionInput) {
			in.TracingConfig = &types.TracingConfig{Mode: types.TracingModeActive}
		},
			"InvalidParameterValueException", 400, "sluice does not support TracingConfig Mode Active."},
		{"snapstart", func(in *awslambda.CreateFunctionInput) {
			in.SnapStart = &types.SnapStart{ApplyOn: types.SnapStartApplyOnPublishedVersions}
		}, "InvalidParameterValueException", 400, "sluice does not support SnapStart."},
		{"json logs", func(in *awslambda.CreateFunctionInput) {
			in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatJson, ApplicationLogLevel: types.ApplicationLogLevelDebug}
		}, "InvalidParameterValueException", 400, "sluice does not support LoggingConfig other than the Text format and the default log group."},
		{"tenant isolation", func(in *awslambda.CreateFunctionInput) {
			in.TenancyConfig = &types.TenancyConfig{TenantIsolationMode: types.TenantIsolationModePerTenant}
		}, "InvalidParameterValueException", 400, "sluice does not support TenancyConfig."},
		{"durable", func(in *awslambda.CreateFunctionInput) {
			in.DurableConfig = &types.DurableConfig{ExecutionTimeout: aws.Int32(3600)}
		}, "InvalidParameterValueException", 400, "sluice does not support DurableConfig."},
		{"managed instances", func(in *awslambda.CreateFunctionInput) {
			in.CapacityProviderConfig = &types.CapacityProviderConfig{LambdaManagedInstancesCapacityProviderConfig: &types.LambdaManagedInstancesCapacityProviderConfig{
				CapacityProviderArn: aws.String("arn:aws:lambda:us-east-1:000000000000:capacity-provider:cp")}}
		}, "InvalidParameterValueException", 400, "sluice does not support CapacityProviderConfig."},
		{"publish to", func(in *awslambda.CreateFunctionInput) {
			in.PublishTo = types.FunctionVersionLatestPublishedLatestPublished
		},
			"InvalidParameterValueException", 400, "sluice does not support PublishTo."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &awslambda.CreateFunctionInput{
				FunctionName: aws.String("new-fn"),
				Role:         aws.String(role),
				Runtime:      types.RuntimePython312,
				Handler:      aws.String("index.handler"),
				Code:         &types.FunctionCode{ZipFile: makeZip(t, handlerZip)},
			}
			tc.edit(in)
			_, err := e.c.CreateFunction(e.ctx, in)
			checkErr(t, tc.name, err, tc.code, tc.status, tc.msg)
		})
	}
	if _, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("new-fn")}); err == nil {
		t.Error("a failed CreateFunction left a function")
	}
}

func TestCreateFunctionFromS3(t *testing.T) {
	e := start(t)
	s3c := e.n.S3()
	code := makeZip(t, handlerZip)
	if _, err := s3c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("code")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("code"), Key: aws.String("pkg/fn.zip"), Body: bytes.NewReader(code)}); err != nil {
		t.Fatal(err)
	}
	out := e.create("from-s3", nil, func(in *awslambda.CreateFunctionInput) {
		in.Code = &types.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("pkg/fn.zip")}
	})
	if aws.ToString(out.CodeSha256) != sha256b64(code) {
		t.Errorf("CodeSha256 %s, want %s", aws.ToString(out.CodeSha256), sha256b64(code))
	}
	// The same content is stored once and shared; updating from a ZipFile
	// with the same bytes keeps the hash.
	uc, err := e.c.UpdateFunctionCode(e.ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("from-s3"), ZipFile: code})
	if err != nil || aws.ToString(uc.CodeSha256) != sha256b64(code) {
		t.Fatalf("UpdateFunctionCode same bytes: %v", err)
	}
	tests := []struct {
		name, bucket, key, msg string
	}{
		{"no bucket", "nope", "k", "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist"},
		{"no key", "code", "nope", "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."},
	}
	for _, tc := range tests {
		_, err := e.c.UpdateFunctionCode(e.ctx, &awslambda.UpdateFunctionCodeInput{
			FunctionName: aws.String("from-s3"), S3Bucket: aws.String(tc.bucket), S3Key: aws.String(tc.key),
		})
		checkErr(t, tc.name, err, "InvalidParameterValueException", 400, tc.msg)
	}
}

// TestCreateFunctionDefaultSettings: the settings a tool sends with their
// default values (what GetFunction reports back) are accepted.
func TestCreateFunctionDefaultSettings(t *testing.T) {
	e := start(t)
	out := e.create("defaults", nil, func(in *awslambda.CreateFunctionInput) {
		in.TracingConfig = &types.TracingConfig{Mode: types.TracingModePassThrough}
		in.SnapStart = &types.SnapStart{ApplyOn: types.SnapStartApplyOnNone}
		in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatText}
	})
	if out.TracingConfig == nil || out.TracingConfig.Mode != types.TracingModePassThrough || out.LoggingConfig == nil || out.LoggingConfig.LogFormat != types.LogFormatText {
		t.Errorf("configuration: %+v %+v", out.TracingConfig, out.LoggingConfig)
	}
	_, err := e.c.UpdateFunctionCode(e.ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("defaults"), ZipFile: makeZip(t, handlerZip),
		SourceKMSKeyArn: aws.String("arn:aws:kms:us-east-1:000000000000:key/k")})
	checkErr(t, "SourceKMSKeyArn", err, "InvalidParameterValueException", 400, "sluice does not support SourceKMSKeyArn.")
}

func TestListFunctionsMasterRegion(t *testing.T) {
	e := start(t)
	e.create("edge", nil)
	_, err := e.c.ListFunctions(e.ctx, &awslambda.ListFunctionsInput{MasterRegion: aws.String("us-east-1"), FunctionVersion: types.FunctionVersionAll})
	checkErr(t, "MasterRegion", err, "InvalidParameterValueException", 400, "sluice does not support MasterRegion.")
}
