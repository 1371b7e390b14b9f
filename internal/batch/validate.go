package batch

import (
	"strings"

	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// supportedOperations is what the refusal of another operation names.
const supportedOperations = "LambdaInvoke, S3PutObjectCopy, S3PutObjectTagging, S3DeleteObjectTagging and S3ComputeObjectChecksum"

// validateCreate checks a CreateJob request before anything is stored:
// the model's constraints, and what sluice does not run.
func validateCreate(r *createJobRequest) error {
	switch {
	case r.ClientRequestToken == "" || len(r.ClientRequestToken) > 64:
		return badRequest("ClientRequestToken must be 1 to 64 characters.")
	case r.Priority == nil:
		return badRequest("Priority is required.")
	case *r.Priority < 0 || *r.Priority > 2147483647:
		return badRequest("Priority must be between 0 and 2147483647.")
	case r.RoleArn == "" || len(r.RoleArn) > 2048 || !roleARNPattern.MatchString(r.RoleArn):
		return badRequest("RoleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>).")
	case len(r.Description) > 256:
		return badRequest("Description must be at most 256 characters.")
	case r.Operation == nil:
		return badRequest("Operation is required.")
	case r.Report == nil:
		return badRequest("Report is required.")
	case (r.Manifest == nil) == (r.ManifestGenerator == nil):
		return badRequest("Exactly one of Manifest and ManifestGenerator is required.")
	}
	if err := validateJobTags(r.Tags); err != nil {
		return err
	}
	if err := validateOperation(r.Operation); err != nil {
		return err
	}
	if err := validateReport(r.Report); err != nil {
		return err
	}
	if r.Manifest != nil {
		return validateManifest(r.Manifest)
	}
	return validateGenerator(r.ManifestGenerator)
}

func validateOperation(op *Operation) error {
	refused := []struct {
		name    string
		present bool
	}{
		{"S3PutObjectAcl", op.S3PutObjectAcl != nil},
		{"S3InitiateRestoreObject", op.S3InitiateRestoreObject != nil},
		{"S3PutObjectLegalHold", op.S3PutObjectLegalHold != nil},
		{"S3PutObjectRetention", op.S3PutObjectRetention != nil},
		{"S3ReplicateObject", op.S3ReplicateObject != nil},
		{"S3UpdateObjectEncryption", op.S3UpdateObjectEncryption != nil},
	}
	for _, r := range refused {
		if r.present {
			return badRequest("sluice does not support the %s operation; it runs %s.", r.name, supportedOperations)
		}
	}
	n := 0
	for _, set := range []bool{op.LambdaInvoke != nil, op.S3PutObjectCopy != nil, op.S3PutObjectTagging != nil,
		op.S3DeleteObjectTagging != nil, op.S3ComputeObjectChecksum != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return badRequest("Operation must name exactly one operation.")
	}
	switch {
	case op.LambdaInvoke != nil:
		return validateLambda(op.LambdaInvoke)
	case op.S3PutObjectCopy != nil:
		return validateCopy(op.S3PutObjectCopy)
	case op.S3PutObjectTagging != nil:
		return validateObjectTags(op.S3PutObjectTagging.TagSet, "S3PutObjectTagging TagSet")
	case op.S3ComputeObjectChecksum != nil:
		return validateChecksum(op.S3ComputeObjectChecksum)
	}
	return nil
}

func validateLambda(op *LambdaInvokeOp) error {
	switch {
	case op.FunctionArn == "" || len(op.FunctionArn) > 1024:
		return badRequest("LambdaInvoke FunctionArn must be 1 to 1024 characters.")
	case op.InvocationSchemaVersion != "" && op.InvocationSchemaVersion != "1.0" && op.InvocationSchemaVersion != "2.0":
		return badRequest("LambdaInvoke InvocationSchemaVersion must be 1.0 or 2.0.")
	case len(op.UserArguments) > 0 && op.InvocationSchemaVersion != "2.0":
		return badRequest("LambdaInvoke UserArguments require InvocationSchemaVersion 2.0.")
	case len(op.UserArguments) > 10:
		return badRequest("LambdaInvoke UserArguments can have at most 10 entries.")
	}
	for _, e := range op.UserArguments {
		if e.Key == "" || len(e.Key) > 64 || len(e.Value) > 1024 {
			return badRequest("LambdaInvoke UserArguments keys must be 1 to 64 characters and values at most 1024.")
		}
	}
	return nil
}

func validateCopy(op *CopyOp) error {
	if _, ok := bucketFromARN(op.TargetResource); !ok {
		return badRequest("S3PutObjectCopy TargetResource must be a bucket ARN (arn:aws:s3:::bucket).")
	}
	unsupported := func(what string) error {
		return badRequest("sluice does not support %s in S3PutObjectCopy.", what)
	}
	switch {
	case op.AccessControlGrants != nil:
		return unsupported("AccessControlGrants")
	case op.CannedAccessControlList != "" && op.CannedAccessControlList != "private" && op.CannedAccessControlList != "bucket-owner-full-control":
		return unsupported("CannedAccessControlList " + op.CannedAccessControlList)
	case op.RequesterPays != nil && *op.RequesterPays:
		return unsupported("RequesterPays")
	case op.MetadataDirective != "" && op.MetadataDirective != "COPY" && op.MetadataDirective != "REPLACE":
		return badRequest("S3PutObjectCopy MetadataDirective must be COPY or REPLACE.")
	case len(op.TargetKeyPrefix) > 1024:
		return badRequest("S3PutObjectCopy TargetKeyPrefix must be at most 1024 characters.")
	}
	if op.ChecksumAlgorithm != "" {
		if _, err := checksum.ParseAlgorithm(op.ChecksumAlgorithm); err != nil {
			return badRequest("S3PutObjectCopy ChecksumAlgorithm %q is not a checksum algorithm.", op.ChecksumAlgorithm)
		}
	}
	if op.StorageClass != "" && !validStorageClass(op.StorageClass) {
		return badRequest("S3PutObjectCopy StorageClass %q is not a storage class.", op.StorageClass)
	}
	if m := op.NewObjectMetadata; m != nil {
		switch m.SSEAlgorithm {
		case "", "AES256", "KMS":
		default:
			return badRequest("S3PutObjectCopy NewObjectMetadata SSEAlgorithm must be AES256 or KMS.")
		}
		if m.RequesterCharged != nil && *m.RequesterCharged {
			return unsupported("RequesterCharged")
		}
	}
	switch op.ObjectLockMode {
	case "", "GOVERNANCE", "COMPLIANCE":
	default:
		return badRequest("S3PutObjectCopy ObjectLockMode must be GOVERNANCE or COMPLIANCE.")
	}
	switch op.ObjectLockLegalHoldStatus {
	case "", "ON", "OFF":
	default:
		return badRequest("S3PutObjectCopy ObjectLockLegalHoldStatus must be ON or OFF.")
	}
	if op.NewObjectTagging != nil {
		return validateObjectTags(op.NewObjectTagging.Tags, "S3PutObjectCopy NewObjectTagging")
	}
	return nil
}

func validStorageClass(sc string) bool {
	switch sc {
	case "STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER", "INTELLIGENT_TIERING", "DEEP_ARCHIVE", "GLACIER_IR":
		return true
	}
	return false
}

func validateObjectTags(tags []Tag, what string) error {
	mt := make([]meta.Tag, len(tags))
	for i, t := range tags {
		mt[i] = meta.Tag{Key: t.Key, Value: t.Value}
	}
	if err := objstore.ValidateTags(mt, objstore.MaxTags); err != nil {
		return badRequest("%s: %v", what, err)
	}
	return nil
}

func validateChecksum(op *ChecksumOp) error {
	alg, err := checksum.ParseAlgorithm(op.ChecksumAlgorithm)
	if err != nil {
		return badRequest("S3ComputeObjectChecksum ChecksumAlgorithm %q is not a checksum algorithm.", op.ChecksumAlgorithm)
	}
	switch checksum.Type(op.ChecksumType) {
	case "", checksum.FullObject:
		// Any algorithm can digest a whole object at rest.
	case checksum.Composite:
		if !alg.SupportsComposite() {
			return badRequest("S3ComputeObjectChecksum: %s does not support the COMPOSITE checksum type.", alg)
		}
	default:
		return badRequest("S3ComputeObjectChecksum ChecksumType must be FULL_OBJECT or COMPOSITE.")
	}
	return nil
}

func validateReport(r *Report) error {
	if !r.Enabled {
		return nil
	}
	if _, ok := bucketFromARN(r.Bucket); !ok {
		return badRequest("Report Bucket must be a bucket ARN (arn:aws:s3:::bucket) when the report is enabled.")
	}
	switch {
	case r.Format != ReportFormat:
		return badRequest("Report Format must be %s when the report is enabled.", ReportFormat)
	case r.ReportScope != "" && r.ReportScope != "AllTasks" && r.ReportScope != "FailedTasksOnly":
		return badRequest("Report ReportScope must be AllTasks or FailedTasksOnly.")
	case len(r.Prefix) > 512:
		return badRequest("Report Prefix must be at most 512 characters.")
	}
	return nil
}

func validateManifest(m *Manifest) error {
	if _, _, ok := objectFromARN(m.Location.ObjectArn); !ok {
		return badRequest("Manifest Location ObjectArn must be an object ARN (arn:aws:s3:::bucket/key).")
	}
	if m.Location.ETag == "" {
		return badRequest("Manifest Location ETag is required.")
	}
	switch m.Spec.Format {
	case FormatCSV:
		if len(m.Spec.Fields) == 0 {
			return badRequest("Manifest Spec Fields are required for %s.", FormatCSV)
		}
		count := map[string]int{}
		for _, f := range m.Spec.Fields {
			switch f {
			case fieldIgnore, fieldBucket, fieldKey, fieldVersionID:
				count[f]++
			default:
				return badRequest("Manifest Spec Fields may only name Ignore, Bucket, Key and VersionId; %q is not one of them.", f)
			}
		}
		if count[fieldBucket] != 1 || count[fieldKey] != 1 || count[fieldVersionID] > 1 {
			return badRequest("Manifest Spec Fields must name Bucket and Key once each, and VersionId at most once.")
		}
	case FormatInventory:
		if len(m.Spec.Fields) > 0 {
			return badRequest("Manifest Spec Fields apply to %s manifests only.", FormatCSV)
		}
	default:
		return badRequest("Manifest Spec Format must be %s or %s.", FormatCSV, FormatInventory)
	}
	return nil
}

func validateGenerator(g *ManifestGenerator) error {
	s3g := g.S3JobManifestGenerator
	if s3g == nil {
		return badRequest("ManifestGenerator must contain S3JobManifestGenerator.")
	}
	if _, ok := bucketFromARN(s3g.SourceBucket); !ok {
		return badRequest("S3JobManifestGenerator SourceBucket must be a bucket ARN (arn:aws:s3:::bucket).")
	}
	if s3g.EnableManifestOutput {
		loc := s3g.ManifestOutputLocation
		if loc == nil {
			return badRequest("S3JobManifestGenerator ManifestOutputLocation is required when EnableManifestOutput is true.")
		}
		if _, ok := bucketFromARN(loc.Bucket); !ok {
			return badRequest("ManifestOutputLocation Bucket must be a bucket ARN (arn:aws:s3:::bucket).")
		}
		if loc.ManifestFormat != FormatInventory2021 {
			return badRequest("ManifestOutputLocation ManifestFormat must be %s.", FormatInventory2021)
		}
	}
	f := s3g.Filter
	if f == nil {
		return nil
	}
	if f.EligibleForReplication != nil && *f.EligibleForReplication {
		return badRequest("sluice does not replicate objects: the EligibleForReplication filter is not supported.")
	}
	for _, st := range f.ObjectReplicationStatuses {
		if st != "NONE" {
			return badRequest("sluice does not replicate objects: the only ObjectReplicationStatuses it can match is NONE, not %s.", st)
		}
	}
	if k := f.KeyNameConstraint; k != nil {
		for _, l := range [][]string{k.MatchAnyPrefix, k.MatchAnySuffix, k.MatchAnySubstring} {
			if len(l) > 1 {
				return badRequest("Each KeyNameConstraint list accepts exactly one string.")
			}
		}
	}
	for _, sc := range f.MatchAnyStorageClass {
		if !validStorageClass(strings.TrimSpace(sc)) {
			return badRequest("MatchAnyStorageClass %q is not a storage class.", sc)
		}
	}
	if len(f.MatchAnyObjectEncryption) > 1 {
		return badRequest("MatchAnyObjectEncryption accepts at most one encryption type.")
	}
	return nil
}
