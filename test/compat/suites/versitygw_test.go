package suites

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The versitygw tester: an S3 gateway's own SDK-driven integration suite
// (Apache-2.0), run from its CLI, one test per process.
const (
	versitygwModule  = "github.com/versity/versitygw"
	versitygwVersion = "v1.8.0"
	// versitygwWorkers is how many tests run at once, each against its own
	// node.
	versitygwWorkers = 4
	// versitygwTestTimeout bounds one test. The tester's own request
	// timeout is 30 s; its slowest tests against sluice take a few seconds.
	versitygwTestTimeout = 90 * time.Second
	// versitygwBudget time-boxes the run (it takes about 3.5 minutes on
	// two loaded cores): once it is spent no further test starts, the
	// ones left are failed as not run, and the suite fails saying so,
	// long before `go test -timeout 30m` would kill the package and lose
	// every result.
	versitygwBudget = 10 * time.Minute
)

// versitygwGroups are the tester's groups that we run, with the
// configuration each group's listing is read with (the tester skips or adds
// tests by these flags): full-flow as `versitygw test full-flow` selects it,
// and the versioning group, which full-flow only runs with
// --versioning-enabled (that flag also makes the tester's cleanup delete
// every object version).
var versitygwGroups = []struct {
	root string
	conf map[string]bool
}{
	{"TestFullFlow", map[string]bool{"versioningEnabled": false, "azureTests": false, "windowsTests": false, "sidecarTests": false}},
	{"TestVersioning", map[string]bool{"versioningEnabled": true, "azureTests": false, "windowsTests": false, "sidecarTests": false}},
}

// versitygwSkipped reports tests that are not selected: the ones that drive
// versitygw's own admin CLI (users, bucket owners) and its checks that an
// operation answers NotImplemented.
func versitygwSkipped(name string) bool {
	for _, p := range []string{"IAM_", "AccessControl_", "PublicBucket_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return strings.HasSuffix(name, "_not_implemented")
}

// vgwTest is one selected test of the tester.
type vgwTest struct {
	Name string
	// Versioning runs it with --versioning-enabled.
	Versioning bool
	// NoCLI is set for the few tests the CLI has no command for; they run
	// in vgwrun (see buildVersitygwRunner).
	NoCLI bool
}

// TestVersitygw runs the selected tests of versitygw's tester against
// sluice and compares the results with test/compat/versitygw.expected.
// Every test gets a fresh node, so a test that leaves buckets behind cannot
// break the next one, and the tester's fixed bucket names (test-bucket-1,
// -2, … counted per process) cannot collide.
func TestVersitygw(t *testing.T) {
	needLong(t)
	bin := goInstall(t, versitygwModule+"/cmd/versitygw@"+versitygwVersion)
	src := moduleSource(t, versitygwModule+"@"+versitygwVersion)
	tests, err := versitygwSelection(filepath.Join(src, "tests", "integration", "group-tests.go"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("versitygw %s: %d tests selected", versitygwVersion, len(tests))
	var noCLI []string
	for _, tc := range tests {
		if tc.NoCLI {
			noCLI = append(noCLI, tc.Name)
		}
	}
	runner := buildVersitygwRunner(t, noCLI)

	var (
		mu      sync.Mutex
		results = make(map[string]string, len(tests))
		details = make(map[string]string)
		notRun  int
	)
	queue := make(chan vgwTest, len(tests))
	for _, tc := range tests {
		queue <- tc
	}
	close(queue)
	start := time.Now()
	// Workers are goroutines, not parallel subtests, so that -parallel
	// (GOMAXPROCS by default) does not cap them. Each test is a subtest
	// only to scope its node's cleanup; a test of the tester that fails
	// does not fail it: checkSuite judges the results.
	var wg sync.WaitGroup
	for range versitygwWorkers {
		wg.Go(func() {
			for tc := range queue {
				if time.Since(start) > versitygwBudget {
					mu.Lock()
					results[tc.Name] = "fail"
					details[tc.Name] = fmt.Sprintf("not run: the suite's %s budget ran out\n", versitygwBudget)
					notRun++
					mu.Unlock()
					continue
				}
				t.Run(tc.Name, func(t *testing.T) {
					exe := bin
					if tc.NoCLI {
						exe = runner
					}
					pass, detail := runVersitygwTest(t, exe, tc)
					mu.Lock()
					defer mu.Unlock()
					if pass {
						results[tc.Name] = "pass"
					} else {
						results[tc.Name] = "fail"
						details[tc.Name] = detail
					}
				})
			}
		})
	}
	wg.Wait()
	t.Logf("ran %d tests in %s", len(results)-notRun, time.Since(start).Round(time.Second))
	if notRun > 0 {
		t.Errorf("versitygw: %d of %d tests not run: the %s budget ran out", notRun, len(tests), versitygwBudget)
	}
	writeVersitygwDetails(t, details)
	checkSuite(t, "versitygw", results)
}

// runVersitygwTest runs one test in its own tester process (bin is the
// tester's CLI or vgwrun, which take the same arguments) against a fresh
// node and reports whether it passed, with the tester's output (and the
// node's warnings) when it did not.
func runVersitygwTest(t *testing.T, bin string, tc vgwTest) (bool, string) {
	var logs syncBuffer
	n := startNode(t, servertest.Options{Configure: func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}})
	ctx, cancel := context.WithTimeout(context.Background(), versitygwTestTimeout)
	defer cancel()
	args := []string{"test", "-a", servertest.AccessKeyID, "-s", servertest.SecretAccessKey, "-e", n.Endpoint, tc.Name}
	if tc.Versioning {
		args = append(args, "--versioning-enabled")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	// The tests that create users run ./versitygw admin …; from an empty
	// directory they fail at once instead of reaching a real gateway.
	dir := t.TempDir()
	cmd.Dir = dir
	cmd.Env = versitygwEnv(dir)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	plain := ansiEscape.ReplaceAll(out, nil)
	// A test reports under the name it gives itself, which is not always
	// its function's name: look for any PASS and no FAIL.
	if err == nil && hasLinePrefix(plain, "PASS ") && !hasLinePrefix(plain, "FAIL ") {
		return true, ""
	}
	var detail strings.Builder
	if ctx.Err() != nil {
		fmt.Fprintf(&detail, "timed out after %s\n", versitygwTestTimeout)
	}
	fmt.Fprintf(&detail, "exit: %v\n%s", err, plain)
	if l := logs.String(); l != "" {
		fmt.Fprintf(&detail, "node log:\n%s", l)
	}
	return false, detail.String()
}

// versitygwEnv is the tester's environment: no shared AWS configuration,
// no CA bundle (the SDK refuses one with the tester's own HTTP client).
func versitygwEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "VGW_") {
			continue
		}
		env = append(env, kv)
	}
	none := filepath.Join(dir, "none")
	return append(env, "AWS_CONFIG_FILE="+none, "AWS_SHARED_CREDENTIALS_FILE="+none, "AWS_EC2_METADATA_DISABLED=true")
}

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// hasLinePrefix reports whether a line of out starts with prefix.
func hasLinePrefix(out []byte, prefix string) bool {
	for line := range bytes.SplitSeq(out, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(prefix)) {
			return true
		}
	}
	return false
}

// writeVersitygwDetails logs each failure's first line and writes the full
// output of every failed test to $SLUICE_COMPAT_OUT/versitygw.failures.
func writeVersitygwDetails(t *testing.T, details map[string]string) {
	t.Helper()
	names := make([]string, 0, len(details))
	for n := range details {
		names = append(names, n)
	}
	sort.Strings(names)
	var full, short strings.Builder
	for _, n := range names {
		fmt.Fprintf(&full, "=== %s\n%s\n", n, details[n])
		fmt.Fprintf(&short, "  %s: %s\n", n, failLine(details[n]))
	}
	if len(names) > 0 {
		t.Logf("failed tests (%d):\n%s", len(names), short.String())
	}
	if dir := os.Getenv("SLUICE_COMPAT_OUT"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Error(err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "versitygw.failures"), []byte(full.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// failLine picks the tester's first FAIL line (or panic) out of a
// failed test's output.
func failLine(detail string) string {
	for line := range strings.SplitSeq(detail, "\n") {
		if rest, ok := strings.CutPrefix(line, "FAIL "); ok || strings.HasPrefix(line, "panic: ") {
			if !ok {
				rest = line
			} else if _, msg, found := strings.Cut(rest, ": "); found {
				rest = msg // drop the test's name
			}
			if len(rest) > 300 {
				rest = rest[:300] + "…"
			}
			return rest
		}
	}
	first, _, _ := strings.Cut(detail, "\n")
	return first
}

// vgwrunMain is the source of vgwrun, a stand-in for `versitygw test NAME`
// for the tests that have no CLI command: it calls the tester's exported
// test functions with the options the CLI would pass. %s is the map's
// entries.
const vgwrunMain = `// Command vgwrun runs one test of versitygw's tester, like
// "versitygw test -a KEY -s SECRET -e URL NAME [--versioning-enabled]".
package main

import (
	"fmt"
	"os"

	"github.com/versity/versitygw/tests/integration"
)

var tests = map[string]integration.IntTest{
%s}

func main() {
	args := os.Args[1:]
	if len(args) < 8 || args[0] != "test" || args[1] != "-a" || args[3] != "-s" || args[5] != "-e" {
		fmt.Fprintln(os.Stderr, "usage: vgwrun test -a KEY -s SECRET -e URL NAME [--versioning-enabled]")
		os.Exit(2)
	}
	test, ok := tests[args[7]]
	if !ok {
		fmt.Fprintln(os.Stderr, "vgwrun: unknown test", args[7])
		os.Exit(2)
	}
	opts := []integration.Option{
		integration.WithAccess(args[2]),
		integration.WithSecret(args[4]),
		integration.WithRegion("us-east-1"),
		integration.WithEndpoint(args[6]),
	}
	if len(args) > 8 && args[8] == "--versioning-enabled" {
		opts = append(opts, integration.WithVersioningEnabled())
	}
	if err := test(integration.NewS3Conf(opts...)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// buildVersitygwRunner builds vgwrun for names into the tool cache (keyed
// by the tester's version and the names) and returns its path; "" when
// there are no names.
func buildVersitygwRunner(t *testing.T, names []string) string {
	t.Helper()
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	var entries strings.Builder
	for _, n := range names {
		fmt.Fprintf(&entries, "\t%q: integration.%s,\n", n, n)
	}
	src := fmt.Sprintf(vgwrunMain, entries.String())
	sum := sha256.Sum256([]byte(src))
	bin := filepath.Join(toolDir(t), "bin", versitygwVersion, fmt.Sprintf("vgwrun-%x", sum[:6]))
	if fileExists(bin) {
		return bin
	}
	dir := t.TempDir()
	mod := "module sluice.invalid/vgwrun\n\ngo 1.24\n\nrequire " + versitygwModule + " " + versitygwVersion + "\n"
	for name, text := range map[string]string{"go.mod": mod, "main.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", bin, "."}} {
		cmd := exec.CommandContext(ctx, goBinary(), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vgwrun: go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return bin
}

// moduleSource downloads mod@version into the module cache (a no-op when it
// is there) and returns its directory.
func moduleSource(t *testing.T, modAtVersion string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBinary(), "mod", "download", "-json", modAtVersion)
	cmd.Dir = t.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v\n%s", modAtVersion, err, out)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s\n%s", modAtVersion, err, m.Error, out)
	}
	return m.Dir
}

// versitygwSelection lists the selected tests of versitygwGroups, in the
// tester's order, by reading the tester's group definitions: a group is a
// function whose body calls ts.Run(Test) or ts.Sync(Test), calls other
// groups, and guards some calls with conditions on ts.conf flags. Anything
// else is an error, so that a new tester version is looked at rather than
// misread. The CLI has a command for each key of the map GetIntTests
// returns; the tests missing from it (or whose key names another test's
// function) are marked NoCLI.
func versitygwSelection(groupFile string) ([]vgwTest, error) {
	f, err := parser.ParseFile(token.NewFileSet(), groupFile, nil, 0)
	if err != nil {
		return nil, err
	}
	funcs := make(map[string]*ast.FuncDecl)
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
			funcs[fd.Name.Name] = fd
		}
	}
	runnable, err := intTestNames(funcs["GetIntTests"])
	if err != nil {
		return nil, err
	}
	var tests []vgwTest
	seen := make(map[string]bool)
	for _, g := range versitygwGroups {
		names, err := groupTests(funcs, g.root, g.conf)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if seen[n] || versitygwSkipped(n) {
				continue
			}
			seen[n] = true
			tests = append(tests, vgwTest{Name: n, Versioning: g.conf["versioningEnabled"], NoCLI: !runnable[n]})
		}
	}
	return tests, nil
}

// groupTests lists the tests group root runs under conf.
func groupTests(funcs map[string]*ast.FuncDecl, root string, conf map[string]bool) ([]string, error) {
	var names []string
	var walk func(fn string, stmts []ast.Stmt) error
	walk = func(fn string, stmts []ast.Stmt) error {
		for _, st := range stmts {
			switch s := st.(type) {
			case *ast.ExprStmt:
				call, ok := s.X.(*ast.CallExpr)
				if !ok {
					return fmt.Errorf("%s: unexpected statement %T", fn, s.X)
				}
				switch fun := call.Fun.(type) {
				case *ast.SelectorExpr: // ts.Run(Test), ts.Sync(Test)
					if len(call.Args) != 1 || (fun.Sel.Name != "Run" && fun.Sel.Name != "Sync") {
						return fmt.Errorf("%s: unexpected call of %s", fn, fun.Sel.Name)
					}
					arg, ok := call.Args[0].(*ast.Ident)
					if !ok {
						return fmt.Errorf("%s: unexpected argument of %s", fn, fun.Sel.Name)
					}
					names = append(names, arg.Name)
				case *ast.Ident: // TestGroup(ts)
					sub, ok := funcs[fun.Name]
					if !ok {
						return fmt.Errorf("%s: group %s not found", fn, fun.Name)
					}
					if err := walk(fun.Name, sub.Body.List); err != nil {
						return err
					}
				default:
					return fmt.Errorf("%s: unexpected call %T", fn, call.Fun)
				}
			case *ast.IfStmt:
				if s.Init != nil {
					return fmt.Errorf("%s: if with an init statement", fn)
				}
				ok, err := evalConf(s.Cond, conf)
				if err != nil {
					return fmt.Errorf("%s: %w", fn, err)
				}
				switch {
				case ok:
					if err := walk(fn, s.Body.List); err != nil {
						return err
					}
				case s.Else != nil:
					if err := walk(fn, []ast.Stmt{s.Else}); err != nil {
						return err
					}
				}
			case *ast.BlockStmt:
				if err := walk(fn, s.List); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s: unexpected statement %T", fn, st)
			}
		}
		return nil
	}
	fd, ok := funcs[root]
	if !ok {
		return nil, fmt.Errorf("group %s not found", root)
	}
	return names, walk(root, fd.Body.List)
}

// evalConf evaluates a condition on ts.conf flags.
func evalConf(e ast.Expr, conf map[string]bool) (bool, error) {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return evalConf(x.X, conf)
	case *ast.UnaryExpr:
		if x.Op == token.NOT {
			v, err := evalConf(x.X, conf)
			return !v, err
		}
	case *ast.BinaryExpr:
		l, err := evalConf(x.X, conf)
		if err != nil {
			return false, err
		}
		r, err := evalConf(x.Y, conf)
		if err != nil {
			return false, err
		}
		switch x.Op {
		case token.LAND:
			return l && r, nil
		case token.LOR:
			return l || r, nil
		}
	case *ast.SelectorExpr:
		if v, ok := conf[x.Sel.Name]; ok {
			return v, nil
		}
		return false, fmt.Errorf("unknown tester flag %s", x.Sel.Name)
	}
	return false, errors.New("unexpected condition in a group")
}

// intTestNames returns the keys of the map literal GetIntTests returns
// that map to the function of the same name.
func intTestNames(fd *ast.FuncDecl) (map[string]bool, error) {
	if fd == nil {
		return nil, errors.New("GetIntTests not found")
	}
	names := make(map[string]bool)
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			lit, ok := kv.Key.(*ast.BasicLit)
			fn, isIdent := kv.Value.(*ast.Ident)
			// Some keys name a different function than their own; the
			// CLI's command of that name runs the other test.
			if ok && isIdent && lit.Kind == token.STRING && strings.Trim(lit.Value, "\"`") == fn.Name {
				names[fn.Name] = true
			}
		}
		return true
	})
	if len(names) == 0 {
		return nil, errors.New("GetIntTests: no tests found")
	}
	return names, nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
