package lambdaapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice/internal/lambda"
)

// Wire shapes of the Lambda model (members in the model's order).

// functionConfiguration is the FunctionConfiguration shape.
type functionConfiguration struct {
	FunctionName               string               `json:"FunctionName"`
	FunctionArn                string               `json:"FunctionArn"`
	Runtime                    string               `json:"Runtime"`
	Role                       string               `json:"Role"`
	Handler                    string               `json:"Handler"`
	CodeSize                   int64                `json:"CodeSize"`
	Description                string               `json:"Description"`
	Timeout                    int                  `json:"Timeout"`
	MemorySize                 int                  `json:"MemorySize"`
	LastModified               string               `json:"LastModified"`
	CodeSha256                 string               `json:"CodeSha256"`
	Version                    string               `json:"Version"`
	Environment                *environmentResponse `json:"Environment,omitempty"`
	TracingConfig              tracingConfig        `json:"TracingConfig"`
	RevisionID                 string               `json:"RevisionId"`
	State                      string               `json:"State,omitempty"`
	StateReason                string               `json:"StateReason,omitempty"`
	StateReasonCode            string               `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string               `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string               `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string               `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string               `json:"PackageType"`
	Architectures              []string             `json:"Architectures"`
	EphemeralStorage           ephemeralStorage     `json:"EphemeralStorage"`
	SnapStart                  snapStartResponse    `json:"SnapStart"`
	LoggingConfig              loggingConfig        `json:"LoggingConfig"`
}

type environmentResponse struct {
	Variables map[string]string `json:"Variables"`
}

type tracingConfig struct {
	Mode string `json:"Mode"`
}

type ephemeralStorage struct {
	Size int `json:"Size"`
}

type snapStartResponse struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

type loggingConfig struct {
	LogFormat string `json:"LogFormat"`
	LogGroup  string `json:"LogGroup"`
}

// wireConfig converts a configuration to its wire shape. sluice does not
// trace, snapshot or ship logs: it reports the settings AWS reports for a
// function that uses none of those features.
func wireConfig(fc *lambda.FunctionConfig) *functionConfiguration {
	out := &functionConfiguration{
		FunctionName:               fc.FunctionName,
		FunctionArn:                fc.FunctionARN,
		Runtime:                    fc.Runtime,
		Role:                       fc.Role,
		Handler:                    fc.Handler,
		CodeSize:                   fc.CodeSize,
		Description:                fc.Description,
		Timeout:                    fc.Timeout,
		MemorySize:                 fc.MemorySize,
		LastModified:               fc.LastModified.UTC().Format(lambda.TimeLayout),
		CodeSha256:                 fc.CodeSHA256Base64(),
		Version:                    fc.Version,
		TracingConfig:              tracingConfig{Mode: "PassThrough"},
		RevisionID:                 fc.RevisionID,
		State:                      fc.State,
		StateReason:                fc.StateReason,
		StateReasonCode:            fc.StateReasonCode,
		LastUpdateStatus:           fc.LastUpdateStatus,
		LastUpdateStatusReason:     fc.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: fc.LastUpdateStatusReasonCode,
		PackageType:                lambda.PackageType,
		Architectures:              []string{fc.Architecture},
		EphemeralStorage:           ephemeralStorage{Size: fc.EphemeralStorage},
		SnapStart:                  snapStartResponse{ApplyOn: "None", OptimizationStatus: "Off"},
		LoggingConfig:              loggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + fc.FunctionName},
	}
	if len(fc.Environment) > 0 {
		out.Environment = &environmentResponse{Variables: fc.Environment}
	}
	return out
}

func wireConfigs(fcs []*lambda.FunctionConfig) []*functionConfiguration {
	out := make([]*functionConfiguration, len(fcs))
	for i, fc := range fcs {
		out[i] = wireConfig(fc)
	}
	return out
}

// environment is the Environment request member.
type environment struct {
	Variables map[string]string `json:"Variables"`
}

// configRequest holds the members CreateFunction and
// UpdateFunctionConfiguration share.
type configRequest struct {
	Runtime          *string      `json:"Runtime"`
	Handler          *string      `json:"Handler"`
	Role             *string      `json:"Role"`
	Description      *string      `json:"Description"`
	Timeout          *int         `json:"Timeout"`
	MemorySize       *int         `json:"MemorySize"`
	Environment      *environment `json:"Environment"`
	EphemeralStorage *struct {
		Size *int `json:"Size"`
	} `json:"EphemeralStorage"`

	// Features sluice does not provide; a request that uses them is
	// refused rather than silently half-served.
	Layers            []string `json:"Layers"`
	FileSystemConfigs []any    `json:"FileSystemConfigs"`
	VpcConfig         *struct {
		SubnetIDs []string `json:"SubnetIds"`
	} `json:"VpcConfig"`
	DeadLetterConfig *struct {
		TargetArn string `json:"TargetArn"`
	} `json:"DeadLetterConfig"`
	KMSKeyArn            string `json:"KMSKeyArn"`
	CodeSigningConfigArn string `json:"CodeSigningConfigArn"`
	// Settings refused unless they ask for what sluice does anyway (the
	// values wireConfig reports).
	TracingConfig *struct {
		Mode string `json:"Mode"`
	} `json:"TracingConfig"`
	SnapStart *struct {
		ApplyOn string `json:"ApplyOn"`
	} `json:"SnapStart"`
	LoggingConfig *struct {
		LogFormat           string `json:"LogFormat"`
		ApplicationLogLevel string `json:"ApplicationLogLevel"`
		SystemLogLevel      string `json:"SystemLogLevel"`
		LogGroup            string `json:"LogGroup"`
	} `json:"LoggingConfig"`
	// Lambda Managed Instances, durable functions, tenant isolation and
	// container images' settings (2025): refused whenever present.
	CapacityProviderConfig json.RawMessage `json:"CapacityProviderConfig"`
	DurableConfig          json.RawMessage `json:"DurableConfig"`
	TenancyConfig          json.RawMessage `json:"TenancyConfig"`
	ImageConfig            json.RawMessage `json:"ImageConfig"`
}

// present reports whether a JSON member was sent with a value.
func present(m json.RawMessage) bool { return len(m) > 0 && string(m) != "null" }

func (c *configRequest) input() (lambda.ConfigInput, error) {
	switch {
	case len(c.Layers) > 0:
		return lambda.ConfigInput{}, unsupported("Layers")
	case len(c.FileSystemConfigs) > 0:
		return lambda.ConfigInput{}, unsupported("FileSystemConfigs")
	case c.VpcConfig != nil && len(c.VpcConfig.SubnetIDs) > 0:
		return lambda.ConfigInput{}, unsupported("VpcConfig")
	case c.DeadLetterConfig != nil && c.DeadLetterConfig.TargetArn != "":
		return lambda.ConfigInput{}, unsupported("DeadLetterConfig")
	case c.KMSKeyArn != "":
		return lambda.ConfigInput{}, unsupported("KMSKeyArn")
	case c.CodeSigningConfigArn != "":
		return lambda.ConfigInput{}, unsupported("CodeSigningConfigArn")
	case c.TracingConfig != nil && c.TracingConfig.Mode != "" && c.TracingConfig.Mode != "PassThrough":
		return lambda.ConfigInput{}, unsupported("TracingConfig Mode " + c.TracingConfig.Mode)
	case c.SnapStart != nil && c.SnapStart.ApplyOn != "" && c.SnapStart.ApplyOn != "None":
		return lambda.ConfigInput{}, unsupported("SnapStart")
	case c.LoggingConfig != nil && ((c.LoggingConfig.LogFormat != "" && c.LoggingConfig.LogFormat != "Text") ||
		c.LoggingConfig.ApplicationLogLevel != "" || c.LoggingConfig.SystemLogLevel != "" || c.LoggingConfig.LogGroup != ""):
		return lambda.ConfigInput{}, unsupported("LoggingConfig other than the Text format and the default log group")
	case present(c.CapacityProviderConfig):
		return lambda.ConfigInput{}, unsupported("CapacityProviderConfig")
	case present(c.DurableConfig):
		return lambda.ConfigInput{}, unsupported("DurableConfig")
	case present(c.TenancyConfig):
		return lambda.ConfigInput{}, unsupported("TenancyConfig")
	case present(c.ImageConfig):
		return lambda.ConfigInput{}, unsupported("ImageConfig")
	}
	in := lambda.ConfigInput{
		Runtime:     c.Runtime,
		Handler:     c.Handler,
		Role:        c.Role,
		Description: c.Description,
		Timeout:     c.Timeout,
		MemorySize:  c.MemorySize,
	}
	if c.EphemeralStorage != nil {
		in.EphemeralStorage = c.EphemeralStorage.Size
	}
	if c.Environment != nil {
		in.Environment = c.Environment.Variables
		if in.Environment == nil {
			in.Environment = map[string]string{}
		}
	}
	return in, nil
}

func unsupported(member string) error {
	return errorf("InvalidParameterValueException", "sluice does not support "+member+".")
}

// functionCode is the FunctionCode request member.
type functionCode struct {
	ZipFile         []byte `json:"ZipFile"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	ImageURI        string `json:"ImageUri"`
}

func (c *functionCode) input() *lambda.CodeInput {
	return &lambda.CodeInput{
		ZipFile: c.ZipFile, S3Bucket: c.S3Bucket, S3Key: c.S3Key,
		S3ObjectVersion: c.S3ObjectVersion, ImageURI: c.ImageURI,
	}
}

func (h *Handler) createFunction(rq *request) error {
	var in struct {
		FunctionName string `json:"FunctionName"`
		configRequest
		Code          *functionCode     `json:"Code"`
		Publish       bool              `json:"Publish"`
		PackageType   string            `json:"PackageType"`
		Architectures []string          `json:"Architectures"`
		Tags          map[string]string `json:"Tags"`
		PublishTo     string            `json:"PublishTo"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.PublishTo != "" {
		return unsupported("PublishTo")
	}
	cfg, err := in.input()
	if err != nil {
		return err
	}
	req := &lambda.CreateFunctionInput{
		FunctionName:  in.FunctionName,
		ConfigInput:   cfg,
		Architectures: in.Architectures,
		PackageType:   in.PackageType,
		Publish:       in.Publish,
		Tags:          in.Tags,
	}
	if in.Code != nil {
		req.Code = in.Code.input()
	}
	fc, err := h.lambda.CreateFunction(rq.ctx(), req)
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusCreated, wireConfig(fc))
	return nil
}

func (h *Handler) getFunction(rq *request) error {
	f, err := h.lambda.GetFunction(rq.ctx(), rq.param("FunctionName"), rq.query("Qualifier"))
	if err != nil {
		return err
	}
	loc, err := h.codeLocation(rq, f.Configuration.FunctionName, f.Configuration.CodeSHA256)
	if err != nil {
		return err
	}
	out := struct {
		Configuration *functionConfiguration `json:"Configuration"`
		Code          codeLocation           `json:"Code"`
		Tags          map[string]string      `json:"Tags,omitempty"`
		Concurrency   *concurrency           `json:"Concurrency,omitempty"`
	}{
		Configuration: wireConfig(f.Configuration),
		Code:          codeLocation{RepositoryType: "S3", Location: loc},
		Tags:          f.Tags,
	}
	if f.ReservedConcurrency != nil {
		out.Concurrency = &concurrency{ReservedConcurrentExecutions: f.ReservedConcurrency}
	}
	writeJSON(rq.w, http.StatusOK, &out)
	return nil
}

type codeLocation struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

type concurrency struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

func (h *Handler) getFunctionConfiguration(rq *request) error {
	fc, err := h.lambda.GetFunctionConfiguration(rq.ctx(), rq.param("FunctionName"), rq.query("Qualifier"))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, wireConfig(fc))
	return nil
}

// listInput reads the Marker and MaxItems query parameters.
func (rq *request) listInput() (lambda.ListInput, error) {
	in := lambda.ListInput{Marker: rq.query("Marker")}
	if s := rq.r.URL.Query().Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return in, errorf("ValidationException", "1 validation error detected: Value '"+s+
				"' at 'maxItems' failed to satisfy constraint: Member must be an integer")
		}
		in.MaxItems = &n
	}
	return in, nil
}

func (h *Handler) listFunctions(rq *request) error {
	if rq.query("MasterRegion") != "" {
		// Lambda@Edge replicas, which sluice does not make.
		return unsupported("MasterRegion")
	}
	li, err := rq.listInput()
	if err != nil {
		return err
	}
	list, err := h.lambda.ListFunctions(rq.ctx(), &lambda.ListFunctionsInput{ListInput: li, FunctionVersion: rq.query("FunctionVersion")})
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &struct {
		NextMarker string                   `json:"NextMarker,omitempty"`
		Functions  []*functionConfiguration `json:"Functions"`
	}{list.NextMarker, wireConfigs(list.Functions)})
	return nil
}

func (h *Handler) updateFunctionCode(rq *request) error {
	var in struct {
		functionCode
		Architectures []string `json:"Architectures"`
		Publish       bool     `json:"Publish"`
		DryRun        bool     `json:"DryRun"`
		RevisionID    string   `json:"RevisionId"`
		// Refused: publishing to $LATEST.PUBLISHED (Managed Instances),
		// code encrypted with a customer key, code referenced in S3.
		PublishTo           string `json:"PublishTo"`
		SourceKMSKeyArn     string `json:"SourceKMSKeyArn"`
		S3ObjectStorageMode string `json:"S3ObjectStorageMode"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	switch {
	case in.PublishTo != "":
		return unsupported("PublishTo")
	case in.SourceKMSKeyArn != "":
		return unsupported("SourceKMSKeyArn")
	case in.S3ObjectStorageMode != "" && in.S3ObjectStorageMode != "COPY":
		// sluice always keeps a copy, as COPY (the default) asks.
		return unsupported("S3ObjectStorageMode " + in.S3ObjectStorageMode)
	}
	fc, err := h.lambda.UpdateFunctionCode(rq.ctx(), &lambda.UpdateCodeInput{
		FunctionName:  rq.param("FunctionName"),
		Code:          *in.input(),
		Architectures: in.Architectures,
		Publish:       in.Publish,
		DryRun:        in.DryRun,
		RevisionID:    in.RevisionID,
	})
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, wireConfig(fc))
	return nil
}

func (h *Handler) updateFunctionConfiguration(rq *request) error {
	var in struct {
		configRequest
		RevisionID string `json:"RevisionId"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	cfg, err := in.input()
	if err != nil {
		return err
	}
	fc, err := h.lambda.UpdateFunctionConfiguration(rq.ctx(), &lambda.UpdateConfigInput{
		FunctionName: rq.param("FunctionName"),
		ConfigInput:  cfg,
		RevisionID:   in.RevisionID,
	})
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, wireConfig(fc))
	return nil
}

func (h *Handler) deleteFunction(rq *request) error {
	if err := h.lambda.DeleteFunction(rq.ctx(), rq.param("FunctionName"), rq.query("Qualifier")); err != nil {
		return err
	}
	writeEmpty(rq.w, http.StatusNoContent)
	return nil
}

func (h *Handler) publishVersion(rq *request) error {
	var in struct {
		CodeSha256  string  `json:"CodeSha256"`
		Description *string `json:"Description"`
		RevisionID  string  `json:"RevisionId"`
		PublishTo   string  `json:"PublishTo"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.PublishTo != "" {
		return unsupported("PublishTo")
	}
	fc, err := h.lambda.PublishVersion(rq.ctx(), &lambda.PublishInput{
		FunctionName: rq.param("FunctionName"),
		CodeSHA256:   in.CodeSha256,
		Description:  in.Description,
		RevisionID:   in.RevisionID,
	})
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusCreated, wireConfig(fc))
	return nil
}

func (h *Handler) listVersions(rq *request) error {
	li, err := rq.listInput()
	if err != nil {
		return err
	}
	list, err := h.lambda.ListVersions(rq.ctx(), rq.param("FunctionName"), &li)
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &struct {
		NextMarker string                   `json:"NextMarker,omitempty"`
		Versions   []*functionConfiguration `json:"Versions"`
	}{list.NextMarker, wireConfigs(list.Functions)})
	return nil
}

func (h *Handler) getAccountSettings(rq *request) error {
	a, err := h.lambda.AccountSettings(rq.ctx())
	if err != nil {
		return err
	}
	type limit struct {
		TotalCodeSize                  int64 `json:"TotalCodeSize"`
		CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
		CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
		ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
		UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
	}
	type usage struct {
		TotalCodeSize int64 `json:"TotalCodeSize"`
		FunctionCount int64 `json:"FunctionCount"`
	}
	writeJSON(rq.w, http.StatusOK, &struct {
		AccountLimit limit `json:"AccountLimit"`
		AccountUsage usage `json:"AccountUsage"`
	}{
		limit{a.TotalCodeSizeLimit, a.CodeSizeUnzipped, a.CodeSizeZipped, a.ConcurrentExecutions, a.UnreservedConcurrentExecutions},
		usage{a.TotalCodeSize, a.FunctionCount},
	})
	return nil
}
