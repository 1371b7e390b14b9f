// Package listtransform tests the list-transform example: a LIST
// transformation that hides the keys under private/.
package listtransform

import (
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/objectlambda/olaptest"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestListTransform(t *testing.T) {
	e := olaptest.Start(t)
	e.Bucket("shared", "shared-ap")
	for _, k := range []string{"public/a.txt", "public/b.txt", "private/secret.txt", "readme.txt", "private/x/y.txt", "tmp/z"} {
		e.Put("shared", k, []byte("data of "+k))
	}
	src, err := os.ReadFile("list_transform.py")
	if err != nil {
		t.Fatal(err)
	}
	e.Function("list-transform", "python3.12", "list_transform.handler", servertest.FunctionZip(t, map[string][]byte{"list_transform.py": src}), nil, 128)
	_, alias := e.ObjectLambda("shared-list", "shared-ap", "list-transform", cttypes.ObjectLambdaTransformationConfigurationActionListObjectsV2)

	for _, tc := range []struct {
		delimiter string
		keys      string
		prefixes  string
	}{
		{"", "public/a.txt,public/b.txt,readme.txt,tmp/z", ""},
		{"/", "readme.txt", "public/,tmp/"},
	} {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(alias)}
		if tc.delimiter != "" {
			in.Delimiter = aws.String(tc.delimiter)
		}
		out, err := e.S3.ListObjectsV2(e.Ctx, in)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		var keys, prefixes []string
		for _, c := range out.Contents {
			keys = append(keys, aws.ToString(c.Key))
			if aws.ToInt64(c.Size) == 0 {
				t.Errorf("%s: no size", aws.ToString(c.Key))
			}
		}
		for _, p := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		if strings.Join(keys, ",") != tc.keys || strings.Join(prefixes, ",") != tc.prefixes || aws.ToString(out.Name) != "shared" {
			t.Errorf("delimiter %q: keys %v prefixes %v name %q", tc.delimiter, keys, prefixes, aws.ToString(out.Name))
		}
	}
	// Object reads pass through (only ListObjectsV2 is transformed).
	if _, err := e.S3.GetObject(e.Ctx, &s3.GetObjectInput{Bucket: aws.String(alias), Key: aws.String("private/secret.txt")}); err != nil {
		t.Errorf("GetObject passes through: %v", err)
	}
}
