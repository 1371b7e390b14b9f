package lambda

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Runtimes are the runtimes a function may be created with: the ones AWS
// accepts for new functions today, in the order AWS lists them in its
// error message, followed by newer members of the model's enum.
var Runtimes = []string{
	"nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x",
	"nodejs22.x", "java25", "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2",
	"python3.8", "python3.9", "java17", "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6",
	"nodejs18.x", "provided.al2", "java8.al2",
	"nodejs26.x", "python3.15", "ruby4.0", "java8.al2023", "java11.al2023", "java17.al2023",
}

// awsRuntimeList is the enum AWS quotes when it refuses a runtime.
var awsRuntimeList = "[" + strings.Join(Runtimes[:25], ", ") + "]"

// deprecatedRuntimes are the model's runtimes AWS no longer accepts for
// creating or updating functions.
var deprecatedRuntimes = []string{
	"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
	"java8", "python2.7", "python3.6", "python3.7", "dotnetcore1.0", "dotnetcore2.0",
	"dotnetcore2.1", "dotnetcore3.1", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "provided",
}

// reservedEnv are the variables Lambda sets itself, which a function's
// configuration may not.
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

const (
	patRole     = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	patHandler  = `[^\s]+`
	patEnvKey   = `[a-zA-Z]([a-zA-Z0-9_])+`
	patTag      = `([\p{L}\p{Z}\p{N}_.:/=+\-@]*)`
	patDestARN  = `$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
	patSourceID = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
)

var (
	reRole    = regexp.MustCompile(`^(?:` + patRole + `)$`)
	reHandler = regexp.MustCompile(`^(?:` + patHandler + `)$`)
	reEnvKey  = regexp.MustCompile(`^(?:` + patEnvKey + `)$`)
	reTag     = regexp.MustCompile(`^(?:` + patTag + `)$`)
	reDestARN = regexp.MustCompile(`^(?:` + patDestARN + `)$`)
	reARN     = regexp.MustCompile(`^(?:` + patSourceID + `)$`)
)

// ConfigInput is the configuration a CreateFunction or
// UpdateFunctionConfiguration request sets; nil members are not given.
type ConfigInput struct {
	Runtime     *string
	Handler     *string
	Role        *string
	Description *string
	// Timeout is in seconds, MemorySize and EphemeralStorage in MB.
	Timeout          *int
	MemorySize       *int
	EphemeralStorage *int
	// Environment is the Environment.Variables map; nil when the request
	// has no Environment (an empty map clears the variables).
	Environment map[string]string
}

// check adds the model's constraint failures of in to v.
func (in *ConfigInput) check(v *violations) {
	if in.Role != nil && !reRole.MatchString(*in.Role) {
		v.add("role", in.Role, "Member must satisfy regular expression pattern: "+patRole)
	}
	if in.Handler != nil {
		switch {
		case len(*in.Handler) > 128:
			v.add("handler", in.Handler, "Member must have length less than or equal to 128")
		case !reHandler.MatchString(*in.Handler):
			v.add("handler", in.Handler, "Member must satisfy regular expression pattern: "+patHandler)
		}
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 256 {
		v.add("description", in.Description, "Member must have length less than or equal to 256")
	}
	intRange(v, "timeout", in.Timeout, 1, 5400)
	intRange(v, "memorySize", in.MemorySize, MinMemorySize, 32768)
	intRange(v, "ephemeralStorage.size", in.EphemeralStorage, 512, 10240)
	for _, k := range sortedKeys(in.Environment) {
		if !reEnvKey.MatchString(k) {
			v.add("environment.variables", &k, "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "+patEnvKey+"]")
		}
	}
}

// intRange adds a violation if *n is outside [lo, hi].
func intRange(v *violations, field string, n *int, lo, hi int) {
	if n == nil {
		return
	}
	s := strconv.Itoa(*n)
	switch {
	case *n < lo:
		v.add(field, &s, "Member must have value greater than or equal to "+strconv.Itoa(lo))
	case *n > hi:
		v.add(field, &s, "Member must have value less than or equal to "+strconv.Itoa(hi))
	}
}

// apply validates the semantic rules AWS checks after the model's and
// writes in onto c.
func (in *ConfigInput) apply(c *VersionConfig) error {
	if in.Runtime != nil {
		if err := checkRuntime(*in.Runtime); err != nil {
			return err
		}
		c.Runtime = *in.Runtime
	}
	if in.MemorySize != nil && *in.MemorySize > MaxMemorySize {
		return invalidParam("'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to %d", MaxMemorySize)
	}
	if in.Timeout != nil && *in.Timeout > MaxTimeout {
		return invalidParam("'Timeout' value failed to satisfy constraint: Member must have value less than or equal to %d", MaxTimeout)
	}
	if in.Environment != nil {
		if err := checkEnvironment(in.Environment); err != nil {
			return err
		}
		c.Environment = nil
		if len(in.Environment) > 0 {
			c.Environment = in.Environment
		}
	}
	set(&c.Handler, in.Handler)
	set(&c.Role, in.Role)
	set(&c.Description, in.Description)
	set(&c.Timeout, in.Timeout)
	set(&c.MemorySize, in.MemorySize)
	set(&c.EphemeralStorage, in.EphemeralStorage)
	return nil
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// checkRuntime refuses runtimes AWS does not accept for new code.
func checkRuntime(r string) error {
	switch {
	case slices.Contains(Runtimes, r):
		return nil
	case slices.Contains(deprecatedRuntimes, r):
		return invalidParam("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", r)
	}
	return invalidParam("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: %s or be a valid ARN", r, awsRuntimeList)
}

// checkEnvironment refuses reserved variables and variables whose JSON
// form exceeds 4 KB.
func checkEnvironment(env map[string]string) error {
	var reserved []string
	for k := range env {
		if slices.Contains(reservedEnv, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		sort.Strings(reserved)
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(env)
	measured := strings.TrimSuffix(buf.String(), "\n")
	if len(measured) > MaxEnvironmentSize {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", measured)
	}
	return nil
}

// checkArchitectures validates an Architectures list, adding to v.
func checkArchitectures(v *violations, archs []string) {
	if archs == nil {
		return
	}
	shown := "[" + strings.Join(archs, ", ") + "]"
	switch {
	case len(archs) == 0:
		v.add("architectures", &shown, "Member must have length greater than or equal to 1")
	case len(archs) > 1:
		v.add("architectures", &shown, "Member must have length less than or equal to 1")
	case archs[0] != "x86_64" && archs[0] != "arm64":
		v.add("architectures", &shown, "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
	}
}

// checkTags validates a tag map, adding to v.
func checkTags(v *violations, tags map[string]string) {
	for _, k := range sortedKeys(tags) {
		val := tags[k]
		switch {
		case len(k) < 1 || utf8.RuneCountInString(k) > 128 || !reTag.MatchString(k):
			v.add("tags", &k, "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: "+patTag+"]")
		case utf8.RuneCountInString(val) > 256 || !reTag.MatchString(val):
			v.add("tags", &val, "Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: "+patTag+"]")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
