package accesspoint

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/s3control"
)

// Register adds the access point and Object Lambda access point
// operations to an S3 Control handler.
func (s *Service) Register(h *s3control.Handler) {
	c := &control{s: s}
	h.Handle(http.MethodPut, "accesspoint/{name}", "CreateAccessPoint", c.createAccessPoint)
	h.Handle(http.MethodGet, "accesspoint/{name}", "GetAccessPoint", c.getAccessPoint)
	h.Handle(http.MethodDelete, "accesspoint/{name}", "DeleteAccessPoint", c.deleteAccessPoint)
	h.Handle(http.MethodGet, "accesspoint", "ListAccessPoints", c.listAccessPoints)
	h.Handle(http.MethodPut, "accesspoint/{name}/policy", "PutAccessPointPolicy", c.putPolicy)
	h.Handle(http.MethodGet, "accesspoint/{name}/policy", "GetAccessPointPolicy", c.getPolicy)
	h.Handle(http.MethodDelete, "accesspoint/{name}/policy", "DeleteAccessPointPolicy", c.deletePolicy)

	h.Handle(http.MethodPut, "accesspointforobjectlambda/{name}", "CreateAccessPointForObjectLambda", c.createOLAP)
	h.Handle(http.MethodGet, "accesspointforobjectlambda/{name}", "GetAccessPointForObjectLambda", c.getOLAP)
	h.Handle(http.MethodDelete, "accesspointforobjectlambda/{name}", "DeleteAccessPointForObjectLambda", c.deleteOLAP)
	h.Handle(http.MethodGet, "accesspointforobjectlambda", "ListAccessPointsForObjectLambda", c.listOLAPs)
	h.Handle(http.MethodGet, "accesspointforobjectlambda/{name}/configuration", "GetAccessPointConfigurationForObjectLambda", c.getOLAPConfig)
	h.Handle(http.MethodPut, "accesspointforobjectlambda/{name}/configuration", "PutAccessPointConfigurationForObjectLambda", c.putOLAPConfig)
}

// control is the S3 Control adapter of a Service.
type control struct{ s *Service }

// statusOf is the HTTP status of each access point error code (400 if
// not listed).
var statusOf = map[string]int{
	"NoSuchAccessPoint":            http.StatusNotFound,
	"NoSuchAccessPointPolicy":      http.StatusNotFound,
	"AccessPointAlreadyOwnedByYou": http.StatusConflict,
}

// wireError turns a domain error into the S3 Control error the handler
// writes; other errors pass unchanged (they become InternalError).
func wireError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusBadRequest
	}
	return s3control.Errorf(status, e.Code, e.Message)
}

// XML shapes (namespace s3control.Namespace).

type publicAccessBlockXML struct {
	BlockPublicAcls       bool `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool `xml:"RestrictPublicBuckets"`
}

func pabXML(p PublicAccessBlock) *publicAccessBlockXML {
	return &publicAccessBlockXML{p.BlockPublicACLs, p.IgnorePublicACLs, p.BlockPublicPolicy, p.RestrictPublicBuckets}
}

type vpcXML struct {
	VpcID string `xml:"VpcId"`
}

type createAccessPointRequest struct {
	Bucket                         string                `xml:"Bucket"`
	VpcConfiguration               *vpcXML               `xml:"VpcConfiguration"`
	PublicAccessBlockConfiguration *publicAccessBlockXML `xml:"PublicAccessBlockConfiguration"`
	BucketAccountID                string                `xml:"BucketAccountId"`
	Scope                          *struct{}             `xml:"Scope"`
	// Tags (for attribute-based access control) are read only to be
	// refused: sluice keeps no access point tags.
	Tags *struct{} `xml:"Tags"`
}

type createAccessPointResult struct {
	XMLName        xml.Name `xml:"CreateAccessPointResult"`
	NS             string   `xml:"xmlns,attr"`
	AccessPointArn string   `xml:"AccessPointArn"`
	Alias          string   `xml:"Alias"`
}

type endpointEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type getAccessPointResult struct {
	XMLName                        xml.Name              `xml:"GetAccessPointResult"`
	NS                             string                `xml:"xmlns,attr"`
	Name                           string                `xml:"Name"`
	Bucket                         string                `xml:"Bucket"`
	NetworkOrigin                  string                `xml:"NetworkOrigin"`
	VpcConfiguration               *vpcXML               `xml:"VpcConfiguration,omitempty"`
	PublicAccessBlockConfiguration *publicAccessBlockXML `xml:"PublicAccessBlockConfiguration"`
	CreationDate                   string                `xml:"CreationDate"`
	Alias                          string                `xml:"Alias"`
	AccessPointArn                 string                `xml:"AccessPointArn"`
	Endpoints                      []endpointEntry       `xml:"Endpoints>entry"`
	BucketAccountID                string                `xml:"BucketAccountId"`
}

type accessPointXML struct {
	Name             string  `xml:"Name"`
	NetworkOrigin    string  `xml:"NetworkOrigin"`
	VpcConfiguration *vpcXML `xml:"VpcConfiguration,omitempty"`
	Bucket           string  `xml:"Bucket"`
	AccessPointArn   string  `xml:"AccessPointArn"`
	Alias            string  `xml:"Alias"`
	BucketAccountID  string  `xml:"BucketAccountId"`
}

type listAccessPointsResult struct {
	XMLName         xml.Name         `xml:"ListAccessPointsResult"`
	NS              string           `xml:"xmlns,attr"`
	AccessPointList []accessPointXML `xml:"AccessPointList>AccessPoint"`
	NextToken       string           `xml:"NextToken,omitempty"`
}

type policyXML struct {
	XMLName xml.Name `xml:"GetAccessPointPolicyResult"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Policy  string   `xml:"Policy"`
}

type awsLambdaXML struct {
	FunctionArn     string  `xml:"FunctionArn"`
	FunctionPayload *string `xml:"FunctionPayload"`
}

type transformationXML struct {
	Actions               []string `xml:"Actions>Action"`
	ContentTransformation struct {
		AwsLambda *awsLambdaXML `xml:"AwsLambda"`
	} `xml:"ContentTransformation"`
}

type configurationXML struct {
	SupportingAccessPoint        string              `xml:"SupportingAccessPoint"`
	CloudWatchMetricsEnabled     bool                `xml:"CloudWatchMetricsEnabled"`
	AllowedFeatures              []string            `xml:"AllowedFeatures>AllowedFeature"`
	TransformationConfigurations []transformationXML `xml:"TransformationConfigurations>TransformationConfiguration"`
}

type configurationRequest struct {
	Configuration *configurationXML `xml:"Configuration"`
}

type aliasXML struct {
	Value  string `xml:"Value"`
	Status string `xml:"Status"`
}

type createOLAPResult struct {
	XMLName                    xml.Name `xml:"CreateAccessPointForObjectLambdaResult"`
	NS                         string   `xml:"xmlns,attr"`
	ObjectLambdaAccessPointArn string   `xml:"ObjectLambdaAccessPointArn"`
	Alias                      aliasXML `xml:"Alias"`
}

type getOLAPResult struct {
	XMLName                        xml.Name              `xml:"GetAccessPointForObjectLambdaResult"`
	NS                             string                `xml:"xmlns,attr"`
	Name                           string                `xml:"Name"`
	PublicAccessBlockConfiguration *publicAccessBlockXML `xml:"PublicAccessBlockConfiguration"`
	CreationDate                   string                `xml:"CreationDate"`
	Alias                          aliasXML              `xml:"Alias"`
}

type olapXML struct {
	Name                       string   `xml:"Name"`
	ObjectLambdaAccessPointArn string   `xml:"ObjectLambdaAccessPointArn"`
	Alias                      aliasXML `xml:"Alias"`
}

type listOLAPsResult struct {
	XMLName                     xml.Name  `xml:"ListAccessPointsForObjectLambdaResult"`
	NS                          string    `xml:"xmlns,attr"`
	ObjectLambdaAccessPointList []olapXML `xml:"ObjectLambdaAccessPointList>ObjectLambdaAccessPoint"`
	NextToken                   string    `xml:"NextToken,omitempty"`
}

type getOLAPConfigResult struct {
	XMLName       xml.Name         `xml:"GetAccessPointConfigurationForObjectLambdaResult"`
	NS            string           `xml:"xmlns,attr"`
	Configuration configurationXML `xml:"Configuration"`
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Standard access points.

func (c *control) createAccessPoint(rq *s3control.Request) error {
	var body createAccessPointRequest
	if err := rq.ReadXML(&body); err != nil {
		return err
	}
	if body.Bucket == "" {
		return s3control.Errorf(http.StatusBadRequest, "InvalidRequest", "Bucket is a required field.")
	}
	if body.Scope != nil {
		return s3control.Errorf(http.StatusBadRequest, "InvalidRequest", "Scope is only supported for access points attached to directory buckets.")
	}
	if body.Tags != nil {
		return s3control.Errorf(http.StatusNotImplemented, "NotImplemented", "Access point tags are not implemented by sluice.")
	}
	in := &CreateInput{Name: rq.Param("name"), Bucket: body.Bucket, BucketAccountID: body.BucketAccountID}
	if v := body.VpcConfiguration; v != nil {
		if v.VpcID == "" {
			return s3control.Errorf(http.StatusBadRequest, "InvalidRequest", "VpcId is a required field of VpcConfiguration.")
		}
		in.VPCID = v.VpcID
	}
	if p := body.PublicAccessBlockConfiguration; p != nil {
		in.PublicAccessBlock = &PublicAccessBlock{p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets}
	}
	ap, err := c.s.Create(rq.Context(), in)
	if err != nil {
		return wireError(err)
	}
	return rq.WriteXML(http.StatusOK, &createAccessPointResult{
		NS: s3control.Namespace, AccessPointArn: c.s.ARN(ap.Name), Alias: ap.Alias,
	})
}

func networkOrigin(ap *AccessPoint) (string, *vpcXML) {
	if ap.VPCID != "" {
		return networkVPC, &vpcXML{VpcID: ap.VPCID}
	}
	return networkInternet, nil
}

func (c *control) getAccessPoint(rq *s3control.Request) error {
	ap, err := c.s.Get(rq.Context(), rq.Param("name"))
	if err != nil {
		return wireError(err)
	}
	origin, vpc := networkOrigin(ap)
	domain := c.s.region + ".amazonaws.com"
	return rq.WriteXML(http.StatusOK, &getAccessPointResult{
		NS: s3control.Namespace, Name: ap.Name, Bucket: ap.Bucket, NetworkOrigin: origin, VpcConfiguration: vpc,
		PublicAccessBlockConfiguration: pabXML(ap.PublicAccessBlock), CreationDate: timestamp(ap.Created),
		Alias: ap.Alias, AccessPointArn: c.s.ARN(ap.Name), BucketAccountID: c.s.account,
		Endpoints: []endpointEntry{
			{"ipv4", "s3-accesspoint." + domain},
			{"fips", "s3-accesspoint-fips." + domain},
			{"fips_dualstack", "s3-accesspoint-fips.dualstack." + domain},
			{"dualstack", "s3-accesspoint.dualstack." + domain},
		},
	})
}

func (c *control) deleteAccessPoint(rq *s3control.Request) error {
	if err := c.s.Delete(rq.Context(), rq.Param("name")); err != nil {
		return wireError(err)
	}
	return rq.NoContent(http.StatusNoContent)
}

// maxResults parses the maxResults query parameter (0 when absent).
func maxResults(rq *s3control.Request) (int, error) {
	v := rq.Query.Get("maxResults")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > defaultListMax {
		return 0, s3control.Errorf(http.StatusBadRequest, "InvalidRequest", "maxResults must be an integer between 0 and 1000.")
	}
	return n, nil
}

func (c *control) listAccessPoints(rq *s3control.Request) error {
	max, err := maxResults(rq)
	if err != nil {
		return err
	}
	if t := rq.Query.Get("dataSourceType"); (t != "" && t != "S3" && t != "ALL") || rq.Query.Get("dataSourceId") != "" {
		// dataSourceId names another kind of data source (an FSx volume).
		return s3control.Errorf(http.StatusNotImplemented, "NotImplemented", "sluice has access points for S3 buckets only.")
	}
	aps, next, err := c.s.List(rq.Context(), rq.Query.Get("bucket"), rq.Query.Get("nextToken"), max)
	if err != nil {
		return wireError(err)
	}
	out := &listAccessPointsResult{NS: s3control.Namespace, NextToken: next, AccessPointList: []accessPointXML{}}
	for _, ap := range aps {
		origin, vpc := networkOrigin(ap)
		out.AccessPointList = append(out.AccessPointList, accessPointXML{
			Name: ap.Name, NetworkOrigin: origin, VpcConfiguration: vpc, Bucket: ap.Bucket,
			AccessPointArn: c.s.ARN(ap.Name), Alias: ap.Alias, BucketAccountID: c.s.account,
		})
	}
	return rq.WriteXML(http.StatusOK, out)
}

func (c *control) putPolicy(rq *s3control.Request) error {
	var body struct {
		Policy *string `xml:"Policy"`
	}
	if err := rq.ReadXML(&body); err != nil {
		return err
	}
	if body.Policy == nil {
		return s3control.Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if err := c.s.PutPolicy(rq.Context(), rq.Param("name"), *body.Policy); err != nil {
		return wireError(err)
	}
	return rq.NoContent(http.StatusOK)
}

func (c *control) getPolicy(rq *s3control.Request) error {
	p, err := c.s.Policy(rq.Context(), rq.Param("name"))
	if err != nil {
		return wireError(err)
	}
	return rq.WriteXML(http.StatusOK, &policyXML{NS: s3control.Namespace, Policy: p})
}

func (c *control) deletePolicy(rq *s3control.Request) error {
	if err := c.s.DeletePolicy(rq.Context(), rq.Param("name")); err != nil {
		return wireError(err)
	}
	return rq.NoContent(http.StatusNoContent)
}

// Object Lambda access points.

// readConfig reads a request whose body holds a Configuration.
func readConfig(rq *s3control.Request) (ObjectLambdaConfig, error) {
	var body configurationRequest
	if err := rq.ReadXML(&body); err != nil {
		return ObjectLambdaConfig{}, err
	}
	x := body.Configuration
	if x == nil {
		return ObjectLambdaConfig{}, s3control.Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	cfg := ObjectLambdaConfig{
		SupportingAccessPoint: x.SupportingAccessPoint, CloudWatchMetricsEnabled: x.CloudWatchMetricsEnabled,
		AllowedFeatures: x.AllowedFeatures,
	}
	for _, t := range x.TransformationConfigurations {
		l := t.ContentTransformation.AwsLambda
		if l == nil {
			return ObjectLambdaConfig{}, s3control.Errorf(http.StatusBadRequest, "InvalidRequest", "ContentTransformation must name an AwsLambda function.")
		}
		tr := Transformation{Actions: t.Actions, FunctionARN: l.FunctionArn}
		if l.FunctionPayload != nil {
			tr.FunctionPayload = *l.FunctionPayload
		}
		cfg.Transformations = append(cfg.Transformations, tr)
	}
	return cfg, nil
}

func configXML(cfg *ObjectLambdaConfig) configurationXML {
	x := configurationXML{
		SupportingAccessPoint: cfg.SupportingAccessPoint, CloudWatchMetricsEnabled: cfg.CloudWatchMetricsEnabled,
		AllowedFeatures: cfg.AllowedFeatures,
	}
	for _, t := range cfg.Transformations {
		tx := transformationXML{Actions: t.Actions}
		l := &awsLambdaXML{FunctionArn: t.FunctionARN}
		if t.FunctionPayload != "" {
			p := t.FunctionPayload
			l.FunctionPayload = &p
		}
		tx.ContentTransformation.AwsLambda = l
		x.TransformationConfigurations = append(x.TransformationConfigurations, tx)
	}
	return x
}

func (c *control) createOLAP(rq *s3control.Request) error {
	cfg, err := readConfig(rq)
	if err != nil {
		return err
	}
	o, err := c.s.CreateObjectLambda(rq.Context(), rq.Param("name"), cfg)
	if err != nil {
		return wireError(err)
	}
	return rq.WriteXML(http.StatusOK, &createOLAPResult{
		NS: s3control.Namespace, ObjectLambdaAccessPointArn: c.s.ObjectLambdaARN(o.Name),
		Alias: aliasXML{Value: o.Alias, Status: aliasReady},
	})
}

func (c *control) getOLAP(rq *s3control.Request) error {
	o, err := c.s.ObjectLambda(rq.Context(), rq.Param("name"))
	if err != nil {
		return wireError(err)
	}
	return rq.WriteXML(http.StatusOK, &getOLAPResult{
		NS: s3control.Namespace, Name: o.Name, PublicAccessBlockConfiguration: pabXML(o.PublicAccessBlock),
		CreationDate: timestamp(o.Created), Alias: aliasXML{Value: o.Alias, Status: aliasReady},
	})
}

func (c *control) deleteOLAP(rq *s3control.Request) error {
	if err := c.s.DeleteObjectLambda(rq.Context(), rq.Param("name")); err != nil {
		return wireError(err)
	}
	return rq.NoContent(http.StatusNoContent)
}

func (c *control) listOLAPs(rq *s3control.Request) error {
	max, err := maxResults(rq)
	if err != nil {
		return err
	}
	os, next, err := c.s.ListObjectLambda(rq.Context(), rq.Query.Get("nextToken"), max)
	if err != nil {
		return wireError(err)
	}
	out := &listOLAPsResult{NS: s3control.Namespace, NextToken: next, ObjectLambdaAccessPointList: []olapXML{}}
	for _, o := range os {
		out.ObjectLambdaAccessPointList = append(out.ObjectLambdaAccessPointList, olapXML{
			Name: o.Name, ObjectLambdaAccessPointArn: c.s.ObjectLambdaARN(o.Name),
			Alias: aliasXML{Value: o.Alias, Status: aliasReady},
		})
	}
	return rq.WriteXML(http.StatusOK, out)
}

func (c *control) getOLAPConfig(rq *s3control.Request) error {
	o, err := c.s.ObjectLambda(rq.Context(), rq.Param("name"))
	if err != nil {
		return wireError(err)
	}
	return rq.WriteXML(http.StatusOK, &getOLAPConfigResult{NS: s3control.Namespace, Configuration: configXML(&o.Config)})
}

func (c *control) putOLAPConfig(rq *s3control.Request) error {
	cfg, err := readConfig(rq)
	if err != nil {
		return err
	}
	if err := c.s.PutObjectLambdaConfig(rq.Context(), rq.Param("name"), cfg); err != nil {
		return wireError(err)
	}
	return rq.NoContent(http.StatusOK)
}
