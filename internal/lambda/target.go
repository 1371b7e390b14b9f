package lambda

// Target is a function as an event source's configuration names it (S3
// notification destinations, for example), resolved to the parts an
// AsyncEvent needs.
type Target struct {
	// Name is the function's name, Qualifier the version or alias the
	// ARN names ("" for the unqualified function).
	Name      string
	Qualifier string
	// FunctionARN is the unqualified ARN; InvokedARN the ARN as
	// configured, qualifier included (what the runtime reports as the
	// invoked function ARN).
	FunctionARN string
	InvokedARN  string
}

// Target parses a function reference (ARN, partial ARN or name, optionally
// qualified) of this server's region and account. It does no I/O: whether
// the function exists is for the caller to check (Allows) or for delivery
// to find out. Errors: ValidationException, ResourceNotFoundException
// (another region), AccessDeniedException (another account).
func (s *Service) Target(functionARN string) (Target, error) {
	r, err := s.parseName(functionARN, "", kindNamespaced)
	if err != nil {
		return Target{}, err
	}
	return Target{
		Name:        r.name,
		Qualifier:   r.qualifier,
		FunctionARN: s.FunctionARN(r.name),
		InvokedARN:  s.qualifiedARN(r.name, r.qualifier),
	}, nil
}
