package lambdaapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestConcurrency(t *testing.T) {
	e := start(t)
	e.create("fn-c", nil)
	e.create("fn-d", nil)
	put := func(name string, n int32) error {
		_, err := e.c.PutFunctionConcurrency(e.ctx, &awslambda.PutFunctionConcurrencyInput{
			FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(n),
		})
		return err
	}
	for _, n := range []int32{0, 1, 600} {
		if err := put("fn-c", n); err != nil {
			t.Fatalf("PutFunctionConcurrency %d: %v", n, err)
		}
	}
	got, err := e.c.GetFunctionConcurrency(e.ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("fn-c")})
	if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 600 {
		t.Fatalf("GetFunctionConcurrency: %v", err)
	}
	fn, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-c")})
	if err != nil || fn.Concurrency == nil || aws.ToInt32(fn.Concurrency.ReservedConcurrentExecutions) != 600 {
		t.Errorf("GetFunction Concurrency: %v", err)
	}
	// 1000 - 100 unreserved minimum - 600 leaves 300.
	checkErr(t, "over the account", put("fn-d", 301), "InvalidParameterValueException", 400,
		"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
	if err := put("fn-d", 300); err != nil {
		t.Errorf("reserving the rest: %v", err)
	}
	settings, err := e.c.GetAccountSettings(e.ctx, &awslambda.GetAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(settings.AccountLimit.UnreservedConcurrentExecutions) != 100 || settings.AccountLimit.ConcurrentExecutions != 1000 ||
		settings.AccountUsage.FunctionCount != 2 || settings.AccountUsage.TotalCodeSize <= 0 ||
		settings.AccountLimit.CodeSizeZipped != 52428800 || settings.AccountLimit.CodeSizeUnzipped != 262144000 {
		t.Errorf("GetAccountSettings = %+v %+v", settings.AccountLimit, settings.AccountUsage)
	}
	checkErr(t, "qualified", put(arnOf("fn-c")+":1", 1), "InvalidParameterValueException", 400,
		"This operation is permitted on Lambda functions only. Aliases and versions do not support this operation.")
	checkErr(t, "missing", put("gone", 1), "ResourceNotFoundException", 404, "Function not found: "+arnOf("gone")+":$LATEST")

	if _, err := e.c.DeleteFunctionConcurrency(e.ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("fn-c")}); err != nil {
		t.Fatal(err)
	}
	got, err = e.c.GetFunctionConcurrency(e.ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("fn-c")})
	if err != nil || got.ReservedConcurrentExecutions != nil {
		t.Errorf("GetFunctionConcurrency after delete: %v %v", err, got.ReservedConcurrentExecutions)
	}
	// Deleting a function gives its reservation back.
	if _, err := e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-d")}); err != nil {
		t.Fatal(err)
	}
	settings, err = e.c.GetAccountSettings(e.ctx, &awslambda.GetAccountSettingsInput{})
	if err != nil || aws.ToInt32(settings.AccountLimit.UnreservedConcurrentExecutions) != 1000 || settings.AccountUsage.FunctionCount != 1 {
		t.Errorf("GetAccountSettings after deletes: %v %+v", err, settings.AccountLimit)
	}
}

func TestEventInvokeConfig(t *testing.T) {
	e := start(t)
	e.create("fn-e", nil)
	e.create("fn-dest", nil)
	e.publish("fn-e")
	put, err := e.c.PutFunctionEventInvokeConfig(e.ctx, &awslambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("fn-e"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:s3:::failures")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.FunctionArn) != arnOf("fn-e")+":$LATEST" || aws.ToInt32(put.MaximumRetryAttempts) != 0 ||
		put.MaximumEventAgeInSeconds != nil || aws.ToString(put.DestinationConfig.OnFailure.Destination) != "arn:aws:s3:::failures" ||
		time.Since(aws.ToTime(put.LastModified)) > time.Minute {
		t.Errorf("PutFunctionEventInvokeConfig = %+v", put)
	}
	// POST merges, PUT replaces.
	upd, err := e.c.UpdateFunctionEventInvokeConfig(e.ctx, &awslambda.UpdateFunctionEventInvokeConfigInput{
		FunctionName: aws.String("fn-e"), MaximumEventAgeInSeconds: aws.Int32(120),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(arnOf("fn-dest"))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(upd.MaximumRetryAttempts) != 0 || aws.ToInt32(upd.MaximumEventAgeInSeconds) != 120 ||
		aws.ToString(upd.DestinationConfig.OnSuccess.Destination) != arnOf("fn-dest") ||
		aws.ToString(upd.DestinationConfig.OnFailure.Destination) != "arn:aws:s3:::failures" {
		t.Errorf("UpdateFunctionEventInvokeConfig = %+v", upd)
	}
	rep, err := e.c.PutFunctionEventInvokeConfig(e.ctx, &awslambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("fn-e"), MaximumEventAgeInSeconds: aws.Int32(60),
	})
	if err != nil || rep.MaximumRetryAttempts != nil || rep.DestinationConfig.OnSuccess.Destination != nil {
		t.Errorf("PUT did not replace: %v %+v", err, rep)
	}
	if _, err := e.c.PutFunctionEventInvokeConfig(e.ctx, &awslambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("fn-e"), Qualifier: aws.String("1"), MaximumRetryAttempts: aws.Int32(2),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := e.c.GetFunctionEventInvokeConfig(e.ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(arnOf("fn-e") + ":1")})
	if err != nil || aws.ToInt32(got.MaximumRetryAttempts) != 2 || aws.ToString(got.FunctionArn) != arnOf("fn-e")+":1" {
		t.Errorf("GetFunctionEventInvokeConfig version 1: %v %+v", err, got)
	}
	list, err := e.c.ListFunctionEventInvokeConfigs(e.ctx, &awslambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("fn-e")})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 2 {
		t.Errorf("ListFunctionEventInvokeConfigs: %v %+v", err, list)
	}

	mk := func(q string, edit func(*awslambda.PutFunctionEventInvokeConfigInput)) error {
		in := &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn-e")}
		if q != "" {
			in.Qualifier = aws.String(q)
		}
		edit(in)
		_, err := e.c.PutFunctionEventInvokeConfig(e.ctx, in)
		return err
	}
	dest := func(success, failure string) func(*awslambda.PutFunctionEventInvokeConfigInput) {
		return func(in *awslambda.PutFunctionEventInvokeConfigInput) {
			in.DestinationConfig = &types.DestinationConfig{}
			if success != "" {
				in.DestinationConfig.OnSuccess = &types.OnSuccess{Destination: aws.String(success)}
			}
			if failure != "" {
				in.DestinationConfig.OnFailure = &types.OnFailure{Destination: aws.String(failure)}
			}
		}
	}
	tests := []struct {
		name    string
		err     error
		code    string
		status  int
		message string
	}{
		{"nothing", mk("", func(*awslambda.PutFunctionEventInvokeConfigInput) {}), "InvalidParameterValueException", 400,
			"You must specify at least one of error handling or destination setting."},
		{"retries", mk("", func(in *awslambda.PutFunctionEventInvokeConfigInput) { in.MaximumRetryAttempts = aws.Int32(3) }),
			"ValidationException", 400, "Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"},
		{"age", mk("", func(in *awslambda.PutFunctionEventInvokeConfigInput) { in.MaximumEventAgeInSeconds = aws.Int32(59) }),
			"ValidationException", 400, "Member must have value greater than or equal to 60"},
		{"itself", mk("", dest(arnOf("fn-e"), "")), "InvalidParameterValueException", 400, "You can't specify the function as a destination for itself."},
		{"missing function", mk("", dest(arnOf("nope"), "")), "InvalidParameterValueException", 400, "The destination ARN " + arnOf("nope") + " is invalid."},
		{"s3 on success", mk("", dest("arn:aws:s3:::b", "")), "InvalidParameterValueException", 400,
			"The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:s3:::b), onFailure=null) is invalid."},
		{"sqs", mk("", dest("", "arn:aws:sqs:us-east-1:000000000000:q")), "InvalidParameterValueException", 400, "is invalid."},
		{"bad arn", mk("", dest("arn:aws:_-/!lambda:x", "")), "ValidationException", 400, "at 'destinationConfig.onSuccess.destination' failed to satisfy constraint"},
		{"no such version", mk("9", func(in *awslambda.PutFunctionEventInvokeConfigInput) { in.MaximumRetryAttempts = aws.Int32(1) }),
			"ResourceNotFoundException", 404, "Function not found: " + arnOf("fn-e") + ":9"},
	}
	for _, tc := range tests {
		checkErr(t, tc.name, tc.err, tc.code, tc.status, tc.message)
	}
	if _, err := e.c.DeleteFunctionEventInvokeConfig(e.ctx, &awslambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("fn-e")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetFunctionEventInvokeConfig(e.ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn-e")})
	checkErr(t, "get after delete", err, "ResourceNotFoundException", 404, "The function "+arnOf("fn-e")+":$LATEST doesn't have an EventInvokeConfig")
	_, err = e.c.DeleteFunctionEventInvokeConfig(e.ctx, &awslambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("fn-e")})
	checkErr(t, "delete twice", err, "ResourceNotFoundException", 404, "doesn't have an EventInvokeConfig")
	_, err = e.c.UpdateFunctionEventInvokeConfig(e.ctx, &awslambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("fn-e"), MaximumRetryAttempts: aws.Int32(1)})
	checkErr(t, "update missing", err, "ResourceNotFoundException", 404, "doesn't have an EventInvokeConfig")
}

func TestRecursionConfig(t *testing.T) {
	e := start(t)
	e.create("fn-r", nil)
	got, err := e.c.GetFunctionRecursionConfig(e.ctx, &awslambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("fn-r")})
	if err != nil || got.RecursiveLoop != types.RecursiveLoopTerminate {
		t.Errorf("default recursion config: %v %s", err, got.RecursiveLoop)
	}
	put, err := e.c.PutFunctionRecursionConfig(e.ctx, &awslambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("fn-r"), RecursiveLoop: types.RecursiveLoopAllow})
	if err != nil || put.RecursiveLoop != types.RecursiveLoopAllow {
		t.Fatalf("PutFunctionRecursionConfig: %v", err)
	}
	got, err = e.c.GetFunctionRecursionConfig(e.ctx, &awslambda.GetFunctionRecursionConfigInput{FunctionName: aws.String(arnOf("fn-r"))})
	if err != nil || got.RecursiveLoop != types.RecursiveLoopAllow {
		t.Errorf("recursion config after put: %v %s", err, got.RecursiveLoop)
	}
	_, err = e.c.PutFunctionRecursionConfig(e.ctx, &awslambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("fn-r"), RecursiveLoop: "Sometimes"})
	checkErr(t, "bad value", err, "ValidationException", 400,
		"1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]")
	_, err = e.c.GetFunctionRecursionConfig(e.ctx, &awslambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("gone")})
	checkErr(t, "missing", err, "ResourceNotFoundException", 404, "Function not found")
}

func TestTags(t *testing.T) {
	e := start(t)
	e.create("fn-t", nil, func(in *awslambda.CreateFunctionInput) { in.Tags = map[string]string{"team": "a"} })
	arn := arnOf("fn-t")
	if _, err := e.c.TagResource(e.ctx, &awslambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"env": "dev", "team": "b"}}); err != nil {
		t.Fatal(err)
	}
	list, err := e.c.ListTags(e.ctx, &awslambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || len(list.Tags) != 2 || list.Tags["team"] != "b" || list.Tags["env"] != "dev" {
		t.Errorf("ListTags = %v, %v", list.Tags, err)
	}
	fn, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-t")})
	if err != nil || fn.Tags["env"] != "dev" {
		t.Errorf("GetFunction Tags = %v, %v", fn.Tags, err)
	}
	if _, err := e.c.UntagResource(e.ctx, &awslambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	list, err = e.c.ListTags(e.ctx, &awslambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || len(list.Tags) != 1 || list.Tags["env"] != "dev" {
		t.Errorf("ListTags after untag = %v, %v", list.Tags, err)
	}
	_, err = e.c.TagResource(e.ctx, &awslambda.TagResourceInput{Resource: aws.String(arn + ":1"), Tags: map[string]string{"a": "b"}})
	checkErr(t, "qualified", err, "InvalidParameterValueException", 400, "Tags on function aliases and versions are not supported. Please specify a function ARN.")
	_, err = e.c.ListTags(e.ctx, &awslambda.ListTagsInput{Resource: aws.String(arnOf("gone"))})
	checkErr(t, "missing", err, "ResourceNotFoundException", 404, "Function not found: "+arnOf("gone"))
	_, err = e.c.ListTags(e.ctx, &awslambda.ListTagsInput{Resource: aws.String("arn:aws:lambda:us-east-1:000000000000:foobar:x")})
	checkErr(t, "bad arn", err, "ValidationException", 400, "at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern")
	_, err = e.c.TagResource(e.ctx, &awslambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{}})
	checkErr(t, "empty tags", err, "InvalidParameterValueException", 400, "An error occurred and the request cannot be processed.")
	many := map[string]string{}
	for i := range 50 {
		many["k"+string(rune('A'+i%26))+string(rune('a'+i/26))] = "v"
	}
	_, err = e.c.TagResource(e.ctx, &awslambda.TagResourceInput{Resource: aws.String(arn), Tags: many})
	checkErr(t, "too many", err, "InvalidParameterValueException", 400, "Number of tags exceeds resource tag limit.")
}

func TestNames(t *testing.T) {
	e := start(t)
	e.create("fn-n", nil)
	for _, name := range []string{"fn-n", arnOf("fn-n"), account + ":function:fn-n", region + ":" + account + ":function:fn-n"} {
		if _, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(name)}); err != nil {
			t.Errorf("GetFunction %s: %v", name, err)
		}
	}
	_, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:ap-southeast-1:" + account + ":function:fn-n")})
	checkErr(t, "other region", err, "ResourceNotFoundException", 404, "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')")
	_, err = e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:111122223333:function:fn-n")})
	checkErr(t, "other account", err, "AccessDeniedException", 403, "")
	_, err = e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:" + account + ":function:fn-n:bad?q")})
	checkErr(t, "bad qualifier", err, "ValidationException", 400, "Member must satisfy regular expression pattern")
	_, err = e.c.ListFunctions(e.ctx, &awslambda.ListFunctionsInput{FunctionVersion: "bogus"})
	checkErr(t, "bad FunctionVersion", err, "ValidationException", 400, "Value 'bogus' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]")
}

func TestListFunctions(t *testing.T) {
	e := start(t)
	for _, name := range []string{"b", "a", "c"} {
		e.create(name, nil)
	}
	e.publish("b")
	var names []string
	var marker *string
	for {
		page, err := e.c.ListFunctions(e.ctx, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionArn))
		}
		if marker = page.NextMarker; marker == nil {
			break
		}
	}
	if want := []string{arnOf("a"), arnOf("b"), arnOf("c")}; len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("ListFunctions = %v, want %v", names, want)
	}
	names = nil
	for {
		page, err := e.c.ListFunctions(e.ctx, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(1), Marker: marker, FunctionVersion: types.FunctionVersionAll})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName)+":"+aws.ToString(f.Version))
		}
		if marker = page.NextMarker; marker == nil {
			break
		}
	}
	if want := "a:$LATEST b:$LATEST b:1 c:$LATEST"; strings.Join(names, " ") != want {
		t.Errorf("ListFunctions ALL = %s, want %s", strings.Join(names, " "), want)
	}
	_, err := e.c.ListFunctions(e.ctx, &awslambda.ListFunctionsInput{Marker: aws.String("garbage!")})
	checkErr(t, "bad marker", err, "InvalidParameterValueException", 400, "marker")
}

func TestAuth(t *testing.T) {
	e := start(t)
	e.create("fn-auth", nil)

	// Anonymous.
	resp, err := http.Get(e.n.Endpoint + "/2015-03-31/functions/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Errorf("anonymous: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	// Unknown key and wrong secret.
	_, err = e.client("AKIAUNKNOWN000000000", "x").ListFunctions(e.ctx, &awslambda.ListFunctionsInput{})
	checkErr(t, "unknown key", err, "UnrecognizedClientException", 403, "The security token included in the request is invalid.")
	_, err = e.client("AKIASLUICETEST000001", "wrong").ListFunctions(e.ctx, &awslambda.ListFunctionsInput{})
	checkErr(t, "wrong secret", err, "InvalidSignatureException", 403, "signature")

	// An IAM user may not manage functions yet.
	ic := iam.NewFromConfig(e.n.AWSConfig())
	if _, err := ic.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	uc := e.client(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey))
	_, err = uc.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-auth")})
	checkErr(t, "IAM user", err, "AccessDeniedException", 403,
		"User: arn:aws:iam::"+account+":user/dev is not authorized to perform: lambda:GetFunction on resource: "+arnOf("fn-auth"))

	// The function's own credentials: not the root's, accepted by S3
	// and by Lambda.
	if _, err := e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-auth")}); err != nil {
		t.Fatal(err)
	}
	d := e.engine.deps[len(e.engine.deps)-1]
	if d.Credentials.AccessKeyID == "" || d.Credentials.AccessKeyID == "AKIASLUICETEST000001" {
		t.Fatalf("function credentials %q", d.Credentials.AccessKeyID)
	}
	cfg := e.n.AWSConfig()
	cfg.Credentials = aws.NewCredentialsCache(staticCreds(d.Credentials.AccessKeyID, d.Credentials.SecretAccessKey))
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("from-function")}); err != nil {
		t.Errorf("S3 with the function's key: %v", err)
	}
	if _, err := e.client(d.Credentials.AccessKeyID, d.Credentials.SecretAccessKey).GetFunction(e.ctx,
		&awslambda.GetFunctionInput{FunctionName: aws.String("fn-auth")}); err != nil {
		t.Errorf("Lambda with the function's key: %v", err)
	}
	// The key dies with the function.
	if _, err := e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-auth")}); err != nil {
		t.Fatal(err)
	}
	_, err = s3c.ListBuckets(e.ctx, &s3.ListBucketsInput{})
	checkErr(t, "deleted function's key", err, "InvalidAccessKeyId", 403, "")
}
