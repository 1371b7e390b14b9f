package bench

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
)

// endpointFlags is how the function, event, Object Lambda and batch benches
// reach a sluice endpoint: its URL and credentials, from flags or the
// environment.
type endpointFlags struct {
	endpoint  *url.URL
	accessKey string
	secretKey string
	region    string

	rawEndpoint string
}

// register defines --endpoint (described by what), --access-key,
// --secret-key and --region on fs.
func (t *endpointFlags) register(fs *flag.FlagSet, getenv func(string) string, what string) {
	fs.StringVar(&t.rawEndpoint, "endpoint", "http://127.0.0.1:9000", what)
	fs.StringVar(&t.accessKey, "access-key", getenv("AWS_ACCESS_KEY_ID"), "access key ID (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&t.secretKey, "secret-key", getenv("AWS_SECRET_ACCESS_KEY"), "secret access key (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&t.region, "region", "us-east-1", "signing region")
}

// check parses the endpoint and requires the credentials, after fs.Parse;
// cmd names the bench command in errors.
func (t *endpointFlags) check(cmd string) error {
	u, err := url.Parse(t.rawEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("bench %s: --endpoint %q: want http(s)://host[:port]", cmd, t.rawEndpoint)
	}
	if t.accessKey == "" || t.secretKey == "" {
		return errors.New("bench " + cmd + ": --access-key and --secret-key (or $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY) are required")
	}
	t.endpoint = u
	return nil
}
