package accesspoint_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The control plane is driven with aws-sdk-go-v2's s3control client, as
// applications use it: the SDK puts the account ID in front of the host
// (000000000000.127.0.0.1:port); the client's dialer sends every
// connection to the node, as the /etc/hosts line of README does.

const account = servertest.AccountID

type env struct {
	t   *testing.T
	n   *servertest.Node
	c   *s3control.Client
	s3  *s3.Client
	ctx context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	n := servertest.Start(t)
	e := &env{t: t, n: n, c: n.S3Control(), s3: n.S3(), ctx: context.Background()}
	for _, b := range []string{"bucket-a", "bucket-b"} {
		if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// wantError checks an SDK error's code and HTTP status.
func wantError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("err = %v, want %s (%d)", err, code, status)
	}
}

func (e *env) create(name, bucket string) *s3control.CreateAccessPointOutput {
	e.t.Helper()
	out, err := e.c.CreateAccessPoint(e.ctx, &s3control.CreateAccessPointInput{
		AccountId: aws.String(account), Name: aws.String(name), Bucket: aws.String(bucket),
	})
	if err != nil {
		e.t.Fatalf("CreateAccessPoint %s: %v", name, err)
	}
	return out
}

var reAlias = regexp.MustCompile(`^[a-z0-9-]{1,20}-[a-z0-9]{26}-s3alias$`)

func TestAccessPoints(t *testing.T) {
	e := start(t)
	out := e.create("reports", "bucket-a")
	if aws.ToString(out.AccessPointArn) != "arn:aws:s3:us-east-1:000000000000:accesspoint/reports" || !reAlias.MatchString(aws.ToString(out.Alias)) {
		t.Fatalf("create: %s %s", aws.ToString(out.AccessPointArn), aws.ToString(out.Alias))
	}
	alias := aws.ToString(out.Alias)
	e.create("archive", "bucket-b")
	_, err := e.c.CreateAccessPoint(e.ctx, &s3control.CreateAccessPointInput{
		AccountId: aws.String(account), Name: aws.String("private"), Bucket: aws.String("bucket-a"),
		VpcConfiguration:               &types.VpcConfiguration{VpcId: aws.String("vpc-1")},
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(false)},
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"reports", alias} {
		g, err := e.c.GetAccessPoint(e.ctx, &s3control.GetAccessPointInput{AccountId: aws.String(account), Name: aws.String(name)})
		if err != nil {
			t.Fatalf("GetAccessPoint %s: %v", name, err)
		}
		if aws.ToString(g.Name) != "reports" || aws.ToString(g.Bucket) != "bucket-a" || aws.ToString(g.Alias) != alias ||
			g.NetworkOrigin != types.NetworkOriginInternet || g.CreationDate == nil || aws.ToString(g.BucketAccountId) != account ||
			!aws.ToBool(g.PublicAccessBlockConfiguration.BlockPublicAcls) || g.Endpoints["ipv4"] == "" {
			t.Errorf("GetAccessPoint %s: %+v", name, g)
		}
	}
	g, err := e.c.GetAccessPoint(e.ctx, &s3control.GetAccessPointInput{AccountId: aws.String(account), Name: aws.String("private")})
	if err != nil || g.NetworkOrigin != types.NetworkOriginVpc || aws.ToString(g.VpcConfiguration.VpcId) != "vpc-1" ||
		aws.ToBool(g.PublicAccessBlockConfiguration.BlockPublicAcls) {
		t.Errorf("GetAccessPoint private: %+v %v", g, err)
	}

	t.Run("list", func(t *testing.T) {
		var names []string
		var token *string
		for {
			l, err := e.c.ListAccessPoints(e.ctx, &s3control.ListAccessPointsInput{AccountId: aws.String(account), MaxResults: 2, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, ap := range l.AccessPointList {
				names = append(names, aws.ToString(ap.Name)+"@"+aws.ToString(ap.Bucket))
			}
			if token = l.NextToken; token == nil {
				break
			}
		}
		if got := strings.Join(names, ","); got != "archive@bucket-b,private@bucket-a,reports@bucket-a" {
			t.Errorf("ListAccessPoints: %s", got)
		}
		l, err := e.c.ListAccessPoints(e.ctx, &s3control.ListAccessPointsInput{AccountId: aws.String(account), Bucket: aws.String("bucket-b")})
		if err != nil || len(l.AccessPointList) != 1 || aws.ToString(l.AccessPointList[0].AccessPointArn) != "arn:aws:s3:us-east-1:000000000000:accesspoint/archive" {
			t.Errorf("ListAccessPoints bucket-b: %+v %v", l, err)
		}
		_, err = e.c.ListAccessPoints(e.ctx, &s3control.ListAccessPointsInput{AccountId: aws.String(account), NextToken: aws.String("!!")})
		wantError(t, err, "InvalidRequest", 400)
	})

	t.Run("policy", func(t *testing.T) {
		name := aws.String("reports")
		_, err := e.c.GetAccessPointPolicy(e.ctx, &s3control.GetAccessPointPolicyInput{AccountId: aws.String(account), Name: name})
		wantError(t, err, "NoSuchAccessPointPolicy", 404)
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:us-east-1:000000000000:accesspoint/reports/object/*"}]}`
		if _, err := e.c.PutAccessPointPolicy(e.ctx, &s3control.PutAccessPointPolicyInput{AccountId: aws.String(account), Name: name, Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		p, err := e.c.GetAccessPointPolicy(e.ctx, &s3control.GetAccessPointPolicyInput{AccountId: aws.String(account), Name: name})
		if err != nil || aws.ToString(p.Policy) != policy {
			t.Fatalf("GetAccessPointPolicy: %v %v", p, err)
		}
		for _, bad := range []string{"not json", `["a"]`, `{"Version":"2012-10-17"}`} {
			_, err := e.c.PutAccessPointPolicy(e.ctx, &s3control.PutAccessPointPolicyInput{AccountId: aws.String(account), Name: name, Policy: aws.String(bad)})
			wantError(t, err, "MalformedPolicy", 400)
		}
		_, err = e.c.PutAccessPointPolicy(e.ctx, &s3control.PutAccessPointPolicyInput{AccountId: aws.String(account), Name: aws.String("nope"), Policy: aws.String(policy)})
		wantError(t, err, "NoSuchAccessPoint", 404)
		if _, err := e.c.DeleteAccessPointPolicy(e.ctx, &s3control.DeleteAccessPointPolicyInput{AccountId: aws.String(account), Name: name}); err != nil {
			t.Fatal(err)
		}
		_, err = e.c.GetAccessPointPolicy(e.ctx, &s3control.GetAccessPointPolicyInput{AccountId: aws.String(account), Name: name})
		wantError(t, err, "NoSuchAccessPointPolicy", 404)
	})

	t.Run("data plane", func(t *testing.T) {
		// The alias takes a bucket's place for object requests.
		if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(alias), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
			t.Fatalf("PutObject through alias: %v", err)
		}
		if _, err := e.s3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket-a"), Key: aws.String("k")}); err != nil {
			t.Fatalf("object written through the alias is not in the bucket: %v", err)
		}
		l, err := e.s3.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(alias)})
		if err != nil || len(l.Contents) != 1 {
			t.Fatalf("ListObjectsV2 through alias: %v", err)
		}
		_, err = e.s3.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(alias)})
		wantError(t, err, "InvalidRequest", 400)
		_, err = e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String("nothing-aaaaaaaaaaaaaaaaaaaaaaaaaa-s3alias"), Key: aws.String("k")})
		wantError(t, err, "InvalidAccessPointAliasError", 400)
		// Copy with the access point's ARN as the source.
		if _, err := e.s3.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String("bucket-b"), Key: aws.String("copied"),
			CopySource: aws.String("arn:aws:s3:us-east-1:000000000000:accesspoint/reports/object/k"),
		}); err != nil {
			t.Fatalf("CopyObject from access point ARN: %v", err)
		}
		if _, err := e.s3.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String("bucket-b"), Key: aws.String("copied2"), CopySource: aws.String(alias + "/k"),
		}); err != nil {
			t.Fatalf("CopyObject from access point alias: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := e.c.DeleteAccessPoint(e.ctx, &s3control.DeleteAccessPointInput{AccountId: aws.String(account), Name: aws.String("archive")}); err != nil {
			t.Fatal(err)
		}
		_, err := e.c.GetAccessPoint(e.ctx, &s3control.GetAccessPointInput{AccountId: aws.String(account), Name: aws.String("archive")})
		wantError(t, err, "NoSuchAccessPoint", 404)
		_, err = e.c.DeleteAccessPoint(e.ctx, &s3control.DeleteAccessPointInput{AccountId: aws.String(account), Name: aws.String("archive")})
		wantError(t, err, "NoSuchAccessPoint", 404)
	})
}

func TestAccessPointErrors(t *testing.T) {
	e := start(t)
	e.create("taken", "bucket-a")
	for _, tc := range []struct {
		name, bucket, account string
		code                  string
		status                int
	}{
		{"ab", "bucket-a", account, "InvalidURI", 400},
		{strings.Repeat("a", 51), "bucket-a", account, "InvalidURI", 400},
		{"Upper", "bucket-a", account, "InvalidURI", 400},
		{"under_score", "bucket-a", account, "InvalidURI", 400},
		{"-leading", "bucket-a", account, "InvalidRequest", 400},
		{"trailing-", "bucket-a", account, "InvalidRequest", 400},
		{"ends-s3alias", "bucket-a", account, "InvalidRequest", 400},
		{"no-bucket", "missing-bucket", account, "InvalidRequest", 400},
		{"taken", "bucket-a", account, "AccessPointAlreadyOwnedByYou", 409},
		{"other-account", "bucket-a", "123456789012", "AccessDenied", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateAccessPoint(e.ctx, &s3control.CreateAccessPointInput{
				AccountId: aws.String(tc.account), Name: aws.String(tc.name), Bucket: aws.String(tc.bucket),
			})
			wantError(t, err, tc.code, tc.status)
		})
	}
	_, err := e.c.GetAccessPoint(e.ctx, &s3control.GetAccessPointInput{AccountId: aws.String(account), Name: aws.String("absent")})
	wantError(t, err, "NoSuchAccessPoint", 404)

	_, err = e.c.ListAccessPoints(e.ctx, &s3control.ListAccessPointsInput{AccountId: aws.String(account), DataSourceId: aws.String("fsvol-0123")})
	wantError(t, err, "NotImplemented", 501)

	// Tags are refused, not dropped, and create nothing.
	_, err = e.c.CreateAccessPoint(e.ctx, &s3control.CreateAccessPointInput{AccountId: aws.String(account), Name: aws.String("tagged"),
		Bucket: aws.String("bucket-a"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}})
	wantError(t, err, "NotImplemented", 501)
	_, err = e.c.GetAccessPoint(e.ctx, &s3control.GetAccessPointInput{AccountId: aws.String(account), Name: aws.String("tagged")})
	wantError(t, err, "NoSuchAccessPoint", 404)
}

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:transform"

func olapConfig(ap string, actions ...types.ObjectLambdaTransformationConfigurationAction) *types.ObjectLambdaConfiguration {
	return &types.ObjectLambdaConfiguration{
		SupportingAccessPoint: aws.String("arn:aws:s3:us-east-1:000000000000:accesspoint/" + ap),
		TransformationConfigurations: []types.ObjectLambdaTransformationConfiguration{{
			Actions: actions,
			ContentTransformation: &types.ObjectLambdaContentTransformationMemberAwsLambda{
				Value: types.AwsLambdaTransformation{FunctionArn: aws.String(fnARN)},
			},
		}},
	}
}

var reOLAPAlias = regexp.MustCompile(`^[a-z0-9-]{1,20}-[a-z0-9]{26}--ol-s3$`)

func TestObjectLambdaAccessPoints(t *testing.T) {
	e := start(t)
	e.create("supporting", "bucket-a")
	cfg := olapConfig("supporting", types.ObjectLambdaTransformationConfigurationActionGetObject, types.ObjectLambdaTransformationConfigurationActionHeadObject)
	cfg.AllowedFeatures = []types.ObjectLambdaAllowedFeature{types.ObjectLambdaAllowedFeatureGetObjectRange}
	cfg.CloudWatchMetricsEnabled = true
	cfg.TransformationConfigurations[0].ContentTransformation = &types.ObjectLambdaContentTransformationMemberAwsLambda{
		Value: types.AwsLambdaTransformation{FunctionArn: aws.String(fnARN + ":$LATEST"), FunctionPayload: aws.String(`{"x":1}`)},
	}
	out, err := e.c.CreateAccessPointForObjectLambda(e.ctx, &s3control.CreateAccessPointForObjectLambdaInput{
		AccountId: aws.String(account), Name: aws.String("transformed"), Configuration: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	alias := aws.ToString(out.Alias.Value)
	if aws.ToString(out.ObjectLambdaAccessPointArn) != "arn:aws:s3-object-lambda:us-east-1:000000000000:accesspoint/transformed" ||
		!reOLAPAlias.MatchString(alias) || out.Alias.Status != types.ObjectLambdaAccessPointAliasStatusReady {
		t.Fatalf("create: %s %+v", aws.ToString(out.ObjectLambdaAccessPointArn), out.Alias)
	}
	for _, name := range []string{"transformed", alias} {
		g, err := e.c.GetAccessPointForObjectLambda(e.ctx, &s3control.GetAccessPointForObjectLambdaInput{AccountId: aws.String(account), Name: aws.String(name)})
		if err != nil || aws.ToString(g.Name) != "transformed" || aws.ToString(g.Alias.Value) != alias || g.CreationDate == nil ||
			!aws.ToBool(g.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
			t.Fatalf("GetAccessPointForObjectLambda %s: %+v %v", name, g, err)
		}
	}
	c, err := e.c.GetAccessPointConfigurationForObjectLambda(e.ctx, &s3control.GetAccessPointConfigurationForObjectLambdaInput{AccountId: aws.String(account), Name: aws.String("transformed")})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Configuration
	tr := got.TransformationConfigurations[0]
	lam := tr.ContentTransformation.(*types.ObjectLambdaContentTransformationMemberAwsLambda).Value
	if aws.ToString(got.SupportingAccessPoint) != "arn:aws:s3:us-east-1:000000000000:accesspoint/supporting" ||
		!got.CloudWatchMetricsEnabled || len(got.AllowedFeatures) != 1 || got.AllowedFeatures[0] != types.ObjectLambdaAllowedFeatureGetObjectRange ||
		len(tr.Actions) != 2 || aws.ToString(lam.FunctionArn) != fnARN+":$LATEST" || aws.ToString(lam.FunctionPayload) != `{"x":1}` {
		t.Errorf("configuration: %+v", got)
	}

	// Replace the configuration.
	if _, err := e.c.PutAccessPointConfigurationForObjectLambda(e.ctx, &s3control.PutAccessPointConfigurationForObjectLambdaInput{
		AccountId: aws.String(account), Name: aws.String("transformed"),
		Configuration: olapConfig("supporting", types.ObjectLambdaTransformationConfigurationActionListObjectsV2),
	}); err != nil {
		t.Fatal(err)
	}
	c, err = e.c.GetAccessPointConfigurationForObjectLambda(e.ctx, &s3control.GetAccessPointConfigurationForObjectLambdaInput{AccountId: aws.String(account), Name: aws.String("transformed")})
	if err != nil || len(c.Configuration.AllowedFeatures) != 0 || c.Configuration.TransformationConfigurations[0].Actions[0] != types.ObjectLambdaTransformationConfigurationActionListObjectsV2 {
		t.Errorf("after Put: %+v %v", c, err)
	}

	for _, n := range []string{"b-olap", "c-olap"} {
		if _, err := e.c.CreateAccessPointForObjectLambda(e.ctx, &s3control.CreateAccessPointForObjectLambdaInput{
			AccountId: aws.String(account), Name: aws.String(n), Configuration: olapConfig("supporting", types.ObjectLambdaTransformationConfigurationActionGetObject),
		}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var token *string
	for {
		l, err := e.c.ListAccessPointsForObjectLambda(e.ctx, &s3control.ListAccessPointsForObjectLambdaInput{AccountId: aws.String(account), MaxResults: 2, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.ObjectLambdaAccessPointList {
			if !strings.HasSuffix(aws.ToString(o.ObjectLambdaAccessPointArn), ":accesspoint/"+aws.ToString(o.Name)) || !reOLAPAlias.MatchString(aws.ToString(o.Alias.Value)) {
				t.Errorf("list entry %+v", o)
			}
			names = append(names, aws.ToString(o.Name))
		}
		if token = l.NextToken; token == nil {
			break
		}
	}
	if strings.Join(names, ",") != "b-olap,c-olap,transformed" {
		t.Errorf("ListAccessPointsForObjectLambda: %v", names)
	}

	if _, err := e.c.DeleteAccessPointForObjectLambda(e.ctx, &s3control.DeleteAccessPointForObjectLambdaInput{AccountId: aws.String(account), Name: aws.String("b-olap")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetAccessPointForObjectLambda(e.ctx, &s3control.GetAccessPointForObjectLambdaInput{AccountId: aws.String(account), Name: aws.String("b-olap")})
	wantError(t, err, "NoSuchAccessPoint", 404)
	_, err = e.c.DeleteAccessPointForObjectLambda(e.ctx, &s3control.DeleteAccessPointForObjectLambdaInput{AccountId: aws.String(account), Name: aws.String("b-olap")})
	wantError(t, err, "NoSuchAccessPoint", 404)
	_, err = e.c.GetAccessPointConfigurationForObjectLambda(e.ctx, &s3control.GetAccessPointConfigurationForObjectLambdaInput{AccountId: aws.String(account), Name: aws.String("b-olap")})
	wantError(t, err, "NoSuchAccessPoint", 404)
	_, err = e.c.PutAccessPointConfigurationForObjectLambda(e.ctx, &s3control.PutAccessPointConfigurationForObjectLambdaInput{
		AccountId: aws.String(account), Name: aws.String("b-olap"), Configuration: olapConfig("supporting", types.ObjectLambdaTransformationConfigurationActionGetObject),
	})
	wantError(t, err, "NoSuchAccessPoint", 404)
}

func TestObjectLambdaAccessPointErrors(t *testing.T) {
	e := start(t)
	e.create("supporting", "bucket-a")
	get := types.ObjectLambdaTransformationConfigurationActionGetObject
	if _, err := e.c.CreateAccessPointForObjectLambda(e.ctx, &s3control.CreateAccessPointForObjectLambdaInput{
		AccountId: aws.String(account), Name: aws.String("taken"), Configuration: olapConfig("supporting", get),
	}); err != nil {
		t.Fatal(err)
	}
	withFunction := func(arn string) *types.ObjectLambdaConfiguration {
		c := olapConfig("supporting", get)
		c.TransformationConfigurations[0].ContentTransformation = &types.ObjectLambdaContentTransformationMemberAwsLambda{
			Value: types.AwsLambdaTransformation{FunctionArn: aws.String(arn)},
		}
		return c
	}
	twice := olapConfig("supporting", get)
	twice.TransformationConfigurations = append(twice.TransformationConfigurations, twice.TransformationConfigurations[0])
	badFeature := olapConfig("supporting", get)
	badFeature.AllowedFeatures = []types.ObjectLambdaAllowedFeature{"GetObject-Everything"}
	for _, tc := range []struct {
		desc, name string
		cfg        *types.ObjectLambdaConfiguration
		code       string
		status     int
	}{
		{"short name", "ab", olapConfig("supporting", get), "InvalidURI", 400},
		{"long name", strings.Repeat("a", 46), olapConfig("supporting", get), "InvalidURI", 400},
		{"upper case", "Olap", olapConfig("supporting", get), "InvalidURI", 400},
		{"trailing hyphen", "olap-", olapConfig("supporting", get), "InvalidRequest", 400},
		{"taken", "taken", olapConfig("supporting", get), "AccessPointAlreadyOwnedByYou", 409},
		{"supporting not an ARN", "olap", &types.ObjectLambdaConfiguration{
			SupportingAccessPoint: aws.String("supporting"), TransformationConfigurations: olapConfig("supporting", get).TransformationConfigurations,
		}, "InvalidRequest", 400},
		{"supporting in another account", "olap", &types.ObjectLambdaConfiguration{
			SupportingAccessPoint:        aws.String("arn:aws:s3:us-east-1:123456789012:accesspoint/supporting"),
			TransformationConfigurations: olapConfig("supporting", get).TransformationConfigurations,
		}, "InvalidRequest", 400},
		{"unknown action", "olap", olapConfig("supporting", "PutObject"), "InvalidRequest", 400},
		{"action twice", "olap", twice, "InvalidRequest", 400},
		{"unknown feature", "olap", badFeature, "InvalidRequest", 400},
		{"function in another region", "olap", withFunction("arn:aws:lambda:eu-west-1:000000000000:function:f"), "InvalidRequest", 400},
		{"function in another account", "olap", withFunction("arn:aws:lambda:us-east-1:123456789012:function:f"), "InvalidRequest", 400},
		{"function not an ARN", "olap", withFunction("arn:aws:s3:::bucket"), "InvalidRequest", 400},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := e.c.CreateAccessPointForObjectLambda(e.ctx, &s3control.CreateAccessPointForObjectLambdaInput{
				AccountId: aws.String(account), Name: aws.String(tc.name), Configuration: tc.cfg,
			})
			wantError(t, err, tc.code, tc.status)
		})
	}
	_, err := e.c.PutAccessPointConfigurationForObjectLambda(e.ctx, &s3control.PutAccessPointConfigurationForObjectLambdaInput{
		AccountId: aws.String(account), Name: aws.String("taken"), Configuration: olapConfig("supporting", "DeleteObject"),
	})
	wantError(t, err, "InvalidRequest", 400)
	_, err = e.c.GetAccessPointForObjectLambda(e.ctx, &s3control.GetAccessPointForObjectLambdaInput{AccountId: aws.String("123456789012"), Name: aws.String("taken")})
	wantError(t, err, "AccessDenied", 403)
}
