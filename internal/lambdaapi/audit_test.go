package lambdaapi_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
)

// servedInputs are the SDK input types of the operations sluice serves.
var servedInputs = []any{
	awslambda.CreateFunctionInput{}, awslambda.ListFunctionsInput{}, awslambda.GetFunctionInput{},
	awslambda.DeleteFunctionInput{}, awslambda.GetFunctionConfigurationInput{}, awslambda.UpdateFunctionConfigurationInput{},
	awslambda.UpdateFunctionCodeInput{}, awslambda.InvokeInput{}, awslambda.InvokeAsyncInput{},
	awslambda.PublishVersionInput{}, awslambda.ListVersionsByFunctionInput{}, awslambda.CreateAliasInput{},
	awslambda.ListAliasesInput{}, awslambda.GetAliasInput{}, awslambda.UpdateAliasInput{}, awslambda.DeleteAliasInput{},
	awslambda.AddPermissionInput{}, awslambda.GetPolicyInput{}, awslambda.RemovePermissionInput{},
	awslambda.PutFunctionConcurrencyInput{}, awslambda.GetFunctionConcurrencyInput{}, awslambda.DeleteFunctionConcurrencyInput{},
	awslambda.PutFunctionEventInvokeConfigInput{}, awslambda.UpdateFunctionEventInvokeConfigInput{},
	awslambda.GetFunctionEventInvokeConfigInput{}, awslambda.DeleteFunctionEventInvokeConfigInput{},
	awslambda.ListFunctionEventInvokeConfigsInput{}, awslambda.PutFunctionRecursionConfigInput{},
	awslambda.GetFunctionRecursionConfigInput{}, awslambda.TagResourceInput{}, awslambda.UntagResourceInput{},
	awslambda.ListTagsInput{}, awslambda.GetAccountSettingsInput{},
}

// boundElsewhere are input members read under another name than their
// own: from the path, the query or a header, or the body as a whole.
var boundElsewhere = map[string]string{
	"FunctionName":         "the path",
	"Name":                 "the path (an alias)",
	"StatementId":          "the path (RemovePermission) or the body",
	"Resource":             "the path (tags)",
	"InvocationType":       "X-Amz-Invocation-Type",
	"LogType":              "X-Amz-Log-Type",
	"ClientContext":        "X-Amz-Client-Context",
	"TenantId":             "X-Amz-Tenant-Id (refused)",
	"DurableExecutionName": "X-Amz-Durable-Execution-Name (refused)",
	"Payload":              "the request body",
	"InvokeArgs":           "the request body (InvokeAsync)",
	"TagKeys":              "the tagKeys query parameter",
}

// TestServedInputMembers is the Lambda side of sdkaudit (whose parser the
// Lambda SDK's schema-based serializers do not fit): every member of the
// input of an operation sluice serves must be named by a json tag, a
// query, path or header read of this package, or boundElsewhere, so that
// a member a newer SDK adds is refused or served, never dropped.
func TestServedInputMembers(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	var code strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code.Write(b)
	}
	src := code.String()
	for _, in := range servedInputs {
		typ := reflect.TypeOf(in)
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if boundElsewhere[name] != "" || strings.Contains(src, `json:"`+name+`"`) || strings.Contains(src, `query("`+name+`")`) ||
				strings.Contains(src, `Get("`+name+`")`) {
				continue
			}
			t.Errorf("%s: member %s is read nowhere", typ.Name(), name)
		}
	}
}
