package s3api

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/sdkaudit"
)

// sdkSerializers returns the request serializers of the aws-sdk-go-v2 S3
// client in go.mod: the S3 model as a client sends it.
func sdkSerializers(t *testing.T) string {
	t.Helper()
	src, err := sdkaudit.Serializers("github.com/aws/aws-sdk-go-v2/service/s3")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// servedOperations returns the S3 model's operations that sluice serves.
func servedOperations(t *testing.T) map[string]sdkaudit.Operation {
	t.Helper()
	all, err := sdkaudit.Operations(sdkSerializers(t), 50)
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]sdkaudit.Operation{}
	for _, o := range ops {
		if op, ok := all[o.name]; ok {
			served[o.name] = op
		}
	}
	return served
}

// sources returns the non-test sources of the packages in dirs.
func sources(t *testing.T, dirs ...string) []string {
	t.Helper()
	src, err := sdkaudit.Sources(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestSubresourcesCoverSDK checks that every subresource of the S3 API
// model, as the aws-sdk-go-v2 in go.mod serializes it, is one route knows:
// a subresource missing from the list would send its operation to the
// plain object or bucket operation of the same method (PutObjectAnnotation
// to PutObject, replacing the object with the annotation).
func TestSubresourcesCoverSDK(t *testing.T) {
	src := sdkSerializers(t)
	// Query parameters that select among operations sluice routes by
	// other means, not subresources: the SDK's operation name, and
	// ListObjectsV2's and SelectObjectContent's discriminators.
	notSub := map[string]bool{"x-id": true, "list-type": true, "select-type": true}
	uris := regexp.MustCompile(`SplitURI\("[^"?]*\?([^"]*)"\)`).FindAllStringSubmatch(src, -1)
	if len(uris) < 50 {
		t.Fatalf("found %d operation URIs with a query in the SDK's serializers; the pattern no longer matches", len(uris))
	}
	seen := map[string]bool{}
	for _, m := range uris {
		for _, p := range strings.Split(m[1], "&") {
			name, _, _ := strings.Cut(p, "=")
			if notSub[name] || seen[name] {
				continue
			}
			seen[name] = true
			if !slices.Contains(subresources, name) {
				t.Errorf("the SDK's subresource %q is not in subresources", name)
			}
		}
	}
}

// ignoredHeaders are request headers of the S3 model that sluice serves
// an operation with and does not read, each because ignoring it is what
// S3 does in sluice's situation.
var ignoredHeaders = map[string]string{
	"x-amz-request-payer":                     "Requester Pays: sluice has no requester-pays buckets, where S3 ignores it",
	"x-amz-mfa":                               "MFA delete cannot be enabled (PutBucketVersioning with MfaDelete is 501), and S3 ignores it then",
	"x-amz-optional-object-attributes":        "RestoreStatus: sluice has no archived objects to report",
	"x-amz-confirm-remove-self-bucket-access": "PutBucketPolicy: the account root can always change a bucket policy again",
	"x-amz-bucket-object-lock-token":          "S3 has enabled Object Lock on existing buckets without a token since 2023",
}

// TestHeadersOfServedOperations checks that every request header and query
// parameter the S3 model defines for an operation sluice serves is read
// somewhere in this package, objstore or sigv4, or listed in
// ignoredHeaders with its reason: one a new SDK adds would otherwise be
// ignored silently (as x-amz-object-lock-event-hold,
// x-amz-write-offset-bytes and ListBuckets' bucket-region once were).
func TestHeadersOfServedOperations(t *testing.T) {
	code := strings.ToLower(strings.Join(sources(t, ".", "../objstore", "../sigv4"), "\n"))
	// Header names built from a prefix in the code.
	prefixes := []string{"x-amz-checksum-", "x-amz-copy-source-server-side-encryption-customer-", "x-amz-meta-", "x-amz-grant-"}
	for name, op := range servedOperations(t) {
		for _, in := range op.Inputs {
			if _, ok := ignoredHeaders[in]; ok || strings.Contains(code, `"`+in+`"`) {
				continue
			}
			if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(in, p) }) {
				continue
			}
			t.Errorf("%s: header or query parameter %s is neither read nor listed in ignoredHeaders", name, in)
		}
	}
}

// ignoredElements are XML elements of the request documents of served
// operations that no xml tag of this package or objstore names, each with
// why that is right.
var ignoredElements = map[string]string{
	"Queue":          "inside QueueConfiguration, which is refused whole (notification.go)",
	"Topic":          "inside TopicConfiguration, which is refused whole (notification.go)",
	"Type":           "inside CreateBucketConfiguration's Location and Bucket, refused whole",
	"DataRedundancy": "inside CreateBucketConfiguration's Bucket, refused whole",
}

// TestElementsOfServedOperations is TestHeadersOfServedOperations for the
// XML documents requests carry: every element the S3 model can send to an
// operation sluice serves must be named by an xml tag here or in objstore
// (and so be read, or refused), or be listed in ignoredElements. A new
// element would otherwise be dropped by encoding/xml without a word, as
// CreateBucketConfiguration's Tags and Object Lock's event holds once were.
func TestElementsOfServedOperations(t *testing.T) {
	tags := sdkaudit.XMLTags(sources(t, ".", "../objstore"))
	checked := 0
	for name, op := range servedOperations(t) {
		for _, el := range op.Elements {
			checked++
			if !tags[el] && ignoredElements[el] == "" {
				t.Errorf("%s: element %s is named by no xml tag and not listed in ignoredElements", name, el)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d elements; the SDK's serializers no longer match the patterns", checked)
	}
}
