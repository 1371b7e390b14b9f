// Package headtransform tests the head-transform example: a HEAD
// transformation that hides internal metadata.
package headtransform

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/objectlambda/olaptest"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestHeadTransform(t *testing.T) {
	e := olaptest.Start(t)
	e.Bucket("docs", "docs-ap")
	if _, err := e.S3.PutObject(e.Ctx, &s3.PutObjectInput{
		Bucket: aws.String("docs"), Key: aws.String("report.pdf"), Body: stringsReader("%PDF-1.7 ..."),
		ContentType: aws.String("application/pdf"),
		Metadata:    map[string]string{"author": "ada", "internal-reviewer": "bob"},
	}); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("head_transform.py")
	if err != nil {
		t.Fatal(err)
	}
	e.Function("head-transform", "python3.12", "head_transform.handler", servertest.FunctionZip(t, map[string][]byte{"head_transform.py": src}), nil, 128)
	arn, _ := e.ObjectLambda("docs-head", "docs-ap", "head-transform", cttypes.ObjectLambdaTransformationConfigurationActionHeadObject)

	h, err := e.ARNS3.HeadObject(e.Ctx, &s3.HeadObjectInput{Bucket: aws.String(arn), Key: aws.String("report.pdf")})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToInt64(h.ContentLength) != 12 || aws.ToString(h.ContentType) != "application/pdf" || aws.ToString(h.ETag) == "" {
		t.Errorf("headers: length %d type %q etag %q", aws.ToInt64(h.ContentLength), aws.ToString(h.ContentType), aws.ToString(h.ETag))
	}
	if h.Metadata["author"] != "ada" || h.Metadata["served-by"] != "object-lambda" || h.Metadata["internal-reviewer"] != "" {
		t.Errorf("metadata: %v", h.Metadata)
	}
	_, err = e.ARNS3.HeadObject(e.Ctx, &s3.HeadObjectInput{Bucket: aws.String(arn), Key: aws.String("missing.pdf")})
	if err == nil {
		t.Fatal("HeadObject of a missing key succeeded")
	}
	if code := errorStatus(err); code != 404 {
		t.Errorf("missing key: %v", err)
	}
	// GET is not transformed: it passes through.
	g, err := e.ARNS3.GetObject(e.Ctx, &s3.GetObjectInput{Bucket: aws.String(arn), Key: aws.String("report.pdf")})
	if err != nil || g.Metadata["internal-reviewer"] != "bob" {
		t.Errorf("GetObject passes through: %v", err)
	}
}
