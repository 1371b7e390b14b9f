package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// s3As returns an S3 client of n signing with the given credentials.
func s3As(n *servertest.Node, keyID, secret string) *s3.Client {
	cfg := n.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(keyID, secret, "")
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// newUser creates an IAM user with one access key and returns the key and
// an S3 client using it.
func newUser(t *testing.T, n *servertest.Node, ic *iam.Client, name string) (*iamtypes.AccessKey, *s3.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	out, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateAccessKey %s: %v", name, err)
	}
	k := out.AccessKey
	return k, s3As(n, aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey))
}

// wantS3Error checks that err is an S3 error with code (any code for
// HEAD requests, whose responses have no body) and HTTP status.
func wantS3Error(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %s", what, code)
		return
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("%s: %v, want HTTP %d", what, err, status)
	}
	if strings.HasPrefix(what, "Head") {
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func bucketNames(t *testing.T, c *s3.Client) []string {
	t.Helper()
	out, err := c.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	return names
}

func TestIAMUsersOwnTheirBuckets(t *testing.T) {
	t.Parallel()
	n := servertest.Start(t)
	ctx := context.Background()
	ic := iam.NewFromConfig(n.AWSConfig())
	root := n.S3()
	_, alice := newUser(t, n, ic, "alice")
	bobKey, bob := newUser(t, n, ic, "bob")

	for c, buckets := range map[*s3.Client][]string{alice: {"alice-1", "alice-2"}, bob: {"bob-1"}, root: {"root-1"}} {
		for _, b := range buckets {
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
				t.Fatalf("CreateBucket %s: %v", b, err)
			}
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("obj"), Body: strings.NewReader("data of " + b)}); err != nil {
				t.Fatalf("PutObject %s: %v", b, err)
			}
		}
	}

	lists := []struct {
		who  string
		c    *s3.Client
		want []string
	}{
		{"alice", alice, []string{"alice-1", "alice-2"}},
		{"bob", bob, []string{"bob-1"}},
		{"root", root, []string{"alice-1", "alice-2", "bob-1", "root-1"}},
	}
	for _, l := range lists {
		if got := bucketNames(t, l.c); !slices.Equal(got, l.want) {
			t.Errorf("ListBuckets as %s = %q, want %q", l.who, got, l.want)
		}
	}

	// Every way bob can touch alice's bucket is refused.
	denied := []struct {
		name string
		call func() error
	}{
		{"GetObject", func() error {
			_, err := bob.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alice-1"), Key: aws.String("obj")})
			return err
		}},
		{"PutObject", func() error {
			_, err := bob.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alice-1"), Key: aws.String("planted"), Body: strings.NewReader("x")})
			return err
		}},
		{"HeadBucket", func() error {
			_, err := bob.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("alice-1")})
			return err
		}},
		{"HeadObject", func() error {
			_, err := bob.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("alice-1"), Key: aws.String("obj")})
			return err
		}},
		{"ListObjectsV2", func() error {
			_, err := bob.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alice-1")})
			return err
		}},
		{"ListObjectVersions", func() error {
			_, err := bob.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("alice-1")})
			return err
		}},
		{"CopyObjectFromOthersBucket", func() error {
			_, err := bob.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bob-1"), Key: aws.String("stolen"), CopySource: aws.String("alice-1/obj")})
			return err
		}},
		{"CopyObjectIntoOthersBucket", func() error {
			_, err := bob.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("alice-1"), Key: aws.String("planted"), CopySource: aws.String("bob-1/obj")})
			return err
		}},
		{"UploadPartCopyFromOthersBucket", func() error {
			up, err := bob.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bob-1"), Key: aws.String("mp")})
			if err != nil {
				return err
			}
			_, err = bob.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("bob-1"), Key: aws.String("mp"),
				UploadId: up.UploadId, PartNumber: aws.Int32(1), CopySource: aws.String("alice-1/obj")})
			return err
		}},
		{"DeleteObject", func() error {
			_, err := bob.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alice-1"), Key: aws.String("obj")})
			return err
		}},
		{"GetBucketVersioning", func() error {
			_, err := bob.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("alice-1")})
			return err
		}},
		{"DeleteBucket", func() error {
			_, err := bob.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alice-2")})
			return err
		}},
		{"RootBucket", func() error {
			_, err := bob.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("root-1"), Key: aws.String("obj")})
			return err
		}},
	}
	for _, tt := range denied {
		t.Run("Denied/"+tt.name, func(t *testing.T) { wantS3Error(t, tt.name, tt.call(), "AccessDenied", 403) })
	}
	_, err := bob.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alice-1")})
	wantS3Error(t, "CreateBucket of alice's name", err, "BucketAlreadyExists", 409)

	// Nothing bob tried changed alice's buckets.
	out, err := alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("alice-1")})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "obj" {
		t.Errorf("alice-1 after bob's attempts = %+v, %v", out, err)
	}
	if got := bucketNames(t, alice); !slices.Equal(got, []string{"alice-1", "alice-2"}) {
		t.Errorf("alice's buckets after bob's attempts = %q", got)
	}

	// The root can act on every bucket.
	if _, err := root.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bob-1"), Key: aws.String("from-alice"), CopySource: aws.String("alice-1/obj")}); err != nil {
		t.Errorf("root CopyObject across users: %v", err)
	}
	if got, err := bob.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bob-1"), Key: aws.String("from-alice")}); err != nil {
		t.Errorf("bob reads what root copied into his bucket: %v", err)
	} else {
		got.Body.Close()
	}
	if _, err := root.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("alice-1")}); err != nil {
		t.Errorf("root HeadBucket alice-1: %v", err)
	}
	if _, err := root.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alice-2"), Key: aws.String("obj")}); err != nil {
		t.Errorf("root DeleteObject alice-2/obj: %v", err)
	}
	if _, err := root.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alice-2")}); err != nil {
		t.Errorf("root DeleteBucket alice-2: %v", err)
	}
	if got := bucketNames(t, alice); !slices.Equal(got, []string{"alice-1"}) {
		t.Errorf("alice's buckets after root deleted one = %q", got)
	}

	// An inactive key is refused at once and works again when
	// re-activated; a deleted key is refused.
	setStatus := func(s iamtypes.StatusType) {
		t.Helper()
		if _, err := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: bobKey.AccessKeyId, Status: s}); err != nil {
			t.Fatalf("UpdateAccessKey %s: %v", s, err)
		}
	}
	setStatus(iamtypes.StatusTypeInactive)
	_, err = bob.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantS3Error(t, "ListBuckets with an inactive key", err, "InvalidAccessKeyId", 403)
	_, err = bob.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bob-1"), Key: aws.String("obj")})
	wantS3Error(t, "GetObject with an inactive key", err, "InvalidAccessKeyId", 403)
	setStatus(iamtypes.StatusTypeActive)
	if got := bucketNames(t, bob); !slices.Equal(got, []string{"bob-1"}) {
		t.Errorf("ListBuckets with the re-activated key = %q", got)
	}
	if _, err := ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: bobKey.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = bob.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantS3Error(t, "ListBuckets with a deleted key", err, "InvalidAccessKeyId", 403)

	// A new user under a deleted user's name does not inherit its buckets.
	if _, err := ic.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	_, bob2 := newUser(t, n, ic, "bob")
	if got := bucketNames(t, bob2); len(got) != 0 {
		t.Errorf("the new bob sees %q", got)
	}
	_, err = bob2.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bob-1"), Key: aws.String("obj")})
	wantS3Error(t, "new bob reads old bob's bucket", err, "AccessDenied", 403)
	if got := bucketNames(t, root); !slices.Contains(got, "bob-1") {
		t.Errorf("root lost the deleted user's bucket: %q", got)
	}
}

// TestIAMWithAWSCLI creates a user and an access key with the aws CLI and
// uses the key for S3.
func TestIAMWithAWSCLI(t *testing.T) {
	t.Parallel()
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	n := servertest.Start(t)
	home := t.TempDir()
	env := clientEnv(home, "AWS_ENDPOINT_URL="+n.Endpoint, "PYTHONWARNINGS=ignore")
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, append(args, "--output", "json")...)
		cmd.Dir = home
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return out
	}

	var user struct {
		User struct{ UserName, Path, UserId, Arn, CreateDate string }
	}
	if err := json.Unmarshal(run("iam", "create-user", "--user-name", "cli-user", "--path", "/cli/"), &user); err != nil {
		t.Fatal(err)
	}
	if user.User.UserName != "cli-user" || user.User.Arn != "arn:aws:iam::"+servertest.AccountID+":user/cli/cli-user" ||
		!strings.HasPrefix(user.User.UserId, "AIDA") || user.User.CreateDate == "" {
		t.Errorf("aws iam create-user = %+v", user.User)
	}
	var key struct {
		AccessKey struct{ UserName, AccessKeyId, Status, SecretAccessKey, CreateDate string }
	}
	if err := json.Unmarshal(run("iam", "create-access-key", "--user-name", "cli-user"), &key); err != nil {
		t.Fatal(err)
	}
	k := key.AccessKey
	if k.UserName != "cli-user" || k.Status != "Active" || len(k.AccessKeyId) != 20 || len(k.SecretAccessKey) != 40 {
		t.Errorf("aws iam create-access-key = %+v", k)
	}
	var list struct {
		Users []struct{ UserName string }
	}
	if err := json.Unmarshal(run("iam", "list-users"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Users) != 1 || list.Users[0].UserName != "cli-user" {
		t.Errorf("aws iam list-users = %+v", list.Users)
	}

	c := s3As(n, k.AccessKeyId, k.SecretAccessKey)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cli-user-bucket")}); err != nil {
		t.Fatalf("CreateBucket with the CLI-made key: %v", err)
	}
	if got := bucketNames(t, c); !slices.Equal(got, []string{"cli-user-bucket"}) {
		t.Errorf("ListBuckets with the CLI-made key = %q", got)
	}
}
