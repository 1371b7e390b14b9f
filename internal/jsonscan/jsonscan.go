// Package jsonscan reads the members of a JSON object without reflection,
// for the few documents sluice stores and reads once per event (queue
// items, asynchronous invocations, event record sources), where
// encoding/json's reflective decoder — which first scans the whole input
// to validate it, then scans it again to decode — was most of the cost of
// handing an event to its function.
//
// It is a fast path only: callers decode the members they expect and, on
// any error — ErrSlow (a member they do not know, an escaped key, a null
// where they expect a value) or invalid JSON — decode the document again
// with encoding/json, whose result (or error) is then the answer, so that
// what a document means never depends on which path read it. Every value
// is validated as encoding/json's Valid does: a document this package
// accepts is valid JSON.
package jsonscan

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// ErrSlow reports a document the fast path does not handle; decode it with
// encoding/json instead.
var ErrSlow = errors.New("jsonscan: take the slow path")

// errSyntax reports input that is not valid JSON.
var errSyntax = errors.New("jsonscan: invalid JSON")

// Object calls fn with each member of the JSON object b, in order: the key
// (the raw text between its quotes: a key with an escape sequence is
// ErrSlow, as is one that is not ASCII) and the value's raw bytes, validated. It stops at fn's first
// error and returns it. b must be an object, with nothing after it but
// white space.
func Object(b []byte, fn func(key string, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSyntax
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipSpace(b, i+1) != len(b) {
			return errSyntax
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errSyntax
		}
		end, escaped, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : end-1]
		if escaped || !ascii(key) {
			return ErrSlow
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errSyntax
		}
		i = skipSpace(b, i+1)
		end, err = skipValue(b, i, 0)
		if err != nil {
			return err
		}
		if err := fn(string(key), b[i:end]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return errSyntax
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			if skipSpace(b, i+1) != len(b) {
				return errSyntax
			}
			return nil
		default:
			return errSyntax
		}
	}
}

// String decodes a string value; a string with escape sequences takes
// encoding/json's path. null is ErrSlow.
func String(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", ErrSlow
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			err := json.Unmarshal(v, &s)
			return s, err
		}
	}
	if !utf8.Valid(inner) {
		// encoding/json replaces invalid UTF-8; let it.
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	return string(inner), nil
}

// Int decodes an integer value; anything else is ErrSlow.
func Int(v []byte) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, ErrSlow
	}
	return n, nil
}

// Time decodes a time.Time value as encoding/json does (an RFC 3339
// string); anything else is ErrSlow.
func Time(v []byte) (time.Time, error) {
	var t time.Time
	if len(v) < 2 || v[0] != '"' {
		return t, ErrSlow
	}
	if err := t.UnmarshalJSON(v); err != nil {
		return t, ErrSlow
	}
	return t, nil
}

// Raw returns a copy of a raw value for a json.RawMessage member, as
// encoding/json stores it. null is ErrSlow (encoding/json keeps "null"
// in a RawMessage, but callers' omitempty members never hold it).
func Raw(v []byte) (json.RawMessage, error) {
	if len(v) == 4 && string(v) == "null" {
		return nil, ErrSlow
	}
	return append(json.RawMessage(nil), v...), nil
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// maxDepth bounds nesting as encoding/json does.
const maxDepth = 10000

// skipValue returns the end of the value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := skipString(b, i)
		return end, err
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return 0, errSyntax
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, nil
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, errSyntax
				}
				end, _, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = skipSpace(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, errSyntax
				}
				i = skipSpace(b, i+1)
			}
			end, err := skipValue(b, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return 0, errSyntax
			}
			if b[i] == closer {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, errSyntax
			}
			i = skipSpace(b, i+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(b, i)
	default:
		return 0, errSyntax
	}
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// skipString returns the end of the string starting at b[i] (its opening
// quote) and whether it has escape sequences.
func skipString(b []byte, i int) (int, bool, error) {
	escaped := false
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c < 0x20:
			return 0, false, errSyntax
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return 0, false, errSyntax
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 {
					return 0, false, errSyntax
				}
				for _, h := range b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false, errSyntax
					}
				}
				i += 4
			default:
				return 0, false, errSyntax
			}
		}
	}
	return 0, false, errSyntax
}

func skipNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0, errSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0, errSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, errSyntax
		}
	}
	return i, nil
}
