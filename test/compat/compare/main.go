// Command compare checks a conformance suite's results file against the
// suite's expected-results file (see package expect) and exits non-zero on
// regressions.
//
// Usage: go run ./test/compat/compare -expected FILE -results FILE [-suite NAME]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sluicehq/sluice/test/compat/expect"
)

func main() {
	expected := flag.String("expected", "", "expected-results file")
	results := flag.String("results", "", "results file from the runner")
	suite := flag.String("suite", "", "suite name for the report")
	flag.Parse()
	if err := expect.Check(*expected, *results, *suite, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}
