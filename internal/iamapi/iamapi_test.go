package iamapi_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// env is a node and an IAM client with its root credentials.
type env struct {
	t   *testing.T
	n   *servertest.Node
	c   *iam.Client
	ctx context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	n := servertest.Start(t)
	return &env{t: t, n: n, c: iam.NewFromConfig(n.AWSConfig()), ctx: context.Background()}
}

// client returns an IAM client signing with other credentials.
func (e *env) client(keyID, secret string) *iam.Client {
	cfg := e.n.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(keyID, secret, "")
	return iam.NewFromConfig(cfg)
}

func (e *env) createUser(name string) *types.User {
	e.t.Helper()
	out, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("CreateUser %s: %v", name, err)
	}
	return out.User
}

func (e *env) createKey(user string) *types.AccessKey {
	e.t.Helper()
	out, err := e.c.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		e.t.Fatalf("CreateAccessKey %s: %v", user, err)
	}
	return out.AccessKey
}

// checkErr checks that err is the API error code with HTTP status, and that
// its message contains msg.
func checkErr(t *testing.T, what string, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %s", what, code)
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v is not an API error", what, err)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("%s: code %s (%s), want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("%s: status %d, want %d", what, re.HTTPStatusCode(), status)
	}
	if !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("%s: message %q, want it to contain %q", what, ae.ErrorMessage(), msg)
	}
	if re != nil && re.RequestID == "" {
		t.Errorf("%s: no request ID", what)
	}
}

var (
	userIDRe = regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`)
	keyIDRe  = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	secretRe = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
)

func TestCreateGetUser(t *testing.T) {
	e := start(t)
	out, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{
		UserName: aws.String("alice"),
		Tags:     []types.Tag{{Key: aws.String("team"), Value: aws.String("storage")}, {Key: aws.String("empty"), Value: aws.String("")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if aws.ToString(u.UserName) != "alice" || aws.ToString(u.Path) != "/" ||
		aws.ToString(u.Arn) != "arn:aws:iam::"+servertest.AccountID+":user/alice" || u.CreateDate == nil {
		t.Errorf("CreateUser = %+v", u)
	}
	if !userIDRe.MatchString(aws.ToString(u.UserId)) {
		t.Errorf("UserId %q, want AIDA and 17 characters", aws.ToString(u.UserId))
	}
	if len(u.Tags) != 2 || aws.ToString(u.Tags[0].Key) != "team" || aws.ToString(u.Tags[1].Value) != "" {
		t.Errorf("CreateUser tags = %+v", u.Tags)
	}
	bob, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/eng/ops/")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(bob.User.Arn); got != "arn:aws:iam::"+servertest.AccountID+":user/eng/ops/bob" {
		t.Errorf("ARN with path = %s", got)
	}

	for _, name := range []string{"alice", "ALICE", "Alice"} {
		got, err := e.c.GetUser(e.ctx, &iam.GetUserInput{UserName: aws.String(name)})
		if err != nil {
			t.Errorf("GetUser %s: %v", name, err)
			continue
		}
		g := got.User
		if aws.ToString(g.UserName) != "alice" || aws.ToString(g.UserId) != aws.ToString(u.UserId) ||
			!g.CreateDate.Equal(*u.CreateDate) || len(g.Tags) != 2 {
			t.Errorf("GetUser %s = %+v, want %+v", name, g, u)
		}
	}

	errs := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"CreateExisting", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
			return err
		}, "EntityAlreadyExists", 409, "User with name alice already exists."},
		{"CreateExistingOtherCase", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("BOB")})
			return err
		}, "EntityAlreadyExists", 409, "User with name BOB already exists."},
		{"GetMissing", func() error {
			_, err := e.c.GetUser(e.ctx, &iam.GetUserInput{UserName: aws.String("carol")})
			return err
		}, "NoSuchEntity", 404, "The user with name carol cannot be found."},
		{"DeleteMissing", func() error {
			_, err := e.c.DeleteUser(e.ctx, &iam.DeleteUserInput{UserName: aws.String("carol")})
			return err
		}, "NoSuchEntity", 404, "The user with name carol cannot be found."},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), tt.code, tt.status, tt.msg) })
	}
	var exists *types.EntityAlreadyExistsException
	if _, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); !errors.As(err, &exists) {
		t.Errorf("CreateUser existing: %T, want *types.EntityAlreadyExistsException", err)
	}
	var missing *types.NoSuchEntityException
	if _, err := e.c.GetUser(e.ctx, &iam.GetUserInput{UserName: aws.String("carol")}); !errors.As(err, &missing) {
		t.Errorf("GetUser missing: %T, want *types.NoSuchEntityException", err)
	}

	if _, err := e.c.DeleteUser(e.ctx, &iam.DeleteUserInput{UserName: aws.String("Alice")}); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err = e.c.GetUser(e.ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	checkErr(t, "GetUser after delete", err, "NoSuchEntity", 404, "alice")
	again := e.createUser("alice")
	if aws.ToString(again.UserId) == aws.ToString(u.UserId) {
		t.Errorf("re-created user has the old unique ID %s", aws.ToString(u.UserId))
	}
}

func TestGetUserRoot(t *testing.T) {
	e := start(t)
	out, err := e.c.GetUser(e.ctx, &iam.GetUserInput{})
	if err != nil {
		t.Fatal(err)
	}
	u := out.User
	if aws.ToString(u.UserId) != servertest.AccountID || aws.ToString(u.Arn) != "arn:aws:iam::"+servertest.AccountID+":root" ||
		u.UserName != nil || u.Path != nil {
		t.Errorf("GetUser as root = UserId %q Arn %q UserName %v Path %v",
			aws.ToString(u.UserId), aws.ToString(u.Arn), u.UserName, u.Path)
	}
}

func TestListUsers(t *testing.T) {
	e := start(t)
	out, err := e.c.ListUsers(e.ctx, &iam.ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 0 || out.IsTruncated {
		t.Errorf("ListUsers of none = %+v", out)
	}
	paths := map[string]string{"ann": "/", "ben": "/eng/", "cat": "/eng/ops/", "dan": "/sales/", "eve": "/"}
	for _, name := range []string{"eve", "cat", "ann", "dan", "ben"} {
		if _, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{
			UserName: aws.String(name), Path: aws.String(paths[name]),
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(us []types.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, aws.ToString(u.UserName))
			if u.Tags != nil {
				t.Errorf("ListUsers returned tags for %s", aws.ToString(u.UserName))
			}
		}
		return out
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"ann", "ben", "cat", "dan", "eve"}},
		{"/", []string{"ann", "ben", "cat", "dan", "eve"}},
		{"/eng/", []string{"ben", "cat"}},
		{"/eng/ops", []string{"cat"}},
		{"/nobody/", nil},
	}
	for _, tt := range tests {
		in := &iam.ListUsersInput{}
		if tt.prefix != "" {
			in.PathPrefix = aws.String(tt.prefix)
		}
		out, err := e.c.ListUsers(e.ctx, in)
		if err != nil {
			t.Errorf("ListUsers %q: %v", tt.prefix, err)
			continue
		}
		if got := names(out.Users); !slices.Equal(got, tt.want) || out.IsTruncated {
			t.Errorf("ListUsers %q = %q truncated %v, want %q", tt.prefix, got, out.IsTruncated, tt.want)
		}
	}

	// Pages of two, by hand and with the SDK's paginator.
	var got []string
	in := &iam.ListUsersInput{MaxItems: aws.Int32(2)}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("ListUsers pagination does not end")
		}
		out, err := e.c.ListUsers(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Users) > 2 {
			t.Errorf("page of %d users with MaxItems 2", len(out.Users))
		}
		got = append(got, names(out.Users)...)
		if !out.IsTruncated {
			if out.Marker != nil {
				t.Errorf("last page has Marker %q", aws.ToString(out.Marker))
			}
			break
		}
		in.Marker = out.Marker
	}
	if want := tests[0].want; !slices.Equal(got, want) {
		t.Errorf("paged ListUsers = %q, want %q", got, want)
	}
	got = nil
	p := iam.NewListUsersPaginator(e.c, &iam.ListUsersInput{MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, names(out.Users)...)
	}
	if want := tests[0].want; !slices.Equal(got, want) {
		t.Errorf("paginator ListUsers = %q, want %q", got, want)
	}
}

func TestValidation(t *testing.T) {
	e := start(t)
	e.createUser("alice")
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = types.Tag{Key: aws.String("k" + strings.Repeat("x", i)), Value: aws.String("v")}
	}
	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"NameWithSpace", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("a b")})
			return err
		}, "ValidationError", `1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"NameTooLong", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String(strings.Repeat("n", 65))})
			return err
		}, "ValidationError", "Member must have length less than or equal to 64"},
		{"MissingName", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("")})
			return err
		}, "ValidationError", "at 'userName' failed to satisfy constraint"},
		{"BadPath", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("p"), Path: aws.String("eng")})
			return err
		}, "ValidationError", "Value 'eng' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"TwoErrors", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("a b"), Path: aws.String("/x")})
			return err
		}, "ValidationError", "2 validation errors detected: "},
		{"TooManyTags", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("t"), Tags: manyTags})
			return err
		}, "ValidationError", "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{"BadTagKey", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("t"),
				Tags: []types.Tag{{Key: aws.String("a*b"), Value: aws.String("v")}}})
			return err
		}, "ValidationError", "at 'tags.1.member.key'"},
		{"DuplicateTagKeys", func() error {
			_, err := e.c.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("t"),
				Tags: []types.Tag{{Key: aws.String("Team"), Value: aws.String("a")}, {Key: aws.String("team"), Value: aws.String("b")}}})
			return err
		}, "InvalidInput", "Duplicate tag keys found."},
		{"MaxItemsZero", func() error {
			_, err := e.c.ListUsers(e.ctx, &iam.ListUsersInput{MaxItems: aws.Int32(0)})
			return err
		}, "ValidationError", "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"MaxItemsTooLarge", func() error {
			_, err := e.c.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{MaxItems: aws.Int32(1001)})
			return err
		}, "ValidationError", "Member must have value less than or equal to 1000"},
		{"BadPathPrefix", func() error {
			_, err := e.c.ListUsers(e.ctx, &iam.ListUsersInput{PathPrefix: aws.String("eng")})
			return err
		}, "ValidationError", "at 'pathPrefix'"},
		{"BadStatus", func() error {
			_, err := e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"),
				AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA"), Status: "Disabled"})
			return err
		}, "ValidationError", "Value 'Disabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"},
		{"ShortKeyID", func() error {
			_, err := e.c.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIA")})
			return err
		}, "ValidationError", "Value 'AKIA' at 'accessKeyId' failed to satisfy constraint: Member must have length greater than or equal to 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := 400
			checkErr(t, tt.name, tt.call(), tt.code, status, tt.msg)
		})
	}
	// Nothing was created by the refused requests.
	out, err := e.c.ListUsers(e.ctx, &iam.ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 1 {
		t.Errorf("refused CreateUser calls left %d users", len(out.Users))
	}
}

func TestAccessKeys(t *testing.T) {
	e := start(t)
	e.createUser("alice")
	e.createUser("bob")
	k1 := e.createKey("alice")
	if aws.ToString(k1.UserName) != "alice" || k1.Status != types.StatusTypeActive || k1.CreateDate == nil ||
		!keyIDRe.MatchString(aws.ToString(k1.AccessKeyId)) || !secretRe.MatchString(aws.ToString(k1.SecretAccessKey)) {
		t.Errorf("CreateAccessKey = %+v", k1)
	}
	k2 := e.createKey("ALICE") // the user, in another case
	if aws.ToString(k2.UserName) != "alice" {
		t.Errorf("key created for ALICE belongs to %q", aws.ToString(k2.UserName))
	}
	_, err := e.c.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	checkErr(t, "third key", err, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
	var limit *types.LimitExceededException
	if !errors.As(err, &limit) {
		t.Errorf("third key: %T, want *types.LimitExceededException", err)
	}
	_, err = e.c.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String("carol")})
	checkErr(t, "key of missing user", err, "NoSuchEntity", 404, "The user with name carol cannot be found.")

	list := func(user string) []types.AccessKeyMetadata {
		t.Helper()
		out, err := e.c.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatalf("ListAccessKeys %s: %v", user, err)
		}
		return out.AccessKeyMetadata
	}
	md := list("alice")
	if len(md) != 2 {
		t.Fatalf("ListAccessKeys alice = %+v", md)
	}
	for _, m := range md {
		if aws.ToString(m.UserName) != "alice" || m.Status != types.StatusTypeActive || m.CreateDate == nil {
			t.Errorf("metadata %+v", m)
		}
	}
	if ids := []string{aws.ToString(md[0].AccessKeyId), aws.ToString(md[1].AccessKeyId)}; !slices.Contains(ids, aws.ToString(k1.AccessKeyId)) ||
		!slices.Contains(ids, aws.ToString(k2.AccessKeyId)) {
		t.Errorf("ListAccessKeys ids %q, want %s and %s", ids, aws.ToString(k1.AccessKeyId), aws.ToString(k2.AccessKeyId))
	}
	if got := list("bob"); len(got) != 0 {
		t.Errorf("ListAccessKeys bob = %+v", got)
	}
	_, err = e.c.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{UserName: aws.String("carol")})
	checkErr(t, "list keys of missing user", err, "NoSuchEntity", 404, "carol")
	page, err := e.c.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice"), MaxItems: aws.Int32(1)})
	if err != nil || len(page.AccessKeyMetadata) != 1 || !page.IsTruncated || page.Marker == nil {
		t.Fatalf("ListAccessKeys MaxItems 1 = %+v, %v", page, err)
	}
	rest, err := e.c.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice"), Marker: page.Marker})
	if err != nil || len(rest.AccessKeyMetadata) != 1 || rest.IsTruncated ||
		aws.ToString(rest.AccessKeyMetadata[0].AccessKeyId) == aws.ToString(page.AccessKeyMetadata[0].AccessKeyId) {
		t.Errorf("second page = %+v, %v", rest, err)
	}

	_, err = e.c.DeleteUser(e.ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	checkErr(t, "DeleteUser with keys", err, "DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")
	var conflict *types.DeleteConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("DeleteUser with keys: %T, want *types.DeleteConflictException", err)
	}

	id1 := k1.AccessKeyId
	if _, err := e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: id1, Status: types.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	for _, m := range list("alice") {
		want := types.StatusTypeActive
		if aws.ToString(m.AccessKeyId) == aws.ToString(id1) {
			want = types.StatusTypeInactive
		}
		if m.Status != want {
			t.Errorf("key %s status %s, want %s", aws.ToString(m.AccessKeyId), m.Status, want)
		}
	}

	errs := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"UpdateOtherUsersKey", func() error {
			_, err := e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: id1, Status: types.StatusTypeActive})
			return err
		}, "NoSuchEntity", 404, "The Access Key with id " + aws.ToString(id1) + " cannot be found."},
		{"DeleteOtherUsersKey", func() error {
			_, err := e.c.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: id1})
			return err
		}, "NoSuchEntity", 404, "cannot be found"},
		{"UpdateAsRootsKey", func() error {
			_, err := e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{AccessKeyId: id1, Status: types.StatusTypeActive})
			return err
		}, "NoSuchEntity", 404, "cannot be found"},
		{"UpdateMissingKey", func() error {
			_, err := e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA"), Status: types.StatusTypeActive})
			return err
		}, "NoSuchEntity", 404, "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found."},
		{"UpdateKeyOfMissingUser", func() error {
			_, err := e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: id1, Status: types.StatusTypeActive})
			return err
		}, "NoSuchEntity", 404, "The user with name carol cannot be found."},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), tt.code, tt.status, tt.msg) })
	}

	for _, k := range []*types.AccessKey{k1, k2} {
		if _, err := e.c.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKeyId}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.c.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: id1})
	checkErr(t, "second DeleteAccessKey", err, "NoSuchEntity", 404, "cannot be found")
	if got := list("alice"); len(got) != 0 {
		t.Errorf("keys after delete: %+v", got)
	}
	// With its keys gone the user can be deleted, and a new key can be made.
	e.createKey("alice")
	if _, err := e.c.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: list("alice")[0].AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteUser(e.ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}); err != nil {
		t.Errorf("DeleteUser without keys: %v", err)
	}
}

func TestRootAccessKeys(t *testing.T) {
	e := start(t)
	// The configured root key counts: the root may create one more.
	out, err := e.c.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	k := out.AccessKey
	if k.UserName != nil || !keyIDRe.MatchString(aws.ToString(k.AccessKeyId)) {
		t.Errorf("root CreateAccessKey = %+v", k)
	}
	_, err = e.c.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{})
	checkErr(t, "third root key", err, "LimitExceeded", 409, "AccessKeysPerUser: 2")

	ls, err := e.c.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ls.AccessKeyMetadata {
		ids = append(ids, aws.ToString(m.AccessKeyId))
	}
	if !slices.Equal(ids, []string{servertest.AccessKeyID, aws.ToString(k.AccessKeyId)}) {
		t.Errorf("root ListAccessKeys = %q", ids)
	}

	// The new root key is the root: it may call IAM.
	rc := e.client(aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey))
	if _, err := rc.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("made-by-second-root-key")}); err != nil {
		t.Errorf("CreateUser with the second root key: %v", err)
	}
	got, err := rc.GetUser(e.ctx, &iam.GetUserInput{})
	if err != nil || aws.ToString(got.User.Arn) != "arn:aws:iam::"+servertest.AccountID+":root" {
		t.Errorf("GetUser with the second root key = %+v, %v", got, err)
	}

	_, err = e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{AccessKeyId: aws.String(servertest.AccessKeyID), Status: types.StatusTypeInactive})
	checkErr(t, "deactivate configured root key", err, "UnmodifiableEntity", 400, servertest.AccessKeyID)
	_, err = e.c.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(servertest.AccessKeyID)})
	checkErr(t, "delete configured root key", err, "UnmodifiableEntity", 400, servertest.AccessKeyID)

	if _, err := e.c.DeleteAccessKey(e.ctx, &iam.DeleteAccessKeyInput{AccessKeyId: k.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = rc.ListUsers(e.ctx, &iam.ListUsersInput{})
	checkErr(t, "deleted root key", err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
}

func TestAuthentication(t *testing.T) {
	e := start(t)
	e.createUser("alice")
	k := e.createKey("alice")
	alice := e.client(aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey))
	arn := "arn:aws:iam::" + servertest.AccountID + ":user/alice"
	deny := func(action, resource string) string {
		return "User: " + arn + " is not authorized to perform: iam:" + action + " on resource: " + resource
	}

	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"UserCreateUser", func() error {
			_, err := alice.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("mallory")})
			return err
		}, "AccessDenied", 403, deny("CreateUser", "arn:aws:iam::"+servertest.AccountID+":user/mallory")},
		{"UserListUsers", func() error {
			_, err := alice.ListUsers(e.ctx, &iam.ListUsersInput{})
			return err
		}, "AccessDenied", 403, deny("ListUsers", "arn:aws:iam::"+servertest.AccountID+":user/")},
		{"UserGetSelf", func() error {
			_, err := alice.GetUser(e.ctx, &iam.GetUserInput{})
			return err
		}, "AccessDenied", 403, deny("GetUser", arn)},
		{"UserCreateOwnKey", func() error {
			_, err := alice.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{})
			return err
		}, "AccessDenied", 403, deny("CreateAccessKey", arn)},
		{"UnknownKey", func() error {
			_, err := e.client("AKIAUNKNOWNUNKNOWN00", "secret").ListUsers(e.ctx, &iam.ListUsersInput{})
			return err
		}, "InvalidClientTokenId", 403, "The security token included in the request is invalid."},
		{"WrongSecret", func() error {
			_, err := e.client(servertest.AccessKeyID, "wrong-secret").ListUsers(e.ctx, &iam.ListUsersInput{})
			return err
		}, "SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), tt.code, tt.status, tt.msg) })
	}

	// An inactive key is refused at once, and works again when re-activated.
	setStatus := func(s types.StatusType) {
		t.Helper()
		if _, err := e.c.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKeyId, Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(types.StatusTypeInactive)
	_, err := alice.ListUsers(e.ctx, &iam.ListUsersInput{})
	checkErr(t, "inactive key", err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
	setStatus(types.StatusTypeActive)
	_, err = alice.ListUsers(e.ctx, &iam.ListUsersInput{})
	checkErr(t, "re-activated key", err, "AccessDenied", 403, "is not authorized")
}
