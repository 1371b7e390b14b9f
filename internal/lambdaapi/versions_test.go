package lambdaapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestVersions(t *testing.T) {
	e := start(t)
	code := makeZip(t, handlerZip)
	e.create("fn-v", code)
	v1 := e.publish("fn-v")
	if aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != arnOf("fn-v")+":1" || v1.State != types.StateActive {
		t.Errorf("first publish: version %s arn %s state %s", aws.ToString(v1.Version), aws.ToString(v1.FunctionArn), v1.State)
	}
	// Nothing changed: the same version comes back.
	if again := e.publish("fn-v"); aws.ToString(again.Version) != "1" || aws.ToString(again.RevisionId) != aws.ToString(v1.RevisionId) {
		t.Errorf("unchanged publish made version %s", aws.ToString(again.Version))
	}
	_, err := e.c.PublishVersion(e.ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("fn-v"), RevisionId: aws.String("nope")})
	checkErr(t, "publish with stale RevisionId", err, "PreconditionFailedException", 412, "The Revision Id provided does not match the latest Revision Id")
	_, err = e.c.PublishVersion(e.ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("fn-v"), CodeSha256: aws.String("abc")})
	checkErr(t, "publish with other CodeSha256", err, "InvalidParameterValueException", 400,
		"CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST ("+sha256b64(code)+"). Please try again with the CodeSHA256 in $LATEST.")

	if _, err := e.c.UpdateFunctionConfiguration(e.ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("fn-v"), Description: aws.String("second"),
	}); err != nil {
		t.Fatal(err)
	}
	v2, err := e.c.PublishVersion(e.ctx, &awslambda.PublishVersionInput{
		FunctionName: aws.String("fn-v"), Description: aws.String("v2 notes"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v2.Version) != "2" || aws.ToString(v2.Description) != "v2 notes" {
		t.Errorf("second publish: version %s description %q", aws.ToString(v2.Version), aws.ToString(v2.Description))
	}

	// Listing: $LATEST, 1, 2, page by page.
	var seen []string
	var marker *string
	for {
		page, err := e.c.ListVersionsByFunction(e.ctx, &awslambda.ListVersionsByFunctionInput{
			FunctionName: aws.String("fn-v"), MaxItems: aws.Int32(2), Marker: marker,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			seen = append(seen, aws.ToString(v.Version)+"="+aws.ToString(v.FunctionArn))
			if v.State != "" || v.LastUpdateStatus != "" {
				t.Errorf("listed version %s reports state %q/%q", aws.ToString(v.Version), v.State, v.LastUpdateStatus)
			}
		}
		if marker = page.NextMarker; marker == nil {
			break
		}
	}
	want := []string{"$LATEST=" + arnOf("fn-v") + ":$LATEST", "1=" + arnOf("fn-v") + ":1", "2=" + arnOf("fn-v") + ":2"}
	if len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Errorf("ListVersionsByFunction = %v, want %v", seen, want)
	}

	// Qualified reads: by Qualifier and by qualified ARN.
	for _, in := range []*awslambda.GetFunctionInput{
		{FunctionName: aws.String("fn-v"), Qualifier: aws.String("1")},
		{FunctionName: aws.String(arnOf("fn-v") + ":1")},
		{FunctionName: aws.String(account + ":function:fn-v:1")},
		{FunctionName: aws.String("fn-v:1")},
	} {
		got, err := e.c.GetFunction(e.ctx, in)
		if err != nil {
			t.Fatalf("GetFunction %s: %v", aws.ToString(in.FunctionName), err)
		}
		if aws.ToString(got.Configuration.Version) != "1" || aws.ToString(got.Configuration.FunctionArn) != arnOf("fn-v")+":1" {
			t.Errorf("GetFunction %s: version %s arn %s", aws.ToString(in.FunctionName),
				aws.ToString(got.Configuration.Version), aws.ToString(got.Configuration.FunctionArn))
		}
	}
	got, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-v"), Qualifier: aws.String("$LATEST")})
	if err != nil || aws.ToString(got.Configuration.FunctionArn) != arnOf("fn-v")+":$LATEST" {
		t.Errorf("GetFunction $LATEST: %v", err)
	}
	_, err = e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-v"), Qualifier: aws.String("9")})
	checkErr(t, "GetFunction missing version", err, "ResourceNotFoundException", 404, "Function not found: "+arnOf("fn-v")+":9")
	_, err = e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(arnOf("fn-v") + ":1"), Qualifier: aws.String("2")})
	checkErr(t, "mismatched qualifiers", err, "InvalidParameterValueException", 400,
		"The derived qualifier from the function name does not match the specified qualifier.")

	// Deleting versions.
	del := func(q string) error {
		_, err := e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-v"), Qualifier: aws.String(q)})
		return err
	}
	checkErr(t, "delete $LATEST", del("$LATEST"), "InvalidParameterValueException", 400, "$LATEST version cannot be deleted without deleting the function.")
	if err := del("7"); err != nil {
		t.Errorf("deleting a version that does not exist: %v, want success", err)
	}
	if err := del("1"); err != nil {
		t.Fatal(err)
	}
	page, err := e.c.ListVersionsByFunction(e.ctx, &awslambda.ListVersionsByFunctionInput{FunctionName: aws.String("fn-v")})
	if err != nil || len(page.Versions) != 2 || aws.ToString(page.Versions[1].Version) != "2" {
		t.Errorf("versions after deleting 1: %v", err)
	}
	// Version numbers are not reused.
	if _, err := e.c.UpdateFunctionConfiguration(e.ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("fn-v"), Description: aws.String("third"),
	}); err != nil {
		t.Fatal(err)
	}
	if v3 := e.publish("fn-v"); aws.ToString(v3.Version) != "3" {
		t.Errorf("publish after delete made version %s, want 3", aws.ToString(v3.Version))
	}

	// Publish on create and with a code update.
	out := e.create("fn-pub", nil, func(in *awslambda.CreateFunctionInput) { in.Publish = true })
	if aws.ToString(out.Version) != "1" || aws.ToString(out.FunctionArn) != arnOf("fn-pub") {
		t.Errorf("create with Publish: version %s arn %s", aws.ToString(out.Version), aws.ToString(out.FunctionArn))
	}
	uc, err := e.c.UpdateFunctionCode(e.ctx, &awslambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("fn-pub"), ZipFile: makeZip(t, map[string]string{"index.py": "x = 2\n"}), Publish: true,
	})
	if err != nil || aws.ToString(uc.Version) != "2" {
		t.Errorf("UpdateFunctionCode with Publish: %v, version %s", err, aws.ToString(uc.Version))
	}
}

func TestAliases(t *testing.T) {
	e := start(t)
	e.create("fn-a", nil)
	e.publish("fn-a")
	if _, err := e.c.UpdateFunctionConfiguration(e.ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("fn-a"), Description: aws.String("two"),
	}); err != nil {
		t.Fatal(err)
	}
	e.publish("fn-a")

	created, err := e.c.CreateAlias(e.ctx, &awslambda.CreateAliasInput{
		FunctionName:    aws.String("fn-a"),
		Name:            aws.String("live"),
		FunctionVersion: aws.String("1"),
		Description:     aws.String("production"),
		RoutingConfig:   &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.AliasArn) != arnOf("fn-a")+":live" || created.RoutingConfig.AdditionalVersionWeights["2"] != 0.2 ||
		!reUUID.MatchString(aws.ToString(created.RevisionId)) {
		t.Errorf("CreateAlias = %+v", created)
	}
	got, err := e.c.GetAlias(e.ctx, &awslambda.GetAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String("live")})
	if err != nil || aws.ToString(got.RevisionId) != aws.ToString(created.RevisionId) {
		t.Fatalf("GetAlias: %v", err)
	}
	fn, err := e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-a:live")})
	if err != nil || aws.ToString(fn.Configuration.Version) != "1" || aws.ToString(fn.Configuration.FunctionArn) != arnOf("fn-a")+":live" {
		t.Errorf("GetFunction by alias: %v", err)
	}

	mk := func(name, version string, weights map[string]float64) error {
		in := &awslambda.CreateAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String(name), FunctionVersion: aws.String(version)}
		if weights != nil {
			in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: weights}
		}
		_, err := e.c.CreateAlias(e.ctx, in)
		return err
	}
	tests := []struct {
		name    string
		err     error
		code    string
		status  int
		message string
	}{
		{"exists", mk("live", "1", nil), "ResourceConflictException", 409, "Alias already exists: " + arnOf("fn-a") + ":live"},
		{"two weights", mk("a1", "1", map[string]float64{"2": 0.1, "3": 0.1}), "InvalidParameterValueException", 400, "Number of items in AdditionalVersionWeights cannot be greater than 1"},
		{"weight > 1", mk("a2", "1", map[string]float64{"2": 2}), "ValidationException", 400, "Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint"},
		{"latest weighted", mk("a3", "$LATEST", map[string]float64{"2": 0.5}), "InvalidParameterValueException", 400, "$LATEST is not supported for an alias pointing to more than 1 version"},
		{"same version", mk("a4", "1", map[string]float64{"1": 0.5}), "InvalidParameterValueException", 400, "Invalid function version 1. Function version 1 is already included in routing configuration."},
		{"no such version", mk("a5", "10", nil), "ResourceNotFoundException", 404, "Function not found: " + arnOf("fn-a") + ":10"},
		{"numeric name", mk("2024", "1", nil), "ValidationException", 400, "Value '2024' at 'name' failed to satisfy constraint"},
	}
	for _, tc := range tests {
		checkErr(t, tc.name, tc.err, tc.code, tc.status, tc.message)
	}
	_, err = e.c.CreateAlias(e.ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("nope"), Name: aws.String("x"), FunctionVersion: aws.String("1")})
	checkErr(t, "alias of missing function", err, "ResourceNotFoundException", 404, "Function not found: "+arnOf("nope")+":1")

	if err := mk("beta", "$LATEST", nil); err != nil {
		t.Fatal(err)
	}
	list, err := e.c.ListAliases(e.ctx, &awslambda.ListAliasesInput{FunctionName: aws.String("fn-a")})
	if err != nil || len(list.Aliases) != 2 || aws.ToString(list.Aliases[0].Name) != "beta" {
		t.Errorf("ListAliases: %v %+v", err, list)
	}
	list, err = e.c.ListAliases(e.ctx, &awslambda.ListAliasesInput{FunctionName: aws.String("fn-a"), FunctionVersion: aws.String("1")})
	if err != nil || len(list.Aliases) != 1 || aws.ToString(list.Aliases[0].Name) != "live" {
		t.Errorf("ListAliases for version 1: %v %+v", err, list)
	}
	list, err = e.c.ListAliases(e.ctx, &awslambda.ListAliasesInput{FunctionName: aws.String("fn-a"), MaxItems: aws.Int32(1)})
	if err != nil || len(list.Aliases) != 1 || list.NextMarker == nil {
		t.Fatalf("ListAliases page 1: %v", err)
	}
	list, err = e.c.ListAliases(e.ctx, &awslambda.ListAliasesInput{FunctionName: aws.String("fn-a"), MaxItems: aws.Int32(1), Marker: list.NextMarker})
	if err != nil || len(list.Aliases) != 1 || aws.ToString(list.Aliases[0].Name) != "live" || list.NextMarker != nil {
		t.Errorf("ListAliases page 2: %v", err)
	}

	_, err = e.c.UpdateAlias(e.ctx, &awslambda.UpdateAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String("live"),
		FunctionVersion: aws.String("2"), RevisionId: aws.String("stale")})
	checkErr(t, "UpdateAlias stale", err, "PreconditionFailedException", 412, "Revision Id")
	upd, err := e.c.UpdateAlias(e.ctx, &awslambda.UpdateAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String("live"),
		FunctionVersion: aws.String("2"), RoutingConfig: &types.AliasRoutingConfiguration{}, RevisionId: created.RevisionId})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(upd.FunctionVersion) != "2" || upd.RoutingConfig != nil || aws.ToString(upd.Description) != "production" ||
		aws.ToString(upd.RevisionId) == aws.ToString(created.RevisionId) {
		t.Errorf("UpdateAlias = %+v", upd)
	}
	_, err = e.c.UpdateAlias(e.ctx, &awslambda.UpdateAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String("gone"), FunctionVersion: aws.String("1")})
	checkErr(t, "UpdateAlias missing", err, "ResourceNotFoundException", 404, "Alias not found: "+arnOf("fn-a")+":gone")

	// A version an alias points to cannot be deleted.
	_, err = e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-a"), Qualifier: aws.String("2")})
	checkErr(t, "delete aliased version", err, "ResourceConflictException", 409, "Unable to delete version because the following aliases reference it: [live]")
	_, err = e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-a"), Qualifier: aws.String("live")})
	checkErr(t, "delete by alias", err, "InvalidParameterValueException", 400, "Deletion of aliases is not currently supported.")

	if _, err := e.c.DeleteAlias(e.ctx, &awslambda.DeleteAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteAlias(e.ctx, &awslambda.DeleteAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String("live")}); err != nil {
		t.Errorf("deleting a missing alias: %v, want success", err)
	}
	_, err = e.c.GetAlias(e.ctx, &awslambda.GetAliasInput{FunctionName: aws.String("fn-a"), Name: aws.String("live")})
	checkErr(t, "GetAlias after delete", err, "ResourceNotFoundException", 404, "Cannot find alias arn: "+arnOf("fn-a")+":live")
	_, err = e.c.GetFunction(e.ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fn-a"), Qualifier: aws.String("live")})
	checkErr(t, "GetFunction by deleted alias", err, "ResourceNotFoundException", 404, "Function not found: "+arnOf("fn-a")+":live")
	if _, err := e.c.DeleteFunction(e.ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fn-a"), Qualifier: aws.String("2")}); err != nil {
		t.Errorf("delete version once unaliased: %v", err)
	}
}
