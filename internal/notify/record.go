package notify

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/jsonscan"
	"github.com/sluicehq/sluice/internal/objstore"
)

// Event is the document a function receives for an S3 event: one record,
// exactly as S3 sends it (aws-lambda-go decodes it as events.S3Event).
type Event struct {
	Records []EventRecord `json:"Records"`
}

// EventRecord is one S3 event notification record.
type EventRecord struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AWSRegion         string            `json:"awsRegion"`
	EventTime         string            `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      Identity          `json:"userIdentity"`
	RequestParameters RequestParameters `json:"requestParameters"`
	ResponseElements  ResponseElements  `json:"responseElements"`
	S3                Entity            `json:"s3"`
}

// Identity is a principal as event records name it.
type Identity struct {
	PrincipalID string `json:"principalId"`
}

// RequestParameters describe the request that caused the event.
type RequestParameters struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

// ResponseElements echo the causing request's response headers.
type ResponseElements struct {
	RequestID string `json:"x-amz-request-id"`
	HostID    string `json:"x-amz-id-2"`
}

// Entity is the "s3" member of a record.
type Entity struct {
	SchemaVersion   string       `json:"s3SchemaVersion"`
	ConfigurationID string       `json:"configurationId"`
	Bucket          BucketEntity `json:"bucket"`
	Object          ObjectEntity `json:"object"`
}

// BucketEntity describes the event's bucket.
type BucketEntity struct {
	Name          string   `json:"name"`
	OwnerIdentity Identity `json:"ownerIdentity"`
	ARN           string   `json:"arn"`
}

// ObjectEntity describes the event's object. Which members are present
// depends on the event: size and eTag for created objects, eTag for
// tagging and ACL changes, versionId on buckets that have (had) versioning, sequencer for
// creations and removals.
type ObjectEntity struct {
	// Key is URL-encoded in form style (a space is "+").
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	// Sequencer orders the events of one key: compare two (the shorter
	// right-padded with zeros) as strings; the greater is later.
	Sequencer string `json:"sequencer,omitempty"`
}

// TestEvent is the message S3 sends a destination when a configuration
// that adds it is set.
type TestEvent struct {
	Service   string `json:"Service"`
	Event     string `json:"Event"`
	Time      string `json:"Time"`
	Bucket    string `json:"Bucket"`
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
}

// Constants of event records.
const (
	eventSource   = "aws:s3"
	schemaVersion = "1.0"
	testEventName = "s3:TestEvent"
	timeLayout    = "2006-01-02T15:04:05.000Z"
)

// eventVersion is a record's eventVersion: 2.3 for the tagging (and ACL,
// lifecycle, restore-delete) events, 2.1 for the others.
func eventVersion(name string) string {
	for _, f := range []string{"ObjectTagging:", "ObjectAcl:", "LifecycleExpiration:", "LifecycleTransition", "IntelligentTiering", "ObjectRestore:Delete"} {
		if strings.HasPrefix(name, f) {
			return "2.3"
		}
	}
	return "2.1"
}

// recordSource is what an event's record is built from when it is
// delivered (Service.BuildPayload): the record's fields that vary, which
// the transaction of the event stores in place of the record itself, a
// third of its size; the rest (eventVersion, eventSource, s3SchemaVersion,
// the bucket ARN) follows from them. Members are omitted when empty.
type recordSource struct {
	Region    string `json:"r,omitempty"`
	Time      string `json:"t,omitempty"` // eventTime, as the record has it
	Name      string `json:"n,omitempty"` // eventName
	Principal string `json:"p,omitempty"`
	SourceIP  string `json:"ip,omitempty"`
	RequestID string `json:"rq,omitempty"`
	HostID    string `json:"h,omitempty"`
	ConfigID  string `json:"c,omitempty"`
	Bucket    string `json:"b,omitempty"`
	Owner     string `json:"o,omitempty"`
	Key       string `json:"k,omitempty"` // URL-encoded, as the record has it
	Size      *int64 `json:"s,omitempty"`
	ETag      string `json:"e,omitempty"`
	VersionID string `json:"v,omitempty"`
	Sequencer string `json:"q,omitempty"`
}

// source is the record source of ev for one configuration.
func (s *Service) source(ev *objstore.Event, encodedKey, configID, sequencer string) recordSource {
	src := recordSource{
		Region: s.region, Time: ev.Time.UTC().Format(timeLayout), Name: ev.Name,
		Principal: ev.Origin.PrincipalID, SourceIP: ev.Origin.SourceIP,
		RequestID: ev.Origin.RequestID, HostID: ev.Origin.HostID,
		ConfigID: configID, Bucket: ev.Bucket.Name, Owner: s.account, Key: encodedKey,
	}
	versionID := ""
	if ev.Bucket.Versioning != "" {
		versionID = ev.VersionID
	}
	size := ev.Size
	sourceEnd(&src, classOf(ev.Name), &size, ev.ETag, versionID, sequencer)
	return src
}

// record is the record built from src.
func (src *recordSource) record() EventRecord {
	return EventRecord{
		EventVersion:      eventVersion(src.Name),
		EventSource:       eventSource,
		AWSRegion:         src.Region,
		EventTime:         src.Time,
		EventName:         src.Name,
		UserIdentity:      Identity{PrincipalID: src.Principal},
		RequestParameters: RequestParameters{SourceIPAddress: src.SourceIP},
		ResponseElements:  ResponseElements{RequestID: src.RequestID, HostID: src.HostID},
		S3: Entity{
			SchemaVersion:   schemaVersion,
			ConfigurationID: src.ConfigID,
			Bucket: BucketEntity{
				Name:          src.Bucket,
				OwnerIdentity: Identity{PrincipalID: src.Owner},
				ARN:           "arn:aws:s3:::" + src.Bucket,
			},
			Object: ObjectEntity{Key: src.Key, Size: src.Size, ETag: src.ETag, VersionID: src.VersionID, Sequencer: src.Sequencer},
		},
	}
}

// BuildPayload implements async.PayloadBuilder: the invocation payload of
// an event, {"Records":[record]}, built from the record source Emit
// stored.
func (s *Service) BuildPayload(source []byte) ([]byte, error) {
	var src recordSource
	if err := decodeSource(source, &src); err != nil {
		return nil, err
	}
	r := src.record()
	return appendRecordPayload(make([]byte, 0, 1024), &r), nil
}

// decodeSource decodes a record source: appendSource's members without
// reflection (every event's is decoded once, on the delivery path),
// anything else with encoding/json.
func decodeSource(raw []byte, src *recordSource) error {
	var fast recordSource
	err := jsonscan.Object(raw, func(k string, v []byte) error {
		var f *string
		switch k {
		case "r":
			f = &fast.Region
		case "t":
			f = &fast.Time
		case "n":
			f = &fast.Name
		case "p":
			f = &fast.Principal
		case "ip":
			f = &fast.SourceIP
		case "rq":
			f = &fast.RequestID
		case "h":
			f = &fast.HostID
		case "c":
			f = &fast.ConfigID
		case "b":
			f = &fast.Bucket
		case "o":
			f = &fast.Owner
		case "k":
			f = &fast.Key
		case "e":
			f = &fast.ETag
		case "v":
			f = &fast.VersionID
		case "q":
			f = &fast.Sequencer
		case "s":
			n, err := jsonscan.Int(v)
			fast.Size = &n
			return err
		default:
			return jsonscan.ErrSlow
		}
		var err error
		*f, err = jsonscan.String(v)
		return err
	})
	if err == nil {
		*src = fast
		return nil
	}
	return json.Unmarshal(raw, src)
}

// testPayload is the s3:TestEvent message of a configuration change.
func testPayload(bucket string, o objstore.Origin, t time.Time) ([]byte, error) {
	return json.Marshal(TestEvent{
		Service: "Amazon S3", Event: testEventName, Time: t.UTC().Format(timeLayout),
		Bucket: bucket, RequestID: o.RequestID, HostID: o.HostID,
	})
}

// EncodeKey URL-encodes an object key as event records carry it: form
// encoding (application/x-www-form-urlencoded, a space becomes "+"), which
// leaves letters, digits and "-_.*" alone, except that "/" is kept too.
// Filter rule values are matched against this form, as on S3 (write a
// space in a prefix as "+").
func EncodeKey(key string) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(key); i++ {
		if !keySafe(key[i]) && key[i] != ' ' {
			n++
		}
	}
	if n == 0 && !strings.Contains(key, " ") {
		return key
	}
	b := make([]byte, 0, len(key)+2*n)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case keySafe(c):
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

func keySafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '*' || c == '/'
}
