package s3control_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/sdkaudit"
)

// controlPackages hold the S3 Control operations (registered with
// Handler.Handle) and the request shapes they read.
var controlPackages = []string{".", "../accesspoint", "../batch"}

// ignoredControlInputs are headers and query parameters of served S3
// Control operations that sluice does not read, with why.
var ignoredControlInputs = map[string]string{
	"x-amz-account-id": "read by the Handler for every request (its canonical form), not by name per operation",
}

// ignoredControlElements are XML elements of the served operations'
// request documents that no xml tag names, with why.
var ignoredControlElements = map[string]string{}

// TestServedControlRequests holds the S3 Control operations sluice serves
// to account against the model aws-sdk-go-v2's s3control client sends:
// every header, query parameter and XML element must be read (or
// refused) by the code or listed above with its reason. The check is by
// name across the packages, not per operation: an element named anywhere
// counts as read. Elements that can occur inside a member sluice refuses
// whole (an operation type it lacks, ACL grants) pass through their
// parent, whose rawXML field refuses it.
func TestServedControlRequests(t *testing.T) {
	src, err := sdkaudit.Serializers("github.com/aws/aws-sdk-go-v2/service/s3control")
	if err != nil {
		t.Fatal(err)
	}
	all, err := sdkaudit.Operations(src, 50)
	if err != nil {
		t.Fatal(err)
	}
	code, err := sdkaudit.Sources(controlPackages...)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ToLower(strings.Join(code, "\n"))
	tags := sdkaudit.XMLTags(code)
	handle := regexp.MustCompile(`\.Handle\(http\.\w+, "[^"]*", "(\w+)"`)
	served := 0
	for _, m := range handle.FindAllStringSubmatch(strings.Join(code, "\n"), -1) {
		op, ok := all[m[1]]
		if !ok {
			t.Errorf("sluice serves %s, which the SDK's model does not have", m[1])
			continue
		}
		served++
		for _, in := range op.Inputs {
			if ignoredControlInputs[in] == "" && !strings.Contains(joined, `"`+in+`"`) {
				t.Errorf("%s: header or query parameter %s is neither read nor listed", m[1], in)
			}
		}
		for _, el := range op.Elements {
			if !tags[el] && ignoredControlElements[el] == "" && !insideRefused(src, el) {
				t.Errorf("%s: element %s is named by no xml tag and not listed", m[1], el)
			}
		}
	}
	if served < 15 {
		t.Fatalf("found %d served operations; the Handle pattern no longer matches", served)
	}
}

// refusedWhole are elements sluice reads only to refuse (batch's rawXML
// fields, accesspoint's Scope and Tags): whatever they contain is refused
// with them.
var refusedWhole = []string{
	"S3PutObjectAcl", "S3InitiateRestoreObject", "S3PutObjectLegalHold", "S3PutObjectRetention",
	"S3ReplicateObject", "S3UpdateObjectEncryption", "AccessControlGrants", "Scope", "Tags",
}

// insideRefused reports whether element el can be serialized inside one
// of the elements in refusedWhole: inside the document serializer called
// for it, or one that serializer calls.
func insideRefused(src, el string) bool {
	for _, parent := range refusedWhole {
		re := regexp.MustCompile(`Local: "` + parent + `",[\s\S]{0,600}?(awsRestxml_serializeDocument\w+)\(`)
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			if reaches(src, m[1], el, map[string]bool{}) {
				return true
			}
		}
	}
	return false
}

var callTo = regexp.MustCompile(`(awsRestxml_serializeDocument\w+)\(`)

// reaches reports whether the serializer fn, or one it calls, writes el.
func reaches(src, fn, el string, seen map[string]bool) bool {
	if seen[fn] {
		return false
	}
	seen[fn] = true
	i := strings.Index(src, "\nfunc "+fn+"(")
	if i < 0 {
		return false
	}
	end := strings.Index(src[i+1:], "\nfunc ")
	if end < 0 {
		end = len(src) - i - 1
	}
	body := src[i+1 : i+1+end]
	if strings.Contains(body, `Local: "`+el+`"`) {
		return true
	}
	for _, c := range callTo.FindAllStringSubmatch(body, -1) {
		if reaches(src, c[1], el, seen) {
			return true
		}
	}
	return false
}
