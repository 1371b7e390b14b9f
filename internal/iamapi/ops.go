package iamapi

import (
	"encoding/xml"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/meta"
)

// op is one IAM action: the resource it is authorized against and its
// handler, which returns the result element (nil for actions without one).
type op struct {
	resource func(*Handler, *request) string
	fn       func(*Handler, *request) (any, error)
}

// ops is the IAM action table.
var ops = map[string]op{
	"CreateUser":      {newUserARN, (*Handler).createUser},
	"GetUser":         {targetUserARN, (*Handler).getUser},
	"ListUsers":       {allUsersARN, (*Handler).listUsers},
	"DeleteUser":      {targetUserARN, (*Handler).deleteUser},
	"CreateAccessKey": {targetUserARN, (*Handler).createAccessKey},
	"ListAccessKeys":  {targetUserARN, (*Handler).listAccessKeys},
	"UpdateAccessKey": {targetUserARN, (*Handler).updateAccessKey},
	"DeleteAccessKey": {targetUserARN, (*Handler).deleteAccessKey},
}

// Resources.

func newUserARN(h *Handler, rq *request) string {
	return h.iam.UserARN(rq.param("Path"), rq.param("UserName"))
}

// targetUserARN is the ARN of the user named by UserName or, without one,
// of the caller.
func targetUserARN(h *Handler, rq *request) string {
	if name := rq.param("UserName"); name != "" {
		return h.iam.UserARN("/", name)
	}
	return rq.principal.ARN
}

func allUsersARN(h *Handler, rq *request) string { return h.iam.UserARN("/", "") }

// targetUser is the user an action addresses: UserName or, without one,
// the caller ("" for the root).
func (rq *request) targetUser() string {
	if name := rq.param("UserName"); name != "" {
		return name
	}
	return rq.principal.UserName
}

// maxItems parses MaxItems; iam.DefaultMaxItems when absent.
func (rq *request) maxItems() (int, error) {
	s := rq.param("MaxItems")
	if s == "" {
		return iam.DefaultMaxItems, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errorf("ValidationError", "1 validation error detected: Value '"+s+
			"' at 'maxItems' failed to satisfy constraint: Member must be an integer")
	}
	return n, nil
}

// tags parses Tags.member.N.Key / Tags.member.N.Value, in N order.
func (rq *request) tags() []meta.Tag {
	byIndex := map[int]*meta.Tag{}
	for name, vs := range rq.params {
		rest, ok := strings.CutPrefix(name, "Tags.member.")
		if !ok {
			continue
		}
		idx, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 || (field != "Key" && field != "Value") {
			continue
		}
		t := byIndex[n]
		if t == nil {
			t = &meta.Tag{}
			byIndex[n] = t
		}
		if field == "Key" {
			t.Key = vs[0]
		} else {
			t.Value = vs[0]
		}
	}
	idxs := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idxs = append(idxs, n)
	}
	slices.Sort(idxs)
	var out []meta.Tag
	for _, n := range idxs {
		out = append(out, *byIndex[n])
	}
	return out
}

// Users.

type createUserResult struct {
	XMLName xml.Name `xml:"CreateUserResult"`
	User    userElem `xml:"User"`
}

type getUserResult struct {
	XMLName xml.Name `xml:"GetUserResult"`
	User    userElem `xml:"User"`
}

type listUsersResult struct {
	XMLName     xml.Name `xml:"ListUsersResult"`
	Users       userList `xml:"Users"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

type userList struct {
	Members []userElem `xml:"member"`
}

// userElem is IAM's User structure. The root, described by GetUser, has
// neither path nor name.
type userElem struct {
	Path       string   `xml:"Path,omitempty"`
	UserName   string   `xml:"UserName,omitempty"`
	UserID     string   `xml:"UserId"`
	ARN        string   `xml:"Arn"`
	CreateDate string   `xml:"CreateDate,omitempty"`
	Tags       *tagList `xml:"Tags,omitempty"`
}

type tagList struct {
	Members []tagElem `xml:"member"`
}

type tagElem struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func toUserElem(u *meta.User, withTags bool) userElem {
	e := userElem{Path: u.Path, UserName: u.Name, UserID: u.ID, ARN: u.ARN, CreateDate: isoTime(u.Created)}
	if withTags && len(u.Tags) > 0 {
		e.Tags = &tagList{}
		for _, t := range u.Tags {
			e.Tags.Members = append(e.Tags.Members, tagElem(t))
		}
	}
	return e
}

func (h *Handler) createUser(rq *request) (any, error) {
	u, err := h.iam.CreateUser(rq.ctx(), iam.CreateUserInput{
		Name: rq.param("UserName"),
		Path: rq.param("Path"),
		Tags: rq.tags(),
	})
	if err != nil {
		return nil, err
	}
	return &createUserResult{User: toUserElem(u, true)}, nil
}

func (h *Handler) getUser(rq *request) (any, error) {
	name := rq.targetUser()
	if name == "" {
		return &getUserResult{User: toUserElem(h.iam.RootUser(), false)}, nil
	}
	u, err := h.iam.User(rq.ctx(), name)
	if err != nil {
		return nil, err
	}
	return &getUserResult{User: toUserElem(u, true)}, nil
}

func (h *Handler) listUsers(rq *request) (any, error) {
	n, err := rq.maxItems()
	if err != nil {
		return nil, err
	}
	users, next, err := h.iam.ListUsers(rq.ctx(), iam.ListUsersInput{
		PathPrefix: rq.param("PathPrefix"),
		Marker:     rq.param("Marker"),
		MaxItems:   n,
	})
	if err != nil {
		return nil, err
	}
	out := &listUsersResult{IsTruncated: next != "", Marker: next}
	for _, u := range users {
		// As on AWS, listings leave out tags.
		out.Users.Members = append(out.Users.Members, toUserElem(u, false))
	}
	return out, nil
}

func (h *Handler) deleteUser(rq *request) (any, error) {
	return nil, h.iam.DeleteUser(rq.ctx(), rq.param("UserName"))
}

// Access keys.

type createAccessKeyResult struct {
	XMLName   xml.Name      `xml:"CreateAccessKeyResult"`
	AccessKey accessKeyElem `xml:"AccessKey"`
}

// accessKeyElem is IAM's AccessKey and AccessKeyMetadata structures (the
// latter without the secret). Root keys have no user name.
type accessKeyElem struct {
	UserName        string `xml:"UserName,omitempty"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate,omitempty"`
}

type listAccessKeysResult struct {
	XMLName     xml.Name    `xml:"ListAccessKeysResult"`
	Keys        accessKeyMD `xml:"AccessKeyMetadata"`
	IsTruncated bool        `xml:"IsTruncated"`
	Marker      string      `xml:"Marker,omitempty"`
}

type accessKeyMD struct {
	Members []accessKeyElem `xml:"member"`
}

func toAccessKeyElem(k *meta.AccessKey) accessKeyElem {
	return accessKeyElem{
		UserName:        k.UserName,
		AccessKeyID:     k.ID,
		Status:          k.Status,
		SecretAccessKey: k.Secret,
		CreateDate:      isoTime(k.Created),
	}
}

func (h *Handler) createAccessKey(rq *request) (any, error) {
	k, err := h.iam.CreateAccessKey(rq.ctx(), rq.targetUser())
	if err != nil {
		return nil, err
	}
	return &createAccessKeyResult{AccessKey: toAccessKeyElem(k)}, nil
}

func (h *Handler) listAccessKeys(rq *request) (any, error) {
	n, err := rq.maxItems()
	if err != nil {
		return nil, err
	}
	keys, next, err := h.iam.ListAccessKeys(rq.ctx(), iam.ListAccessKeysInput{
		UserName: rq.targetUser(),
		Marker:   rq.param("Marker"),
		MaxItems: n,
	})
	if err != nil {
		return nil, err
	}
	out := &listAccessKeysResult{IsTruncated: next != "", Marker: next}
	for _, k := range keys {
		out.Keys.Members = append(out.Keys.Members, toAccessKeyElem(k))
	}
	return out, nil
}

func (h *Handler) updateAccessKey(rq *request) (any, error) {
	return nil, h.iam.UpdateAccessKey(rq.ctx(), rq.targetUser(), rq.param("AccessKeyId"), rq.param("Status"))
}

func (h *Handler) deleteAccessKey(rq *request) (any, error) {
	return nil, h.iam.DeleteAccessKey(rq.ctx(), rq.targetUser(), rq.param("AccessKeyId"))
}

// isoTime formats a timestamp as IAM does; "" for the zero time (an
// entity whose creation sluice does not know).
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
