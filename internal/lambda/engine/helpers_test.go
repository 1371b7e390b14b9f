package engine

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if goFuncDir != "" {
		os.RemoveAll(goFuncDir)
	}
	os.Exit(code)
}

// zfile is an entry of a test zip.
type zfile struct {
	body string
	mode fs.FileMode // 0 means 0644; fs.ModeSymlink makes body the target
}

// zipOf builds a zip; entries are written in name order.
func zipOf(tb testing.TB, files map[string]zfile) []byte {
	tb.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		f := files[n]
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		if len(f.body) > 1<<20 {
			h.Method = zip.Store
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(w, f.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// deploy makes a Deployment of a zip.
func deploy(name, runtime, handler string, code []byte) *lambda.Deployment {
	sum := sha256.Sum256(code)
	sha := hex.EncodeToString(sum[:])
	return &lambda.Deployment{
		FunctionName: name,
		FunctionARN:  "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		Version:      "$LATEST",
		Runtime:      runtime,
		Handler:      handler,
		Timeout:      3 * time.Second,
		MemoryMB:     128,
		CodeSHA256:   sha,
		Revision:     sha[:8],
		OpenCode: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(code)), nil
		},
	}
}

func newEngine(tb testing.TB, cfgs ...Config) *Engine {
	tb.Helper()
	var cfg Config
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	e, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func invoke(tb testing.TB, e *Engine, d *lambda.Deployment, payload string) *lambda.Result {
	tb.Helper()
	res, err := e.Invoke(context.Background(), d, &lambda.Invocation{Payload: []byte(payload)})
	if err != nil {
		tb.Fatalf("invoke %s: %v", d.FunctionName, err)
	}
	return res
}

// errorDocOf decodes an error payload.
type errDoc struct {
	Message    string            `json:"errorMessage"`
	Type       string            `json:"errorType"`
	StackTrace []json.RawMessage `json:"stackTrace"`
	Trace      []string          `json:"trace"`
	RequestID  *string           `json:"requestId"`
}

func decodeErr(tb testing.TB, res *lambda.Result) errDoc {
	tb.Helper()
	if res.FunctionError != "Unhandled" {
		tb.Fatalf("FunctionError %q, payload %s\nlog:\n%s", res.FunctionError, res.Payload, res.Log)
	}
	var d errDoc
	if err := json.Unmarshal(res.Payload, &d); err != nil {
		tb.Fatalf("error payload %s: %v", res.Payload, err)
	}
	return d
}

func wantOK(tb testing.TB, res *lambda.Result) {
	tb.Helper()
	if res.FunctionError != "" {
		tb.Fatalf("FunctionError %q: %s\nlog:\n%s", res.FunctionError, res.Payload, res.Log)
	}
}

var (
	goFuncOnce sync.Once
	goFuncDir  string
	goFuncZip  []byte
	goFuncErr  error
)

// goFunc builds testdata/gofunc with aws-lambda-go and zips it as
// bootstrap, once per test binary.
func goFunc(tb testing.TB) []byte {
	tb.Helper()
	goFuncOnce.Do(func() {
		goFuncDir, goFuncErr = os.MkdirTemp("", "sluice-gofunc-")
		if goFuncErr != nil {
			return
		}
		out := filepath.Join(goFuncDir, "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/gofunc")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			goFuncErr = &buildError{err, string(b)}
			return
		}
		bin, err := os.ReadFile(out)
		if err != nil {
			goFuncErr = err
			return
		}
		goFuncZip = zipOf(tb, map[string]zfile{"bootstrap": {body: string(bin), mode: 0o755}})
	})
	if goFuncErr != nil {
		tb.Fatalf("build Go test function: %v", goFuncErr)
	}
	return goFuncZip
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func needPython(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		tb.Skip("python3 is not installed")
	}
}

func needNode(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		tb.Skip("node is not installed")
	}
}

// alive reports whether a process exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscallZero) == nil
}

var syscallZero = syscall.Signal(0)

// eventually waits for cond.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
