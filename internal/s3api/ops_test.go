package s3api

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// sdkSerializers returns the request serializers of the aws-sdk-go-v2 S3
// client in go.mod: the S3 model as a client sends it.
func sdkSerializers(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2/service/s3").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "serializers.go"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// packageSources returns the text of the non-test Go files in dirs.
func packageSources(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	return out
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
	src := sdkSerializers(t)
	code := strings.ToLower(strings.Join(packageSources(t, ".", "../objstore", "../sigv4"), "\n"))
	served := map[string]bool{}
	for _, o := range ops {
		served[o.name] = true
	}
	// Header names built from a prefix in the code.
	prefixes := []string{"x-amz-checksum-", "x-amz-copy-source-server-side-encryption-customer-", "x-amz-meta-", "x-amz-grant-"}
	bodies := regexp.MustCompile(`\nfunc awsRestxml_serializeOpHttpBindings(\w+)Input\(`).FindAllStringSubmatchIndex(src, -1)
	if len(bodies) < 50 {
		t.Fatalf("found %d operations in the SDK's serializers; the pattern no longer matches", len(bodies))
	}
	header := regexp.MustCompile(`locationName := "([^"]+)"|SetQuery\("([^"]+)"\)`)
	for i, m := range bodies {
		op := src[m[2]:m[3]]
		if !served[op] {
			continue
		}
		end := len(src)
		if i+1 < len(bodies) {
			end = bodies[i+1][0]
		}
		for _, h := range header.FindAllStringSubmatch(src[m[1]:end], -1) {
			name := strings.ToLower(h[1] + h[2])
			if _, ok := ignoredHeaders[name]; ok || strings.Contains(code, `"`+name+`"`) {
				continue
			}
			if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
				continue
			}
			t.Errorf("%s: header or query parameter %s is neither read nor listed in ignoredHeaders", op, name)
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
	src := sdkSerializers(t)
	tags := map[string]bool{}
	tag := regexp.MustCompile(`xml:"([^",]+)`)
	for _, code := range packageSources(t, ".", "../objstore") {
		for _, m := range tag.FindAllStringSubmatch(code, -1) {
			for _, part := range strings.Split(m[1], ">") {
				tags[part] = true
			}
		}
	}
	// The body of every serializer function, by name.
	fn := regexp.MustCompile(`\nfunc (awsRestxml_serialize\w+)\(`)
	locs := fn.FindAllStringSubmatchIndex(src, -1)
	body := map[string]string{}
	for i, l := range locs {
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body[src[l[2]:l[3]]] = src[l[1]:end]
	}
	call := regexp.MustCompile(`(awsRestxml_serializeDocument\w+)\(`)
	local := regexp.MustCompile(`Local: "([^"]+)"`)
	var walk func(name string, seen map[string]bool, found func(string))
	walk = func(name string, seen map[string]bool, found func(string)) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, m := range local.FindAllStringSubmatch(body[name], -1) {
			found(m[1])
		}
		for _, m := range call.FindAllStringSubmatch(body[name], -1) {
			walk(m[1], seen, found)
		}
	}
	checked := 0
	for _, o := range ops {
		handler := regexp.MustCompile(`func \(m \*awsRestxml_serializeOp` + o.name + `\) HandleSerialize`).FindStringIndex(src)
		if handler == nil {
			continue
		}
		end := strings.Index(src[handler[1]:], "\nfunc ")
		seen := map[string]bool{}
		for _, m := range call.FindAllStringSubmatch(src[handler[1]:handler[1]+end], -1) {
			walk(m[1], seen, func(el string) {
				checked++
				if !tags[el] && ignoredElements[el] == "" {
					t.Errorf("%s: element %s is named by no xml tag and not listed in ignoredElements", o.name, el)
				}
			})
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d elements; the SDK's serializers no longer match the patterns", checked)
	}
}
