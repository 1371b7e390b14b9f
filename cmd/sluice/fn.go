package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/server"
)

const fnUsage = `Usage:
  sluice fn deploy DIR --name N --runtime R --handler H [--env K=V ...] [--timeout S] [--memory MB] [--role ARN]
                         zip DIR and create the function, or update its code and configuration
  sluice fn invoke N [PAYLOAD|-] [--qualifier Q] [--async] [--log]
                         invoke a function and print its response (- reads the payload from stdin)
  sluice fn ls           list functions
  sluice fn events [N] --failed [--json]
                         list the asynchronous events given up on that no destination took,
                         of one function or all (read from the server's data directory, --data)

deploy, invoke and ls call the Lambda API of a running server: AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY as "sluice server" prints them (or
--endpoint; without keys in the environment, the credentials.json of --data).
`

// env is what the fn and logs commands need from main.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func runFn(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, fnUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "deploy":
		return fnDeploy(ctx, args[1:], e)
	case "invoke":
		return fnInvoke(ctx, args[1:], e)
	case "ls", "list":
		return fnList(ctx, args[1:], e)
	case "events":
		return fnEvents(args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, fnUsage)
		return nil
	}
	fmt.Fprint(e.stderr, fnUsage)
	return fmt.Errorf("unknown fn command %q", args[0])
}

// apiFlags are the flags of commands that call a server's Lambda API.
type apiFlags struct {
	endpoint string
	data     string
}

func (a *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.endpoint, "endpoint", "", "server `URL` (default $AWS_ENDPOINT_URL_LAMBDA, $AWS_ENDPOINT_URL, http://127.0.0.1:9000)")
	fs.StringVar(&a.data, "data", "./sluice-data", "server data directory, for its credentials when the environment has none")
}

// client returns a Lambda client for the server: endpoint, keys and region
// from the flags and environment, an HTTP client of its own (so
// AWS_CA_BUNDLE does not apply), no retries (a throttle is reported, not
// hidden).
func (a *apiFlags) client(getenv func(string) string) (*lambda.Client, error) {
	endpoint := firstOf(a.endpoint, getenv("AWS_ENDPOINT_URL_LAMBDA"), getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:9000")
	key, secret, token := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
	if key == "" || secret == "" {
		raw, err := os.ReadFile(server.CredentialsPath(a.data))
		if err != nil {
			return nil, fmt.Errorf("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (as sluice server prints them), or point --data at the server's data directory (%v)", err)
		}
		var c server.Credentials
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%s: %v", server.CredentialsPath(a.data), err)
		}
		key, secret, token = c.AccessKeyID, c.SecretAccessKey, ""
	}
	return lambda.New(lambda.Options{
		Region:           firstOf(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, token),
		BaseEndpoint:     aws.String(endpoint),
		HTTPClient:       &http.Client{Timeout: 16 * time.Minute}, // functions run up to 15 minutes
		RetryMaxAttempts: 1,
	}), nil
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// envFlag collects repeated --env K=V flags.
type envFlag map[string]string

func (e envFlag) String() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k+"="+e[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (e envFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	e[k] = val
	return nil
}

func fnDeploy(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sluice fn deploy", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var api apiFlags
	api.register(fs)
	name := fs.String("name", "", "function name (required)")
	runtime := fs.String("runtime", "", "runtime, e.g. python3.12, nodejs20.x, provided.al2023 (required to create)")
	handler := fs.String("handler", "", "handler, e.g. app.handler (required to create)")
	role := fs.String("role", "arn:aws:iam::000000000000:role/sluice-function", "execution role ARN")
	timeout := fs.Int("timeout", 0, "timeout in seconds (default 3 on create)")
	memory := fs.Int("memory", 0, "memory size in MB (default 128 on create)")
	vars := envFlag{}
	fs.Var(vars, "env", "environment variable `K=V` (repeatable; replaces all variables on update)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("fn deploy: want exactly one directory")
	}
	if *name == "" {
		return errors.New("fn deploy: --name is required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	code, err := zipDir(pos[0])
	if err != nil {
		return fmt.Errorf("fn deploy: %w", err)
	}
	c, err := api.client(e.getenv)
	if err != nil {
		return err
	}
	var environment *types.Environment
	if set["env"] {
		environment = &types.Environment{Variables: vars}
	}
	optInt := func(flag string, v int) *int32 {
		if !set[flag] {
			return nil
		}
		n := int32(v)
		return &n
	}
	_, err = c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: name})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		if *runtime == "" || *handler == "" {
			return fmt.Errorf("fn deploy: function %s does not exist; --runtime and --handler are required to create it", *name)
		}
		out, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: name, Runtime: types.Runtime(*runtime), Handler: handler, Role: role,
			Timeout: optInt("timeout", *timeout), MemorySize: optInt("memory", *memory),
			Environment: environment, Code: &types.FunctionCode{ZipFile: code},
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created %s (%s, %d bytes, sha256 %s)\n", aws.ToString(out.FunctionArn), out.Runtime, out.CodeSize, aws.ToString(out.CodeSha256))
		return nil
	case err != nil:
		return err
	}
	out, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: name, ZipFile: code})
	if err != nil {
		return err
	}
	up := &lambda.UpdateFunctionConfigurationInput{
		FunctionName: name, Timeout: optInt("timeout", *timeout), MemorySize: optInt("memory", *memory),
		Environment: environment,
	}
	if set["runtime"] {
		up.Runtime = types.Runtime(*runtime)
	}
	if set["handler"] {
		up.Handler = handler
	}
	if set["role"] {
		up.Role = role
	}
	if up.Timeout != nil || up.MemorySize != nil || up.Environment != nil || up.Runtime != "" || up.Handler != nil || up.Role != nil {
		cfg, err := c.UpdateFunctionConfiguration(ctx, up)
		if err != nil {
			return err
		}
		out.Runtime = cfg.Runtime
	}
	fmt.Fprintf(e.stdout, "updated %s (%s, %d bytes, sha256 %s)\n", aws.ToString(out.FunctionArn), out.Runtime, out.CodeSize, aws.ToString(out.CodeSha256))
	return nil
}

// zipDir zips a directory's contents (not the directory itself): regular
// files with their modes, so that a bootstrap stays executable, and
// symbolic links as links.
func zipDir(dir string) ([]byte, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			h.Name += "/"
			_, err = zw.CreateHeader(h)
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			w, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			_, err = io.WriteString(w, target)
			return err
		case !info.Mode().IsRegular():
			return nil // sockets, devices: nothing a function can use
		}
		h.Method = zip.Deflate
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		files++
		_, err = io.Copy(w, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if files == 0 {
		return nil, fmt.Errorf("%s has no files", dir)
	}
	return buf.Bytes(), nil
}

func fnInvoke(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sluice fn invoke", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var api apiFlags
	api.register(fs)
	qualifier := fs.String("qualifier", "", "version or alias")
	async := fs.Bool("async", false, "invoke asynchronously (InvocationType Event): queue the event and return")
	showLog := fs.Bool("log", false, "print the end of the invocation's log (the last 4 KB) to stderr")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return errors.New("fn invoke: want a function name and an optional payload")
	}
	var payload []byte
	if len(pos) == 2 {
		payload = []byte(pos[1])
		if pos[1] == "-" {
			if payload, err = io.ReadAll(e.stdin); err != nil {
				return err
			}
		}
	}
	c, err := api.client(e.getenv)
	if err != nil {
		return err
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(pos[0]), Payload: payload}
	if *qualifier != "" {
		in.Qualifier = qualifier
	}
	if *async {
		in.InvocationType = types.InvocationTypeEvent
	} else if *showLog {
		in.LogType = types.LogTypeTail
	}
	out, err := c.Invoke(ctx, in)
	if err != nil {
		return err
	}
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if *async {
		fmt.Fprintf(e.stdout, "accepted: request ID %s (status %d)\n", id, out.StatusCode)
		if *showLog {
			fmt.Fprintf(e.stderr, "the invocation runs later: see sluice logs %s\n", pos[0])
		}
		return nil
	}
	if *showLog && out.LogResult != nil {
		if tail, err := base64.StdEncoding.DecodeString(*out.LogResult); err == nil {
			e.stderr.Write(tail)
		}
	}
	e.stdout.Write(out.Payload)
	if len(out.Payload) > 0 && out.Payload[len(out.Payload)-1] != '\n' {
		fmt.Fprintln(e.stdout)
	}
	if fe := aws.ToString(out.FunctionError); fe != "" {
		return fmt.Errorf("function error (%s) in request %s, version %s", fe, id, aws.ToString(out.ExecutedVersion))
	}
	return nil
}

func fnList(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sluice fn ls", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var api apiFlags
	api.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("fn ls: unexpected argument %q", fs.Arg(0))
	}
	c, err := api.client(e.getenv)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tRUNTIME\tHANDLER\tMEMORY\tTIMEOUT\tCODE SIZE\tLAST MODIFIED")
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, f := range page.Functions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d MB\t%d s\t%d\t%s\n", aws.ToString(f.FunctionName), f.Runtime, aws.ToString(f.Handler),
				aws.ToInt32(f.MemorySize), aws.ToInt32(f.Timeout), f.CodeSize, aws.ToString(f.LastModified))
		}
	}
	return tw.Flush()
}

func fnEvents(args []string, e env) error {
	fs := flag.NewFlagSet("sluice fn events", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	data := fs.String("data", "./sluice-data", "the server's data directory")
	failed := fs.Bool("failed", false, "list the events given up on that no destination took (the only list kept)")
	asJSON := fs.Bool("json", false, "print each event as a JSON line, invocation record included")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if !*failed {
		return errors.New("fn events: only --failed is supported: queued events live in the server's metadata store")
	}
	if len(pos) > 1 {
		return errors.New("fn events: want at most one function name")
	}
	dir := async.Dir(*data)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("fn events: no asynchronous invocation data under %s (is --data the server's data directory?)", *data)
	}
	names := pos
	if len(names) == 0 {
		if names, err = async.FailedFunctions(dir); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "TIME\tFUNCTION\tREQUEST ID\tCONDITION\tINVOKES\tREASON")
	}
	for _, name := range names {
		events, err := async.ReadFailed(dir, name)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if *asJSON {
				line, err := json.Marshal(&ev)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s\n", line)
				continue
			}
			reason := ev.Reason
			if ev.Destination != "" {
				reason += "; destination " + ev.Destination + " failed: " + ev.DestinationError
			}
			invokes := 0
			if ev.Record != nil {
				invokes = ev.Record.RequestContext.ApproximateInvokeCount
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", ev.Time.Format(time.RFC3339), ev.Function, ev.RequestID, ev.Condition, invokes, reason)
		}
	}
	if *asJSON {
		return nil
	}
	return tw.Flush()
}
