package expect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompare(t *testing.T) {
	exp := write(t, "exp", "# comment\nA\tpass\nB\tfail\tno ACLs\nC\tpass\nD\tpass\n")
	for _, tc := range []struct {
		name    string
		results string
		wantErr bool
		wantOut []string
	}{
		{"all as expected", "A\tpass\nB\tfail\nC\tpass\nD\tpass\n", false, []string{"3 passed / 4 selected"}},
		{"regression", "A\tfail\nB\tfail\nC\tpass\nD\tpass\n", true, []string{"REGRESSIONS (1)", "A\t(expected to pass)"}},
		{"newly passing", "A\tpass\nB\tpass\nC\tpass\nD\tpass\n", false, []string{"newly passing", "  B"}},
		{"did not run", "A\tpass\nB\tfail\nC\tpass\n", true, []string{"D\t(expected to pass, did not run)"}},
		{"unknown tests", "A\tpass\nB\tfail\nC\tpass\nD\tpass\nE\tpass\nF\tfail\n", false, []string{"new tests passing", "  E", "new tests failing", "  F"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := Check(exp, write(t, "res", tc.results), "", &out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tc.wantErr, out.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestExpectedFileErrors(t *testing.T) {
	for _, bad := range []string{"A\n", "A\tmaybe\n", "A\tfail\n"} {
		if _, err := ReadExpected(write(t, "exp", bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
