// Package zipprefix tests the zip-prefix example (zip_prefix.py): an
// Object Lambda transform that streams a zip of every object under the
// requested prefix.
package zipprefix_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/objectlambda/olaptest"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// TestZipPrefix zips a prefix of 192 MiB of incompressible objects (so
// the archive is as large) and checks the function's peak memory, from
// its REPORT line, stays well below the archive's size: a zip built in
// memory, as the seed's function does, would hold all of it.
func TestZipPrefix(t *testing.T) {
	olaptest.NeedBoto3(t)
	e := olaptest.Start(t)
	alias := e.Bucket("photos", "photos-ap")
	want := map[string][]byte{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 6 {
		key := fmt.Sprintf("2024/album/%02d.raw", i)
		b := make([]byte, 32<<20)
		for j := 0; j < len(b); j += 8 {
			binary.LittleEndian.PutUint64(b[j:], rng.Uint64())
		}
		want[key] = b
		e.Put("photos", key, b)
	}
	e.Put("photos", "2024-notes.txt", []byte("not under 2024/"))
	e.Put("photos", "2023/old.raw", []byte("last year"))
	src, err := os.ReadFile("zip_prefix.py")
	if err != nil {
		t.Fatal(err)
	}
	e.Function("zip-prefix", "python3.12", "zip_prefix.handler", servertest.FunctionZip(t, map[string][]byte{"zip_prefix.py": src}),
		map[string]string{"ACCESS_POINT_ALIAS": alias}, 192)
	arn, _ := e.ObjectLambda("zip", "photos-ap", "zip-prefix", cttypes.ObjectLambdaTransformationConfigurationActionGetObject)

	out, err := e.ARNS3.GetObject(e.Ctx, &s3.GetObjectInput{Bucket: aws.String(arn), Key: aws.String("2024/")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	peak := e.MaxMemoryUsed("zip-prefix")
	t.Logf("archive %d MiB; the function's peak memory %d MB", len(raw)>>20, peak)
	if len(raw) < 192<<20 {
		t.Fatalf("archive of %d bytes: random objects do not compress", len(raw))
	}
	if limit := 128; peak >= limit {
		t.Errorf("the function peaked at %d MB (≥ %d MB) for a %d MiB archive: it is not streaming", peak, limit, len(raw)>>20)
	}
	if aws.ToString(out.ContentType) != "application/zip" {
		t.Errorf("Content-Type %q", aws.ToString(out.ContentType))
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("not a zip (%d bytes): %v", len(raw), err)
	}
	if len(zr.File) != len(want) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(want))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want[f.Name]) {
			t.Errorf("%s: %d bytes (%v), want %d", f.Name, len(got), err, len(want[f.Name]))
		}
	}
}
