package lambdaapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestPermissions(t *testing.T) {
	e := start(t)
	e.create("fn-p", nil)
	e.publish("fn-p")
	arn := arnOf("fn-p")

	out, err := e.c.AddPermission(e.ctx, &awslambda.AddPermissionInput{
		FunctionName:  aws.String("fn-p"),
		StatementId:   aws.String("s3invoke"),
		Action:        aws.String("lambda:InvokeFunction"),
		Principal:     aws.String("s3.amazonaws.com"),
		SourceArn:     aws.String("arn:aws:s3:::bkt"),
		SourceAccount: aws.String(account),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStatement := `{"Sid":"s3invoke","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction",` +
		`"Resource":"` + arn + `","Condition":{"StringEquals":{"AWS:SourceAccount":"` + account + `"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bkt"}}}`
	if aws.ToString(out.Statement) != wantStatement {
		t.Errorf("Statement =\n%s\nwant\n%s", aws.ToString(out.Statement), wantStatement)
	}
	if _, err := e.c.AddPermission(e.ctx, &awslambda.AddPermissionInput{
		FunctionName: aws.String("fn-p"), StatementId: aws.String("acct"),
		Action: aws.String("lambda:GetFunction"), Principal: aws.String("111122223333"),
	}); err != nil {
		t.Fatal(err)
	}
	pol, err := e.c.GetPolicy(e.ctx, &awslambda.GetPolicyInput{FunctionName: aws.String("fn-p")})
	if err != nil {
		t.Fatal(err)
	}
	wantPolicy := `{"Version":"2012-10-17","Id":"default","Statement":[` + wantStatement +
		`,{"Sid":"acct","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:GetFunction","Resource":"` + arn + `"}]}`
	if aws.ToString(pol.Policy) != wantPolicy {
		t.Errorf("Policy =\n%s\nwant\n%s", aws.ToString(pol.Policy), wantPolicy)
	}
	if !reUUID.MatchString(aws.ToString(pol.RevisionId)) {
		t.Errorf("policy RevisionId %q", aws.ToString(pol.RevisionId))
	}

	add := func(name, qualifier, sid, principal, rev string) error {
		in := &awslambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String(sid),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(principal)}
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		if rev != "" {
			in.RevisionId = aws.String(rev)
		}
		_, err := e.c.AddPermission(e.ctx, in)
		return err
	}
	tests := []struct {
		name    string
		err     error
		code    string
		status  int
		message string
	}{
		{"duplicate sid", add("fn-p", "", "s3invoke", "s3.amazonaws.com", ""), "ResourceConflictException", 409,
			"The statement id (s3invoke) provided already exists. Please provide a new statement id, or remove the existing statement."},
		{"latest", add("fn-p", "$LATEST", "x", "s3.amazonaws.com", ""), "InvalidParameterValueException", 400, "We currently do not support adding policies for $LATEST."},
		{"bad principal", add("fn-p", "", "x", "nobody", ""), "InvalidParameterValueException", 400, "The provided principal was invalid. Please check the principal and try again."},
		{"bad sid", add("fn-p", "", "a.b", "s3.amazonaws.com", ""), "ValidationException", 400, "Value 'a.b' at 'statementId' failed to satisfy constraint"},
		{"missing version", add("fn-p", "42", "x", "s3.amazonaws.com", ""), "ResourceNotFoundException", 404, "Function not found: " + arn + ":42"},
		{"missing alias", add("fn-p", "nope", "x", "s3.amazonaws.com", ""), "ResourceNotFoundException", 404, "Cannot find alias arn: " + arn + ":nope"},
		{"missing function", add("gone", "", "x", "s3.amazonaws.com", ""), "ResourceNotFoundException", 404, "Function not found: " + arnOf("gone")},
		{"stale revision", add("fn-p", "", "x", "s3.amazonaws.com", "stale"), "PreconditionFailedException", 412,
			"The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id"},
		{"only through a function URL", func() error {
			_, err := e.c.AddPermission(e.ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("fn-p"), StatementId: aws.String("url"),
				Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"), InvokedViaFunctionUrl: aws.Bool(true)})
			return err
		}(), "InvalidParameterValueException", 400, "sluice does not support InvokedViaFunctionUrl."},
	}
	for _, tc := range tests {
		checkErr(t, tc.name, tc.err, tc.code, tc.status, tc.message)
	}
	if err := add("fn-p", "", "withrev", "events.amazonaws.com", aws.ToString(pol.RevisionId)); err != nil {
		t.Errorf("AddPermission with the current RevisionId: %v", err)
	}

	// A version has a policy of its own.
	if err := add("fn-p", "1", "v1", "s3.amazonaws.com", ""); err != nil {
		t.Fatal(err)
	}
	vpol, err := e.c.GetPolicy(e.ctx, &awslambda.GetPolicyInput{FunctionName: aws.String(arn + ":1")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"v1","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + arn + `:1"}]}`; aws.ToString(vpol.Policy) != want {
		t.Errorf("version policy = %s", aws.ToString(vpol.Policy))
	}

	// Allows, the Go entry point S3 notifications use.
	svc := e.n.Lambda()
	allows := []struct {
		arn, service, source, account string
		want                          bool
	}{
		{arn, "s3.amazonaws.com", "arn:aws:s3:::bkt", account, true},
		{arn + ":$LATEST", "s3.amazonaws.com", "arn:aws:s3:::bkt", account, true},
		{arn, "s3.amazonaws.com", "arn:aws:s3:::other", account, false},
		{arn, "s3.amazonaws.com", "arn:aws:s3:::bkt", "111122223333", false},
		{arn, "s3.amazonaws.com", "arn:aws:s3:::bkt", "", false},
		{arn, "sqs.amazonaws.com", "arn:aws:s3:::bkt", account, false},
		{arn, "events.amazonaws.com", "", "", true},
		{arn + ":1", "s3.amazonaws.com", "arn:aws:s3:::anything", "", true},
		{"fn-p", "s3.amazonaws.com", "arn:aws:s3:::bkt", account, true},
	}
	for _, a := range allows {
		got, err := svc.Allows(e.ctx, a.arn, a.service, a.source, a.account)
		if err != nil || got != a.want {
			t.Errorf("Allows(%s, %s, %s, %s) = %v, %v; want %v", a.arn, a.service, a.source, a.account, got, err, a.want)
		}
	}
	if _, err := svc.Allows(e.ctx, arnOf("gone"), "s3.amazonaws.com", "", ""); err == nil {
		t.Error("Allows on a missing function: no error")
	}

	// Removing.
	rm := func(qualifier, sid, rev string) error {
		in := &awslambda.RemovePermissionInput{FunctionName: aws.String("fn-p"), StatementId: aws.String(sid)}
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		if rev != "" {
			in.RevisionId = aws.String(rev)
		}
		_, err := e.c.RemovePermission(e.ctx, in)
		return err
	}
	checkErr(t, "remove missing sid", rm("", "nope", ""), "ResourceNotFoundException", 404, "Statement nope is not found in resource policy.")
	checkErr(t, "remove stale", rm("", "acct", "stale"), "PreconditionFailedException", 412, "Revision Id")
	for _, sid := range []string{"acct", "s3invoke", "withrev"} {
		if err := rm("", sid, ""); err != nil {
			t.Fatalf("RemovePermission %s: %v", sid, err)
		}
	}
	_, err = e.c.GetPolicy(e.ctx, &awslambda.GetPolicyInput{FunctionName: aws.String("fn-p")})
	checkErr(t, "GetPolicy when empty", err, "ResourceNotFoundException", 404, "The resource you requested does not exist.")
	checkErr(t, "remove from no policy", rm("", "x", ""), "ResourceNotFoundException", 404, "No policy is associated with the given resource.")
	_, err = e.c.RemovePermission(e.ctx, &awslambda.RemovePermissionInput{FunctionName: aws.String("gone"), StatementId: aws.String("x")})
	checkErr(t, "remove on missing function", err, "ResourceNotFoundException", 404, "No policy found for: "+arnOf("gone"))
	if ok, err := svc.Allows(e.ctx, arn, "s3.amazonaws.com", "arn:aws:s3:::bkt", account); ok || err != nil {
		t.Errorf("Allows after removal = %v, %v", ok, err)
	}
}
