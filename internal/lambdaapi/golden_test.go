package lambdaapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// volatile matches the members whose values change from run to run.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`"RevisionId":"[^"]*"`), `"RevisionId":"<uuid>"`},
	{regexp.MustCompile(`"LastModified":"[^"]*"`), `"LastModified":"<date>"`},
	{regexp.MustCompile(`"LastModified":[0-9.e+]+`), `"LastModified":"<epoch>"`},
	{regexp.MustCompile(`"CodeSha256":"[^"]*"`), `"CodeSha256":"<sha256>"`},
	{regexp.MustCompile(`"CodeSize":[0-9]+`), `"CodeSize":"<size>"`},
	{regexp.MustCompile(`"AccountUsage":\{"TotalCodeSize":[0-9]+`), `"AccountUsage":{"TotalCodeSize":"<size>"`},
	{regexp.MustCompile(`"Location":"[^"]*"`), `"Location":"<url>"`},
}

// golden compares a response body, normalised and indented, with
// testdata/<name>.json.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	for _, v := range volatile {
		body = v.re.ReplaceAll(body, []byte(v.with))
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		t.Fatalf("%s: %v: %s", name, err, body)
	}
	out.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("%s differs from %s:\n%s", name, path, out.Bytes())
	}
}

// TestGoldenShapes pins the JSON the API answers with: member names, which
// members appear when, and error bodies.
func TestGoldenShapes(t *testing.T) {
	e := start(t)
	zip := base64.StdEncoding.EncodeToString(makeZip(t, handlerZip))
	calls := []struct {
		name, method, path, body string
		status                   int
	}{
		{"create_function", "POST", "/2015-03-31/functions", `{"FunctionName":"golden","Role":"` + role + `","Runtime":"python3.12",` +
			`"Handler":"index.handler","Description":"pinned","Environment":{"Variables":{"STAGE":"test"}},"Code":{"ZipFile":"` + zip + `"},` +
			`"Tags":{"team":"core"}}`, 201},
		{"get_function", "GET", "/2015-03-31/functions/golden", "", 200},
		{"update_function_configuration", "PUT", "/2015-03-31/functions/golden/configuration", `{"MemorySize":256}`, 200},
		{"publish_version", "POST", "/2015-03-31/functions/golden/versions", `{"Description":"v1"}`, 201},
		{"get_function_configuration_version", "GET", "/2015-03-31/functions/golden/configuration?Qualifier=1", "", 200},
		{"list_versions", "GET", "/2015-03-31/functions/golden/versions", "", 200},
		{"list_functions", "GET", "/2015-03-31/functions/", "", 200},
		{"create_alias", "POST", "/2015-03-31/functions/golden/aliases", `{"Name":"live","FunctionVersion":"1"}`, 201},
		{"add_permission", "POST", "/2015-03-31/functions/golden/policy", `{"StatementId":"s3","Action":"lambda:InvokeFunction",` +
			`"Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::bkt","SourceAccount":"` + account + `"}`, 201},
		{"get_policy", "GET", "/2015-03-31/functions/golden/policy", "", 200},
		{"put_event_invoke_config", "PUT", "/2019-09-25/functions/golden/event-invoke-config", `{"MaximumRetryAttempts":1}`, 200},
		{"put_concurrency", "PUT", "/2017-10-31/functions/golden/concurrency", `{"ReservedConcurrentExecutions":5}`, 200},
		{"get_account_settings", "GET", "/2016-08-19/account-settings/", "", 200},
		{"error_not_found", "GET", "/2015-03-31/functions/missing", "", 404},
		{"error_conflict", "POST", "/2015-03-31/functions/golden/aliases", `{"Name":"live","FunctionVersion":"1"}`, 409},
		{"error_validation", "PUT", "/2015-03-31/functions/golden/configuration", `{"MemorySize":1}`, 400},
		{"error_precondition", "PUT", "/2015-03-31/functions/golden/configuration", `{"Description":"x","RevisionId":"stale"}`, 412},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.raw(c.method, c.path, []byte(c.body), map[string]string{"Content-Type": "application/json"})
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if c.status >= 400 && resp.Header.Get("x-amzn-ErrorType") == "" {
				t.Error("no x-amzn-ErrorType")
			}
			golden(t, c.name, body)
		})
	}
}
