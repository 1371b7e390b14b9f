package iam

import (
	"regexp"
	"strconv"
	"unicode/utf8"
)

// The constraints of IAM's API model (botocore iam/2010-05-08), as its
// input validation reports them.
const (
	patUserName   = `[\w+=,.@-]+`
	patPath       = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	patPathPrefix = `\u002F[\u0021-\u007F]*`
	patMarker     = `[\u0020-\u00FF]+`
	patKeyID      = `[\w]+`
	patTagKey     = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	patTagValue   = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`

	// maxNewUserName bounds the name of a user being created; names that
	// refer to an existing user may be up to maxUserName long.
	maxNewUserName = 64
	maxUserName    = 128
	maxPath        = 512
	maxMarker      = 320
	maxTags        = 50
	maxTagKey      = 128
	maxTagValue    = 256
	minKeyID       = 16
	maxKeyID       = 128
)

var (
	reUserName   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	rePath       = regexp.MustCompile(`^(?:/|/[\x21-\x7E]+/)$`)
	rePathPrefix = regexp.MustCompile(`^/[\x21-\x7F]*$`)
	reMarker     = regexp.MustCompile(`^[\x{20}-\x{FF}]+$`)
	reKeyID      = regexp.MustCompile(`^\w+$`)
	reTagKey     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// str checks a string member: its length in characters and its pattern.
func (v *violations) str(field, value string, minLen, maxLen int, re *regexp.Regexp, pattern string) {
	n := utf8.RuneCountInString(value)
	if n < minLen {
		v.add(field, &value, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if n > maxLen {
		v.add(field, &value, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	if re != nil && !re.MatchString(value) {
		v.add(field, &value, "Member must satisfy regular expression pattern: "+pattern)
	}
}

// required records a missing required member.
func (v *violations) required(field string) {
	v.add(field, nil, "Member must not be null")
}

// userName checks a user name; maxLen is maxNewUserName or maxUserName.
func (v *violations) userName(field, name string, maxLen int) {
	v.str(field, name, 1, maxLen, reUserName, patUserName)
}

// keyID checks an access key ID.
func (v *violations) keyID(field, id string) {
	v.str(field, id, minKeyID, maxKeyID, reKeyID, patKeyID)
}

// marker checks a pagination marker (absent when "").
func (v *violations) marker(marker string) {
	if marker != "" {
		v.str("marker", marker, 1, maxMarker, reMarker, patMarker)
	}
}

// maxItems checks a page size.
func (v *violations) maxItems(n int) {
	s := strconv.Itoa(n)
	switch {
	case n < 1:
		v.add("maxItems", &s, "Member must have value greater than or equal to 1")
	case n > maxPageSize:
		v.add("maxItems", &s, "Member must have value less than or equal to "+strconv.Itoa(maxPageSize))
	}
}
