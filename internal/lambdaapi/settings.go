package lambdaapi

import (
	"net/http"

	"github.com/sluicehq/sluice/internal/lambda"
)

// aliasConfiguration is the AliasConfiguration shape.
type aliasConfiguration struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig,omitempty"`
	RevisionID      string         `json:"RevisionId"`
}

type routingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

func wireAlias(a *lambda.Alias) *aliasConfiguration {
	out := &aliasConfiguration{
		AliasArn:        a.AliasARN,
		Name:            a.Name,
		FunctionVersion: a.FunctionVersion,
		Description:     a.Description,
		RevisionID:      a.RevisionID,
	}
	if len(a.Weights) > 0 {
		out.RoutingConfig = &routingConfig{AdditionalVersionWeights: a.Weights}
	}
	return out
}

// aliasRequest is the body of CreateAlias and UpdateAlias.
type aliasRequest struct {
	Name            string         `json:"Name"`
	FunctionVersion *string        `json:"FunctionVersion"`
	Description     *string        `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig"`
	RevisionID      string         `json:"RevisionId"`
}

func (a *aliasRequest) input(function string) *lambda.AliasInput {
	in := &lambda.AliasInput{
		FunctionName:    function,
		Name:            a.Name,
		FunctionVersion: a.FunctionVersion,
		Description:     a.Description,
		RevisionID:      a.RevisionID,
	}
	if a.RoutingConfig != nil {
		in.Weights = a.RoutingConfig.AdditionalVersionWeights
		if in.Weights == nil {
			in.Weights = map[string]float64{}
		}
	}
	return in
}

func (h *Handler) createAlias(rq *request) error {
	var in aliasRequest
	if err := rq.decode(&in); err != nil {
		return err
	}
	a, err := h.lambda.CreateAlias(rq.ctx(), in.input(rq.param("FunctionName")))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusCreated, wireAlias(a))
	return nil
}

func (h *Handler) getAlias(rq *request) error {
	a, err := h.lambda.GetAlias(rq.ctx(), rq.param("FunctionName"), rq.param("Name"))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, wireAlias(a))
	return nil
}

func (h *Handler) updateAlias(rq *request) error {
	var in aliasRequest
	if err := rq.decode(&in); err != nil {
		return err
	}
	in.Name = rq.param("Name")
	a, err := h.lambda.UpdateAlias(rq.ctx(), in.input(rq.param("FunctionName")))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, wireAlias(a))
	return nil
}

func (h *Handler) deleteAlias(rq *request) error {
	if err := h.lambda.DeleteAlias(rq.ctx(), rq.param("FunctionName"), rq.param("Name")); err != nil {
		return err
	}
	writeEmpty(rq.w, http.StatusNoContent)
	return nil
}

func (h *Handler) listAliases(rq *request) error {
	li, err := rq.listInput()
	if err != nil {
		return err
	}
	list, next, err := h.lambda.ListAliases(rq.ctx(), rq.param("FunctionName"), rq.query("FunctionVersion"), &li)
	if err != nil {
		return err
	}
	out := struct {
		NextMarker string                `json:"NextMarker,omitempty"`
		Aliases    []*aliasConfiguration `json:"Aliases"`
	}{NextMarker: next, Aliases: []*aliasConfiguration{}}
	for _, a := range list {
		out.Aliases = append(out.Aliases, wireAlias(a))
	}
	writeJSON(rq.w, http.StatusOK, &out)
	return nil
}

func (h *Handler) addPermission(rq *request) error {
	var in struct {
		StatementID         string `json:"StatementId"`
		Action              string `json:"Action"`
		Principal           string `json:"Principal"`
		SourceArn           string `json:"SourceArn"`
		SourceAccount       string `json:"SourceAccount"`
		PrincipalOrgID      string `json:"PrincipalOrgID"`
		EventSourceToken    string `json:"EventSourceToken"`
		FunctionURLAuthType string `json:"FunctionUrlAuthType"`
		RevisionID          string `json:"RevisionId"`
		// A permission only for invocations through a function URL:
		// sluice has no function URLs, and dropping the condition
		// would grant more than asked.
		InvokedViaFunctionURL *bool `json:"InvokedViaFunctionUrl"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.InvokedViaFunctionURL != nil && *in.InvokedViaFunctionURL {
		return unsupported("InvokedViaFunctionUrl")
	}
	st, err := h.lambda.AddPermission(rq.ctx(), &lambda.PermissionInput{
		FunctionName:        rq.param("FunctionName"),
		Qualifier:           rq.query("Qualifier"),
		StatementID:         in.StatementID,
		Action:              in.Action,
		Principal:           in.Principal,
		SourceARN:           in.SourceArn,
		SourceAccount:       in.SourceAccount,
		PrincipalOrgID:      in.PrincipalOrgID,
		EventSourceToken:    in.EventSourceToken,
		FunctionURLAuthType: in.FunctionURLAuthType,
		RevisionID:          in.RevisionID,
	})
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusCreated, &struct {
		Statement string `json:"Statement"`
	}{st})
	return nil
}

func (h *Handler) removePermission(rq *request) error {
	err := h.lambda.RemovePermission(rq.ctx(), rq.param("FunctionName"), rq.query("Qualifier"),
		rq.param("StatementId"), rq.query("RevisionId"))
	if err != nil {
		return err
	}
	writeEmpty(rq.w, http.StatusNoContent)
	return nil
}

func (h *Handler) getPolicy(rq *request) error {
	doc, rev, err := h.lambda.GetPolicy(rq.ctx(), rq.param("FunctionName"), rq.query("Qualifier"))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &struct {
		Policy     string `json:"Policy"`
		RevisionID string `json:"RevisionId"`
	}{doc, rev})
	return nil
}

func (h *Handler) putConcurrency(rq *request) error {
	var in struct {
		ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	n, err := h.lambda.PutFunctionConcurrency(rq.ctx(), rq.param("FunctionName"), in.ReservedConcurrentExecutions)
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &concurrency{ReservedConcurrentExecutions: &n})
	return nil
}

func (h *Handler) getConcurrency(rq *request) error {
	n, err := h.lambda.GetFunctionConcurrency(rq.ctx(), rq.param("FunctionName"))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &concurrency{ReservedConcurrentExecutions: n})
	return nil
}

func (h *Handler) deleteConcurrency(rq *request) error {
	if err := h.lambda.DeleteFunctionConcurrency(rq.ctx(), rq.param("FunctionName")); err != nil {
		return err
	}
	writeEmpty(rq.w, http.StatusNoContent)
	return nil
}

// eventInvokeConfig is the FunctionEventInvokeConfig shape.
type eventInvokeConfig struct {
	LastModified             float64           `json:"LastModified"`
	FunctionArn              string            `json:"FunctionArn"`
	MaximumRetryAttempts     *int              `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int              `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        destinationConfig `json:"DestinationConfig"`
}

type destinationConfig struct {
	OnSuccess *destination `json:"OnSuccess"`
	OnFailure *destination `json:"OnFailure"`
}

type destination struct {
	Destination *string `json:"Destination,omitempty"`
}

func wireEventConfig(c *lambda.EventInvokeConfig) *eventInvokeConfig {
	dest := func(arn string) *destination {
		if arn == "" {
			return &destination{}
		}
		return &destination{Destination: &arn}
	}
	return &eventInvokeConfig{
		LastModified:             float64(c.LastModified.UnixMilli()) / 1000,
		FunctionArn:              c.FunctionARN,
		MaximumRetryAttempts:     c.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds,
		DestinationConfig:        destinationConfig{OnSuccess: dest(c.OnSuccess), OnFailure: dest(c.OnFailure)},
	}
}

func (h *Handler) writeEventConfig(rq *request, merge bool) error {
	var in struct {
		MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts"`
		MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds"`
		DestinationConfig        *destinationConfig `json:"DestinationConfig"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	req := &lambda.EventInvokeConfigInput{
		FunctionName:             rq.param("FunctionName"),
		Qualifier:                rq.query("Qualifier"),
		MaximumRetryAttempts:     in.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds,
	}
	if d := in.DestinationConfig; d != nil {
		arn := func(x *destination) *string {
			if x == nil {
				return nil
			}
			if x.Destination == nil {
				empty := ""
				return &empty
			}
			return x.Destination
		}
		req.OnSuccess, req.OnFailure = arn(d.OnSuccess), arn(d.OnFailure)
	}
	c, err := h.lambda.PutEventInvokeConfig(rq.ctx(), req, merge)
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, wireEventConfig(c))
	return nil
}

func (h *Handler) putEventInvokeConfig(rq *request) error    { return h.writeEventConfig(rq, false) }
func (h *Handler) updateEventInvokeConfig(rq *request) error { return h.writeEventConfig(rq, true) }

func (h *Handler) getEventInvokeConfig(rq *request) error {
	c, err := h.lambda.GetEventInvokeConfig(rq.ctx(), rq.param("FunctionName"), rq.query("Qualifier"))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, wireEventConfig(c))
	return nil
}

func (h *Handler) deleteEventInvokeConfig(rq *request) error {
	if err := h.lambda.DeleteEventInvokeConfig(rq.ctx(), rq.param("FunctionName"), rq.query("Qualifier")); err != nil {
		return err
	}
	writeEmpty(rq.w, http.StatusNoContent)
	return nil
}

func (h *Handler) listEventInvokeConfigs(rq *request) error {
	li, err := rq.listInput()
	if err != nil {
		return err
	}
	list, next, err := h.lambda.ListEventInvokeConfigs(rq.ctx(), rq.param("FunctionName"), &li)
	if err != nil {
		return err
	}
	out := struct {
		FunctionEventInvokeConfigs []*eventInvokeConfig `json:"FunctionEventInvokeConfigs"`
		NextMarker                 string               `json:"NextMarker,omitempty"`
	}{FunctionEventInvokeConfigs: []*eventInvokeConfig{}, NextMarker: next}
	for _, c := range list {
		out.FunctionEventInvokeConfigs = append(out.FunctionEventInvokeConfigs, wireEventConfig(c))
	}
	writeJSON(rq.w, http.StatusOK, &out)
	return nil
}

func (h *Handler) putRecursionConfig(rq *request) error {
	var in struct {
		RecursiveLoop string `json:"RecursiveLoop"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	loop, err := h.lambda.PutRecursionConfig(rq.ctx(), rq.param("FunctionName"), in.RecursiveLoop)
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &recursionConfig{loop})
	return nil
}

type recursionConfig struct {
	RecursiveLoop string `json:"RecursiveLoop"`
}

func (h *Handler) getRecursionConfig(rq *request) error {
	loop, err := h.lambda.GetRecursionConfig(rq.ctx(), rq.param("FunctionName"))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &recursionConfig{loop})
	return nil
}

func (h *Handler) tagResource(rq *request) error {
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := rq.decode(&in); err != nil {
		return err
	}
	if err := h.lambda.TagResource(rq.ctx(), rq.param("Resource"), in.Tags); err != nil {
		return err
	}
	writeEmpty(rq.w, http.StatusNoContent)
	return nil
}

func (h *Handler) untagResource(rq *request) error {
	keys, ok := rq.r.URL.Query()["tagKeys"]
	if !ok {
		keys = nil
	} else if keys == nil {
		keys = []string{}
	}
	if err := h.lambda.UntagResource(rq.ctx(), rq.param("Resource"), keys); err != nil {
		return err
	}
	writeEmpty(rq.w, http.StatusNoContent)
	return nil
}

func (h *Handler) listTags(rq *request) error {
	tags, err := h.lambda.ListTags(rq.ctx(), rq.param("Resource"))
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, &struct {
		Tags map[string]string `json:"Tags"`
	}{tags})
	return nil
}
