package servertest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicehq/sluice/internal/server"
)

// childEnv names the data directory of a node run by ServeChild in a
// child process started by StartChild.
const childEnv = "SLUICE_TEST_CHILD_DATA"

// ServeChild, called first in a crash test's TestMain, serves a durable
// node (fsync on, the test credentials) over the data directory that
// StartChild passed, prints its address and never returns; configure, if
// set, edits the configuration before Open. In a process StartChild did
// not start it returns at once.
func ServeChild(configure func(*server.Config)) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return
	}
	cfg := server.Config{
		DataDir: dir, AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey,
		AccountID: AccountID, Region: Region,
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := server.Open(cfg)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("ADDR", ln.Addr().String())
	srv.Serve(context.Background(), ln)
	os.Exit(0)
}

// Child is a node served by a child process (the test binary run again),
// so that a test can kill it with SIGKILL without killing itself.
type Child struct {
	cmd *exec.Cmd
	// Endpoint is the base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// Addr is the child's listener host:port.
	Addr string
}

// StartChild runs the test binary again as a node over dir (its TestMain
// must call ServeChild first) and waits for its address. The child is
// killed when the test ends.
func StartChild(tb testing.TB, dir string) *Child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		cmd.Process.Kill()
		cmd.Wait()
		tb.Fatalf("child did not start: %q %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	c := &Child{cmd: cmd, Endpoint: "http://" + addr, Addr: addr}
	tb.Cleanup(c.Kill)
	return c
}

// Kill kills the child with SIGKILL and waits for it to exit; killing it
// again does nothing.
func (c *Child) Kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

// AWSConfig returns an SDK configuration with the child's endpoint and
// the test credentials, a one-minute HTTP timeout and no retries (a
// request to a killed child fails at once).
func (c *Child) AWSConfig() aws.Config {
	return aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint:     aws.String(c.Endpoint),
		HTTPClient:       &http.Client{Timeout: time.Minute},
		RetryMaxAttempts: 1,
	}
}
