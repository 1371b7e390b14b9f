package notify

import (
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/jsonscan"
)

// Event records and log records are written inside the transaction of the
// change they describe, which runs on the metadata store's one committer:
// they are encoded by hand, which is several times cheaper than
// encoding/json's reflection (record_test.go checks that both agree).

// appendRecordPayload appends the invocation payload of one record:
// {"Records":[record]}.
func appendRecordPayload(b []byte, r *EventRecord) []byte {
	b = append(b, `{"Records":[{"eventVersion":`...)
	b = jsonscan.AppendString(b, r.EventVersion)
	b = append(b, `,"eventSource":`...)
	b = jsonscan.AppendString(b, r.EventSource)
	b = append(b, `,"awsRegion":`...)
	b = jsonscan.AppendString(b, r.AWSRegion)
	b = append(b, `,"eventTime":`...)
	b = jsonscan.AppendString(b, r.EventTime)
	b = append(b, `,"eventName":`...)
	b = jsonscan.AppendString(b, r.EventName)
	b = append(b, `,"userIdentity":{"principalId":`...)
	b = jsonscan.AppendString(b, r.UserIdentity.PrincipalID)
	b = append(b, `},"requestParameters":{"sourceIPAddress":`...)
	b = jsonscan.AppendString(b, r.RequestParameters.SourceIPAddress)
	b = append(b, `},"responseElements":{"x-amz-request-id":`...)
	b = jsonscan.AppendString(b, r.ResponseElements.RequestID)
	b = append(b, `,"x-amz-id-2":`...)
	b = jsonscan.AppendString(b, r.ResponseElements.HostID)
	b = append(b, `},"s3":{"s3SchemaVersion":`...)
	b = jsonscan.AppendString(b, r.S3.SchemaVersion)
	b = append(b, `,"configurationId":`...)
	b = jsonscan.AppendString(b, r.S3.ConfigurationID)
	b = append(b, `,"bucket":{"name":`...)
	b = jsonscan.AppendString(b, r.S3.Bucket.Name)
	b = append(b, `,"ownerIdentity":{"principalId":`...)
	b = jsonscan.AppendString(b, r.S3.Bucket.OwnerIdentity.PrincipalID)
	b = append(b, `},"arn":`...)
	b = jsonscan.AppendString(b, r.S3.Bucket.ARN)
	o := &r.S3.Object
	b = append(b, `},"object":{"key":`...)
	b = jsonscan.AppendString(b, o.Key)
	if o.Size != nil {
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, *o.Size, 10)
	}
	if o.ETag != "" {
		b = append(b, `,"eTag":`...)
		b = jsonscan.AppendString(b, o.ETag)
	}
	if o.VersionID != "" {
		b = append(b, `,"versionId":`...)
		b = jsonscan.AppendString(b, o.VersionID)
	}
	if o.Sequencer != "" {
		b = append(b, `,"sequencer":`...)
		b = jsonscan.AppendString(b, o.Sequencer)
	}
	return append(b, `}}}]}`...)
}

// appendSource appends a record source as encoding/json would. It is
// written in the parts Service.Prepare encodes ahead of an event's
// transaction (start, mid) and those Emit writes in it (time, end).
func appendSource(b []byte, src *recordSource) []byte {
	b = appendSourceStart(b, src)
	b = appendSourceTime(b, src.Time)
	b = appendSourceMid(b, src)
	return appendSourceEnd(b, src)
}

// appendSourceStart opens a record source and appends its members before
// the event time.
func appendSourceStart(b []byte, src *recordSource) []byte {
	b = append(b, '{')
	if src.Region != "" {
		b = appendMember(b, "r")
		b = jsonscan.AppendString(b, src.Region)
	}
	return b
}

// appendSourceTime appends a record source's event time member.
func appendSourceTime(b []byte, t string) []byte {
	if t == "" {
		return b
	}
	b = appendMember(b, "t")
	return jsonscan.AppendString(b, t)
}

// appendSourceMid appends the members of a record source from the event
// name through the key: those that do not vary with the transaction.
func appendSourceMid(b []byte, src *recordSource) []byte {
	for _, f := range [...]struct{ name, v string }{{"n", src.Name}, {"p", src.Principal},
		{"ip", src.SourceIP}, {"rq", src.RequestID}, {"h", src.HostID}, {"c", src.ConfigID}, {"b", src.Bucket}, {"o", src.Owner}, {"k", src.Key}} {
		if f.v != "" {
			b = appendMember(b, f.name)
			b = jsonscan.AppendString(b, f.v)
		}
	}
	return b
}

// appendSourceEnd appends the members of a record source after the key
// (size, eTag, version ID, sequencer) and closes it.
func appendSourceEnd(b []byte, src *recordSource) []byte {
	if src.Size != nil {
		b = appendMember(b, "s")
		b = strconv.AppendInt(b, *src.Size, 10)
	}
	for _, f := range [...]struct{ name, v string }{{"e", src.ETag}, {"v", src.VersionID}, {"q", src.Sequencer}} {
		if f.v != "" {
			b = appendMember(b, f.name)
			b = jsonscan.AppendString(b, f.v)
		}
	}
	return append(b, '}')
}

// appendMember appends a member's name (a plain one) and its colon, after a
// comma unless it is the object's first.
func appendMember(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// appendLogRecord appends a log record as encoding/json would.
func appendLogRecord(b []byte, r *Record) []byte {
	b = append(b, `{"id":`...)
	b = jsonscan.AppendString(b, r.ID)
	b = append(b, `,"time":`...)
	b = appendTime(b, r.Time)
	b = append(b, `,"updated":`...)
	b = appendTime(b, r.Updated)
	b = append(b, `,"event":`...)
	b = jsonscan.AppendString(b, r.Event)
	b = append(b, `,"bucket":`...)
	b = jsonscan.AppendString(b, r.Bucket)
	b = appendOptional(b, "key", r.Key)
	b = appendOptional(b, "versionId", r.VersionID)
	b = appendOptional(b, "sequencer", r.Sequencer)
	b = appendOptional(b, "configurationId", r.ConfigurationID)
	b = append(b, `,"function":`...)
	b = jsonscan.AppendString(b, r.Function)
	b = append(b, `,"requestId":`...)
	b = jsonscan.AppendString(b, r.RequestID)
	b = appendOptional(b, "sourceRequestId", r.SourceRequestID)
	b = append(b, `,"state":`...)
	b = jsonscan.AppendString(b, r.State)
	if r.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(r.Attempts), 10)
	}
	b = appendOptional(b, "reason", r.Reason)
	return append(b, '}')
}

// appendOptional appends a string member after others, unless it is
// empty.
func appendOptional(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return jsonscan.AppendString(b, v)
}

// appendState appends a delivery state as encoding/json would.
func appendState(b []byte, st *deliveryState) []byte {
	b = append(b, `{"state":`...)
	b = jsonscan.AppendString(b, st.State)
	if st.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(st.Attempts), 10)
	}
	if st.Reason != "" {
		b = append(b, `,"reason":`...)
		b = jsonscan.AppendString(b, st.Reason)
	}
	if st.RequestID != "" {
		b = append(b, `,"requestId":`...)
		b = jsonscan.AppendString(b, st.RequestID)
	}
	b = append(b, `,"updated":`...)
	b = appendTime(b, st.Updated)
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
