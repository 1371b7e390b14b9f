package accesspoint

import (
	"regexp"
	"strings"
)

// checkName validates a standard access point name: 3–50 lower-case
// letters, digits and hyphens, beginning and ending with a letter or
// digit, not ending with the alias suffix.
func checkName(name string) error {
	return checkNameLen(name, maxAPNameLen)
}

// checkObjectLambdaName validates an Object Lambda access point name (the
// model's pattern, 3–45 characters).
func checkObjectLambdaName(name string) error {
	if err := checkNameLen(name, maxOLAPNameLen); err != nil {
		return err
	}
	if strings.HasSuffix(name, olapAliasSuffix) {
		return ErrInvalidName
	}
	return nil
}

func checkNameLen(name string, max int) error {
	if len(name) < minNameLen || len(name) > max {
		return ErrInvalidURI
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return ErrInvalidURI
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' || strings.HasSuffix(name, aliasSuffix) || strings.HasPrefix(name, "xn--") {
		return ErrInvalidName
	}
	return nil
}

// reAccessPointARN matches a standard access point ARN.
var reAccessPointARN = regexp.MustCompile(`^arn:([^:]+):s3:([^:]*):(\d{12}):accesspoint/(.+)$`)

// ParseARN splits a standard access point ARN into region, account and
// name; ok is false if arn is not one.
func ParseARN(arn string) (region, account, name string, ok bool) {
	m := reAccessPointARN.FindStringSubmatch(arn)
	if m == nil {
		return "", "", "", false
	}
	return m[2], m[3], m[4], true
}

// reObjectLambdaARN matches an Object Lambda access point ARN.
var reObjectLambdaARN = regexp.MustCompile(`^arn:([^:]+):s3-object-lambda:([^:]*):(\d{12}):accesspoint[/:](.+)$`)

// ParseObjectLambdaARN splits an Object Lambda access point ARN into
// region, account and name; ok is false if arn is not one.
func ParseObjectLambdaARN(arn string) (region, account, name string, ok bool) {
	m := reObjectLambdaARN.FindStringSubmatch(arn)
	if m == nil {
		return "", "", "", false
	}
	return m[2], m[3], m[4], true
}

// reFunctionARN is the model's FunctionArnString pattern.
var reFunctionARN = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)

// checkConfig validates an Object Lambda configuration for this account
// and region.
func (s *Service) checkConfig(c *ObjectLambdaConfig) error {
	region, account, name, ok := ParseARN(c.SupportingAccessPoint)
	if c.SupportingAccessPoint == "" || !ok || checkName(name) != nil {
		return errorf("InvalidRequest", "SupportingAccessPoint must be the ARN of an S3 access point.")
	}
	if region != s.region || account != s.account {
		return errorf("InvalidRequest", "SupportingAccessPoint must be an access point of this account and region.")
	}
	for _, f := range c.AllowedFeatures {
		switch f {
		case FeatureGetObjectRange, FeatureGetObjectPartNumber, FeatureHeadObjectRange, FeatureHeadObjectPartNumber:
		default:
			return errorf("InvalidRequest", "Invalid AllowedFeature: "+f+".")
		}
	}
	if len(c.Transformations) == 0 {
		return errorf("InvalidRequest", "TransformationConfigurations must contain at least one transformation.")
	}
	seen := map[string]bool{}
	for _, t := range c.Transformations {
		if len(t.Actions) == 0 {
			return errorf("InvalidRequest", "Each TransformationConfiguration must name at least one action.")
		}
		for _, a := range t.Actions {
			switch a {
			case ActionGetObject, ActionHeadObject, ActionListObjects, ActionListObjectsV2:
			default:
				return errorf("InvalidRequest", "Invalid transformation action: "+a+".")
			}
			if seen[a] {
				return errorf("InvalidRequest", "The action "+a+" appears in more than one TransformationConfiguration.")
			}
			seen[a] = true
		}
		m := reFunctionARN.FindStringSubmatch(t.FunctionARN)
		if len(t.FunctionARN) > 1024 || m == nil {
			return errorf("InvalidRequest", "FunctionArn must be the ARN of a Lambda function.")
		}
		if region := strings.TrimSuffix(m[3], ":"); region != "" && region != s.region {
			return errorf("InvalidRequest", "The Lambda function must be in the same region as the Object Lambda Access Point.")
		}
		if account := strings.TrimSuffix(m[8], ":"); account != "" && account != s.account {
			return errorf("InvalidRequest", "The Lambda function must be in the same account as the Object Lambda Access Point.")
		}
	}
	return nil
}
