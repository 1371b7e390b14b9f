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

// TestSubresourcesCoverSDK checks that every subresource of the S3 API
// model, as the aws-sdk-go-v2 in go.mod serializes it, is one route knows:
// a subresource missing from the list would send its operation to the
// plain object or bucket operation of the same method (PutObjectAnnotation
// to PutObject, replacing the object with the annotation).
func TestSubresourcesCoverSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2/service/s3").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "serializers.go"))
	if err != nil {
		t.Fatal(err)
	}
	// Query parameters that select among operations sluice routes by
	// other means, not subresources: the SDK's operation name, and
	// ListObjectsV2's and SelectObjectContent's discriminators.
	notSub := map[string]bool{"x-id": true, "list-type": true, "select-type": true}
	uris := regexp.MustCompile(`SplitURI\("[^"?]*\?([^"]*)"\)`).FindAllStringSubmatch(string(src), -1)
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
