package suites

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/server/servertest"
	"github.com/sluicehq/sluice/test/compat/expect"
)

// needLong skips a suite under -short.
func needLong(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("conformance suites are long; run without -short (CI does)")
	}
}

// toolDir is where third-party tools are built, cached across runs.
func toolDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SLUICE_COMPAT_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "sluice-compat")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goInstall builds pkg@version (from the Go module proxy) into the tool
// cache and returns the binary's path.
func goInstall(t *testing.T, pkgAtVersion string) string {
	t.Helper()
	pkg, version, _ := strings.Cut(pkgAtVersion, "@")
	bin := filepath.Join(toolDir(t), "bin", strings.ReplaceAll(version, "/", "_"), filepath.Base(pkg))
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBinary(), "install", pkgAtVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go install %s: %v\n%s", pkgAtVersion, err, out)
	}
	return bin
}

// goBinary finds the go command: on PATH, or where the Go distribution
// installs it.
func goBinary() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if fileExists("/usr/local/go/bin/go") {
		return "/usr/local/go/bin/go"
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// startNode starts a sluice node for a suite.
func startNode(t *testing.T, opts ...servertest.Options) *servertest.Node {
	t.Helper()
	return servertest.Start(t, opts...)
}

// checkSuite compares results (test name → pass/fail/skip) with
// test/compat/<suite>.expected, logs the report and fails the test on
// regressions. The results are also written to $SLUICE_COMPAT_OUT/<suite>.results
// when that is set, for updating the expected file.
func checkSuite(t *testing.T, suite string, results map[string]string) {
	t.Helper()
	if dir := os.Getenv("SLUICE_COMPAT_OUT"); dir != "" {
		names := make([]string, 0, len(results))
		for n := range results {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			b.WriteString(n + "\t" + results[n] + "\n")
		}
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, suite+".results"), []byte(b.String()), 0o644)
	}
	var out strings.Builder
	err := expect.CheckResults(filepath.Join("..", suite+".expected"), results, suite, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Error(err)
	}
}
