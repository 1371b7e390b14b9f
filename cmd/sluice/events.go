package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicehq/sluice/internal/notify"
	"github.com/sluicehq/sluice/internal/router"
	"github.com/sluicehq/sluice/internal/server"
)

const eventsUsage = `Usage: sluice events [--bucket B] [--follow] [--limit N] [--json] [--endpoint URL] [--data DIR]

Lists recent S3 event notifications delivered to functions, one line per
delivery (an event and a configuration that selected it), oldest first,
with its state: pending, retrying (with the last failure), delivered, or
failed (with the reason and where its record went). --follow keeps
printing new deliveries and state changes until interrupted.

It calls the server's administrative API with the account root's
credentials: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY as
"sluice server" prints them (or --endpoint; without keys in the environment,
the credentials.json of --data).

Flags:
`

// runEvents is "sluice events".
func runEvents(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sluice events", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), eventsUsage)
		fs.PrintDefaults()
	}
	bucket := fs.String("bucket", "", "only this bucket's events")
	follow := fs.Bool("follow", false, "keep printing new deliveries and state changes")
	fs.BoolVar(follow, "f", false, "short for --follow")
	limit := fs.Int("limit", 50, "print the newest `N` deliveries first")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	interval := fs.Duration("interval", 500*time.Millisecond, "how often --follow asks the server")
	var api apiFlags
	api.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return fmt.Errorf("events: unexpected argument %q", pos[0])
	}
	c, err := newAdminClient(&api, e.getenv)
	if err != nil {
		return err
	}
	p := &eventPrinter{json: *asJSON, w: e.stdout, shown: map[string]string{}}
	if !*asJSON {
		p.tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(p.tw, "TIME\tSTATE\tEVENT\tBUCKET\tKEY\tFUNCTION\tATTEMPTS\tREQUEST ID\tREASON")
	}
	l, err := c.events(ctx, *bucket, "", *limit)
	if err != nil {
		return err
	}
	p.print(l.Records)
	if !*follow {
		if l.Backlog > 0 && !*asJSON {
			fmt.Fprintf(e.stderr, "%d deliveries not done yet (pending or retrying)\n", l.Backlog)
		}
		return nil
	}
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// Ask from the oldest delivery still under way, to see it change.
		after := p.last
		if p.oldestOpen != "" && p.oldestOpen <= p.last {
			after = before(p.oldestOpen)
		}
		l, err := c.events(ctx, *bucket, after, 10000)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		p.print(l.Records)
	}
}

// eventPrinter prints records it has not shown in their current state.
type eventPrinter struct {
	json bool
	w    io.Writer
	tw   *tabwriter.Writer
	// shown maps the records shown (and not done) to their state; last
	// is the newest record seen, oldestOpen the oldest not done.
	shown      map[string]string
	last       string
	oldestOpen string
}

func (p *eventPrinter) print(recs []*notify.Record) {
	for _, r := range recs {
		if s, ok := p.shown[r.ID]; ok && s == r.State {
			continue
		}
		if r.ID <= p.last && !p.open(r.ID) {
			continue // shown done already
		}
		if p.json {
			b, _ := json.Marshal(r)
			fmt.Fprintf(p.w, "%s\n", b)
		} else {
			key := r.Key
			if key == "" {
				key = "-"
			}
			attempts := "-"
			if r.Attempts > 0 {
				attempts = strconv.Itoa(r.Attempts)
			}
			fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05.000"), r.State,
				r.Event, r.Bucket, key, shortFunction(r.Function), attempts, r.RequestID, r.Reason)
		}
		if r.Done() {
			delete(p.shown, r.ID)
		} else {
			p.shown[r.ID] = r.State
		}
		p.last = max(p.last, r.ID)
	}
	p.oldestOpen = ""
	for id := range p.shown {
		if p.oldestOpen == "" || id < p.oldestOpen {
			p.oldestOpen = id
		}
	}
	if p.tw != nil {
		p.tw.Flush()
	}
}

func (p *eventPrinter) open(id string) bool {
	_, ok := p.shown[id]
	return ok
}

// before returns the record ID just before id (IDs are 16 hex digits).
func before(id string) string {
	n, err := strconv.ParseUint(id, 16, 64)
	if err != nil || n == 0 {
		return ""
	}
	return fmt.Sprintf("%016x", n-1)
}

// shortFunction shows a function ARN of this account as name[:qualifier].
func shortFunction(arn string) string {
	if _, after, ok := strings.Cut(arn, ":function:"); ok {
		return after
	}
	return arn
}

// adminClient calls the server's administrative API, signing with SigV4.
type adminClient struct {
	endpoint string
	creds    aws.Credentials
	region   string
	http     *http.Client
}

func newAdminClient(a *apiFlags, getenv func(string) string) (*adminClient, error) {
	endpoint := firstOf(a.endpoint, getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:9000")
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
	return &adminClient{
		endpoint: strings.TrimRight(endpoint, "/"),
		creds:    aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token},
		region:   firstOf(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		http:     &http.Client{Timeout: time.Minute},
	}, nil
}

var emptyPayloadHash = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

// events lists the event log (see notify.Query).
func (c *adminClient) events(ctx context.Context, bucket, after string, limit int) (*notify.Listing, error) {
	q := url.Values{}
	if bucket != "" {
		q.Set("bucket", bucket)
	}
	if after != "" {
		q.Set("after", after)
	}
	q.Set("limit", strconv.Itoa(limit))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+router.AdminPrefix+"events?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amz-Content-Sha256", emptyPayloadHash)
	if err := v4.NewSigner().SignHTTP(ctx, c.creds, req, emptyPayloadHash, "s3", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Code, Message string }
		if json.Unmarshal(body, &e) == nil && e.Code != "" {
			return nil, fmt.Errorf("events: %s: %s", e.Code, e.Message)
		}
		return nil, fmt.Errorf("events: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var l notify.Listing
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, errors.New("events: the server's answer is not an event listing: " + err.Error())
	}
	return &l, nil
}
