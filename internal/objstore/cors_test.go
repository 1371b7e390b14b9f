package objstore

import (
	"errors"
	"testing"
)

func TestMatchCORS(t *testing.T) {
	rules := []CORSRule{
		{ID: "suffix", AllowedOrigins: []string{"*suffix"}, AllowedMethods: []string{"GET"}},
		{ID: "middle", AllowedOrigins: []string{"start*end"}, AllowedMethods: []string{"GET"}},
		{ID: "prefix", AllowedOrigins: []string{"prefix*"}, AllowedMethods: []string{"GET"}},
		{ID: "put", AllowedOrigins: []string{"*.put"}, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"x-amz-*", "Content-Type"}},
		{ID: "exact", AllowedOrigins: []string{"https://app.example"}, AllowedMethods: []string{"DELETE"}, AllowedHeaders: []string{"*"}},
	}
	tests := []struct {
		origin, method string
		headers        []string
		want           string // rule ID, "" for none
	}{
		{"foo.suffix", "GET", nil, "suffix"},
		{"suffix", "GET", nil, "suffix"},
		{"foo.suffix.get", "GET", nil, ""},
		{"startend", "GET", nil, "middle"},
		{"start12end", "GET", nil, "middle"},
		{"0start12end", "GET", nil, ""},
		{"prefix.suffix", "GET", nil, "suffix"}, // the first rule that matches
		{"prefix.other", "GET", nil, "prefix"},
		{"bla.prefix", "GET", nil, ""},
		{"foo.put", "GET", nil, ""},
		{"foo.put", "PUT", nil, "put"},
		{"foo.put", "put", nil, ""},
		{"foo.put", "PUT", []string{"X-Amz-Meta-A", "content-type"}, "put"},
		{"foo.put", "PUT", []string{"authorization"}, ""},
		{"https://app.example", "DELETE", []string{"anything"}, "exact"},
		{"https://APP.example", "DELETE", nil, ""},
		{"https://app.example/", "DELETE", nil, ""},
	}
	for _, tc := range tests {
		got := MatchCORS(rules, tc.origin, tc.method, tc.headers)
		id := ""
		if got != nil {
			id = got.ID
		}
		if id != tc.want {
			t.Errorf("MatchCORS(%q, %s, %v) = %q, want %q", tc.origin, tc.method, tc.headers, id, tc.want)
		}
	}
}

func TestValidateCORS(t *testing.T) {
	ok := CORSRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}
	neg := -1
	many := make([]CORSRule, MaxCORSRules+1)
	for i := range many {
		many[i] = ok
	}
	tests := []struct {
		name  string
		rules []CORSRule
		code  string // "" for valid
	}{
		{"valid", []CORSRule{ok, {AllowedOrigins: []string{"http://*.example.com"}, AllowedMethods: []string{"GET", "PUT", "HEAD", "POST", "DELETE"}}}, ""},
		{"empty origin is valid", []CORSRule{{AllowedOrigins: []string{""}, AllowedMethods: []string{"GET"}}}, ""},
		{"no rules", nil, "MalformedXML"},
		{"too many rules", many, "InvalidRequest"},
		{"no origin", []CORSRule{{AllowedMethods: []string{"GET"}}}, "MalformedXML"},
		{"no method", []CORSRule{{AllowedOrigins: []string{"*"}}}, "MalformedXML"},
		{"unknown method", []CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PATCH"}}}, "InvalidRequest"},
		{"two wildcards", []CORSRule{{AllowedOrigins: []string{"*.*"}, AllowedMethods: []string{"GET"}}}, "InvalidRequest"},
		{"negative max age", []CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: &neg}}, "MalformedXML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateCORS(tc.rules)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("ValidateCORS: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("ValidateCORS = %v, want %s", err, tc.code)
			}
		})
	}
}
