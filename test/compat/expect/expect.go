// Package expect compares a conformance suite's results with the suite's
// expected-results file: a test expected to pass that failed (or did not
// run) is a regression; tests that now pass although they are listed as
// known failures are reported so that the file can be updated.
//
// Expected-results file: one test per line, tab-separated:
//
//	name<TAB>pass
//	name<TAB>fail<TAB>one-line reason
//
// Blank lines and lines starting with # are ignored. The results file
// (written by the suite's runner) has lines "name<TAB>pass" or
// "name<TAB>fail[<TAB>detail]"; "skip" counts as neither.
package expect

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type expectation struct {
	// Pass is true for tests that must pass; Reason explains a known
	// failure.
	Pass   bool
	Reason string
}

// Check compares the results file with the expected file, prints the report
// to out and returns an error if there are regressions.
func Check(expectedPath, resultsPath, suite string, out io.Writer) error {
	res, err := ReadResults(resultsPath)
	if err != nil {
		return err
	}
	return CheckResults(expectedPath, res, suite, out)
}

// CheckResults is Check with the results already in memory (name → "pass",
// "fail" or "skip").
func CheckResults(expectedPath string, res map[string]string, suite string, out io.Writer) error {
	exp, err := ReadExpected(expectedPath)
	if err != nil {
		return err
	}
	r := compare(exp, res)
	r.print(out, suite)
	if len(r.regressions) > 0 {
		return fmt.Errorf("%d test(s) expected to pass failed", len(r.regressions))
	}
	return nil
}

type report struct {
	passed, failed, selected int
	regressions              []string // expected pass, failed
	newlyPassing             []string // expected fail, passed
	unknownPass, unknownFail []string // not in the expected file
	missing                  []string // expected pass, did not run
}

func compare(exp map[string]expectation, res map[string]string) report {
	var r report
	for name, status := range res {
		e, known := exp[name]
		switch status {
		case "pass":
			r.passed++
			switch {
			case !known:
				r.unknownPass = append(r.unknownPass, name)
			case !e.Pass:
				r.newlyPassing = append(r.newlyPassing, name)
			}
		case "fail":
			r.failed++
			switch {
			case !known:
				r.unknownFail = append(r.unknownFail, name)
			case e.Pass:
				r.regressions = append(r.regressions, name+"\t(expected to pass)")
			}
		}
	}
	for name, e := range exp {
		if _, ran := res[name]; !ran && e.Pass {
			r.missing = append(r.missing, name)
		}
	}
	r.selected = r.passed + r.failed
	for _, s := range [][]string{r.regressions, r.newlyPassing, r.unknownPass, r.unknownFail, r.missing} {
		sort.Strings(s)
	}
	// A test expected to pass that did not run at all is a regression too:
	// a crashed harness must not look like success.
	for _, m := range r.missing {
		r.regressions = append(r.regressions, m+"\t(expected to pass, did not run)")
	}
	return r
}

func (r report) print(w io.Writer, suite string) {
	if suite != "" {
		fmt.Fprintf(w, "== %s: %d passed / %d selected\n", suite, r.passed, r.selected)
	} else {
		fmt.Fprintf(w, "== %d passed / %d selected\n", r.passed, r.selected)
	}
	section := func(title string, names []string) {
		if len(names) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(names))
		for _, n := range names {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	section("REGRESSIONS", r.regressions)
	section("newly passing: mark them pass in the expected-results file", r.newlyPassing)
	section("new tests passing: add them to the expected-results file", r.unknownPass)
	section("new tests failing: add them with a reason", r.unknownFail)
}

// Expectation is one entry of an expected-results file.
type Expectation = expectation

// ReadExpected parses an expected-results file.
func ReadExpected(path string) (map[string]expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	exp := make(map[string]expectation)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: want name<TAB>pass|fail[<TAB>reason]", path, n)
		}
		switch fields[1] {
		case "pass":
			exp[fields[0]] = expectation{Pass: true}
		case "fail":
			if len(fields) < 3 || strings.TrimSpace(fields[2]) == "" {
				return nil, fmt.Errorf("%s:%d: a known failure needs a reason", path, n)
			}
			exp[fields[0]] = expectation{Reason: fields[2]}
		default:
			return nil, fmt.Errorf("%s:%d: status %q is not pass or fail", path, n, fields[1])
		}
	}
	return exp, sc.Err()
}

// ReadResults parses a results file.
func ReadResults(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := make(map[string]string)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Split(strings.TrimRight(sc.Text(), "\r"), "\t")
		if len(fields) < 2 || fields[0] == "" {
			continue
		}
		switch fields[1] {
		case "pass", "fail", "skip":
			res[fields[0]] = fields[1]
		}
	}
	return res, sc.Err()
}
