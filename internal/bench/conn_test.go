package bench

import (
	"io"
	"strings"
	"testing"
)

// TestEndpointFlags checks the endpoint and credential flags every function
// bench shares, through each command's parser.
func TestEndpointFlags(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"AWS_ACCESS_KEY_ID": "envkey", "AWS_SECRET_ACCESS_KEY": "envsecret"}[k]
	}
	none := func(string) string { return "" }
	parsers := map[string]func([]string, func(string) string) (endpointFlags, error){
		"batch": func(a []string, g func(string) string) (endpointFlags, error) {
			c, err := parseBatchConfig(a, g, io.Discard)
			return c.endpointFlags, err
		},
		"events": func(a []string, g func(string) string) (endpointFlags, error) {
			c, err := parseEventsConfig(a, g, io.Discard)
			return c.endpointFlags, err
		},
		"invoke": func(a []string, g func(string) string) (endpointFlags, error) {
			c, err := parseInvokeConfig(a, g, io.Discard)
			return c.endpointFlags, err
		},
		"objectlambda": func(a []string, g func(string) string) (endpointFlags, error) {
			c, err := parseOLAPConfig(a, g, io.Discard)
			return c.endpointFlags, err
		},
	}
	for cmd, parse := range parsers {
		t.Run(cmd, func(t *testing.T) {
			f, err := parse(nil, env)
			if err != nil {
				t.Fatal(err)
			}
			if f.endpoint.String() != "http://127.0.0.1:9000" || f.accessKey != "envkey" || f.secretKey != "envsecret" || f.region != "us-east-1" {
				t.Errorf("defaults: %+v", f)
			}
			f, err = parse([]string{"--endpoint", "https://h:1", "--access-key", "A", "--secret-key", "S", "--region", "r"}, none)
			if err != nil || f.endpoint.Host != "h:1" || f.accessKey != "A" || f.secretKey != "S" || f.region != "r" {
				t.Errorf("flags: %+v, %v", f, err)
			}
			for _, tc := range []struct {
				args []string
				get  func(string) string
				want string
			}{
				{nil, none, "bench " + cmd + ": --access-key and --secret-key"},
				{[]string{"--endpoint", "ftp://x"}, env, "want http(s)://host[:port]"},
				{[]string{"--endpoint", "127.0.0.1:9000"}, env, "want http(s)://host[:port]"},
				{[]string{"--endpoint", "http://h/?q=1"}, env, "want http(s)://host[:port]"},
			} {
				if _, err := parse(tc.args, tc.get); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
				}
			}
		})
	}
}
