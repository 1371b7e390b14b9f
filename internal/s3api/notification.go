package s3api

import (
	"context"
	"encoding/xml"
	"net"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/internal/notify"
	"github.com/sluicehq/sluice/internal/objstore"
)

// Notifications keeps bucket notification configurations
// (*notify.Service).
type Notifications interface {
	// Configuration returns a bucket's configuration, empty if none.
	Configuration(ctx context.Context, bucket string) (*notify.Configuration, error)
	// SetConfiguration validates and replaces a bucket's configuration.
	SetConfiguration(ctx context.Context, bucket string, cfg *notify.Configuration, opts notify.SetOptions) error
}

// notificationConfiguration is the NotificationConfiguration document.
// sluice delivers to functions only: the other destinations are read to
// be refused.
type notificationConfiguration struct {
	XMLName     xml.Name                     `xml:"NotificationConfiguration"`
	NS          string                       `xml:"xmlns,attr,omitempty"`
	Topics      []destinationElem            `xml:"TopicConfiguration"`
	Queues      []destinationElem            `xml:"QueueConfiguration"`
	Functions   []cloudFunctionConfiguration `xml:"CloudFunctionConfiguration"`
	EventBridge *struct{}                    `xml:"EventBridgeConfiguration"`
}

type destinationElem struct {
	ID string `xml:"Id"`
}

type cloudFunctionConfiguration struct {
	ID            string              `xml:"Id,omitempty"`
	CloudFunction string              `xml:"CloudFunction"`
	Events        []string            `xml:"Event"`
	Filter        *notificationFilter `xml:"Filter,omitempty"`
}

type notificationFilter struct {
	Rules []filterRuleElem `xml:"S3Key>FilterRule"`
}

type filterRuleElem struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

func (h *Handler) getBucketNotification(rq *request) error {
	if h.notify == nil {
		return notImplemented("Bucket notifications")
	}
	cfg, err := h.notify.Configuration(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	out := notificationConfiguration{NS: s3NS}
	for _, f := range cfg.Functions {
		e := cloudFunctionConfiguration{ID: f.ID, CloudFunction: f.FunctionARN, Events: f.Events}
		if len(f.Rules) > 0 {
			e.Filter = &notificationFilter{}
			for _, r := range f.Rules {
				e.Filter.Rules = append(e.Filter.Rules, filterRuleElem(r))
			}
		}
		out.Functions = append(out.Functions, e)
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}

func (h *Handler) putBucketNotification(rq *request) error {
	if h.notify == nil {
		return notImplemented("Bucket notifications")
	}
	var doc notificationConfiguration
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	for _, d := range []struct {
		present bool
		what    string
	}{
		{len(doc.Topics) > 0, "TopicConfiguration (Amazon SNS)"},
		{len(doc.Queues) > 0, "QueueConfiguration (Amazon SQS)"},
		{doc.EventBridge != nil, "EventBridgeConfiguration (Amazon EventBridge)"},
	} {
		if d.present {
			return errorf("NotImplemented", "sluice delivers bucket notifications to Lambda functions (CloudFunctionConfiguration) only: "+
				d.what+" is not supported.")
		}
	}
	cfg := &notify.Configuration{}
	for _, f := range doc.Functions {
		fc := notify.FunctionConfiguration{ID: f.ID, FunctionARN: strings.TrimSpace(f.CloudFunction), Events: f.Events}
		if f.Filter != nil {
			for _, r := range f.Filter.Rules {
				fc.Rules = append(fc.Rules, notify.FilterRule(r))
			}
		}
		cfg.Functions = append(cfg.Functions, fc)
	}
	skip := strings.EqualFold(rq.r.Header.Get("x-amz-skip-destination-validation"), "true")
	if err := h.notify.SetConfiguration(rq.ctx(), rq.bucket, cfg, notify.SetOptions{Origin: h.origin(rq), SkipValidation: skip}); err != nil {
		return err
	}
	return rq.ok()
}

// origin is the request behind a change, as the change's event records
// report it. A request made with a function's own credentials carries the
// trace header its SDK sends (X-Amzn-Trace-Id, from the function's
// _X_AMZN_TRACE_ID), which continues the chain of events that invoked the
// function: recursive loop detection follows it.
func (h *Handler) origin(rq *request) objstore.Origin {
	o := objstore.Origin{RequestID: rq.id, HostID: rq.hostID}
	if host, _, err := net.SplitHostPort(rq.r.RemoteAddr); err == nil {
		o.SourceIP = host
	}
	if p := rq.principal; p != nil {
		o.PrincipalID = p.PrincipalID()
		if p.IsFunction() {
			o.TraceID = rq.r.Header.Get("X-Amzn-Trace-Id")
		}
	}
	return o
}
