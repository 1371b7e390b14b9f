package batch

import (
	"encoding/xml"
	"time"
)

// The S3 Control documents of the jobs API. The same types hold a job's
// specification in its stored record (as JSON) and are written back in
// DescribeJob, so what a client sent is what it reads. encoding/xml does
// not depend on element order, which differs between SDKs (botocore
// sends the model's order, aws-sdk-go-v2 an alphabetical one).

// Tag is an S3 tag (S3Tag): job tags and object tag sets.
type Tag struct {
	Key   string `xml:"Key" json:"k"`
	Value string `xml:"Value" json:"v"`
}

// mapEntry is one pair of an XML map (UserArguments, UserMetadata).
type mapEntry struct {
	Key   string `xml:"key" json:"k"`
	Value string `xml:"value" json:"v"`
}

// tagSet is a list of tags whose presence matters even when empty
// (NewObjectTagging).
type tagSet struct {
	Tags []Tag `xml:"member" json:"tags"`
}

// rawXML keeps an element sluice reads only to refuse it.
type rawXML struct {
	Inner string `xml:",innerxml" json:"inner,omitempty"`
}

// Operation is the JobOperation union: exactly one member is set.
type Operation struct {
	LambdaInvoke            *LambdaInvokeOp `xml:"LambdaInvoke,omitempty" json:"lambdaInvoke,omitempty"`
	S3PutObjectCopy         *CopyOp         `xml:"S3PutObjectCopy,omitempty" json:"copy,omitempty"`
	S3PutObjectTagging      *TaggingOp      `xml:"S3PutObjectTagging,omitempty" json:"tagging,omitempty"`
	S3DeleteObjectTagging   *struct{}       `xml:"S3DeleteObjectTagging,omitempty" json:"deleteTagging,omitempty"`
	S3ComputeObjectChecksum *ChecksumOp     `xml:"S3ComputeObjectChecksum,omitempty" json:"checksum,omitempty"`

	// Operations sluice refuses (see validate).
	S3PutObjectAcl           *rawXML `xml:"S3PutObjectAcl,omitempty" json:"-"`
	S3InitiateRestoreObject  *rawXML `xml:"S3InitiateRestoreObject,omitempty" json:"-"`
	S3PutObjectLegalHold     *rawXML `xml:"S3PutObjectLegalHold,omitempty" json:"-"`
	S3PutObjectRetention     *rawXML `xml:"S3PutObjectRetention,omitempty" json:"-"`
	S3ReplicateObject        *rawXML `xml:"S3ReplicateObject,omitempty" json:"-"`
	S3UpdateObjectEncryption *rawXML `xml:"S3UpdateObjectEncryption,omitempty" json:"-"`
}

// LambdaInvokeOp is LambdaInvokeOperation.
type LambdaInvokeOp struct {
	FunctionArn             string     `xml:"FunctionArn" json:"functionArn"`
	InvocationSchemaVersion string     `xml:"InvocationSchemaVersion,omitempty" json:"schema,omitempty"`
	UserArguments           []mapEntry `xml:"UserArguments>entry,omitempty" json:"userArguments,omitempty"`
}

// CopyOp is S3CopyObjectOperation.
type CopyOp struct {
	TargetResource            string          `xml:"TargetResource,omitempty" json:"target,omitempty"`
	TargetKeyPrefix           string          `xml:"TargetKeyPrefix,omitempty" json:"prefix,omitempty"`
	MetadataDirective         string          `xml:"MetadataDirective,omitempty" json:"metadataDirective,omitempty"`
	NewObjectMetadata         *ObjectMetadata `xml:"NewObjectMetadata,omitempty" json:"metadata,omitempty"`
	NewObjectTagging          *tagSet         `xml:"NewObjectTagging,omitempty" json:"tagging,omitempty"`
	StorageClass              string          `xml:"StorageClass,omitempty" json:"storageClass,omitempty"`
	ModifiedSinceConstraint   *time.Time      `xml:"ModifiedSinceConstraint,omitempty" json:"modifiedSince,omitempty"`
	UnModifiedSinceConstraint *time.Time      `xml:"UnModifiedSinceConstraint,omitempty" json:"unmodifiedSince,omitempty"`
	ChecksumAlgorithm         string          `xml:"ChecksumAlgorithm,omitempty" json:"checksumAlgorithm,omitempty"`
	SSEAwsKmsKeyID            string          `xml:"SSEAwsKmsKeyId,omitempty" json:"kmsKeyId,omitempty"`
	BucketKeyEnabled          *bool           `xml:"BucketKeyEnabled,omitempty" json:"bucketKey,omitempty"`
	ObjectLockLegalHoldStatus string          `xml:"ObjectLockLegalHoldStatus,omitempty" json:"legalHold,omitempty"`
	ObjectLockMode            string          `xml:"ObjectLockMode,omitempty" json:"lockMode,omitempty"`
	ObjectLockRetainUntilDate *time.Time      `xml:"ObjectLockRetainUntilDate,omitempty" json:"retainUntil,omitempty"`
	CannedAccessControlList   string          `xml:"CannedAccessControlList,omitempty" json:"cannedAcl,omitempty"`
	RequesterPays             *bool           `xml:"RequesterPays,omitempty" json:"requesterPays,omitempty"`
	RedirectLocation          string          `xml:"RedirectLocation,omitempty" json:"redirectLocation,omitempty"`

	// Members sluice refuses (see validate).
	AccessControlGrants *rawXML `xml:"AccessControlGrants,omitempty" json:"-"`
}

// ObjectMetadata is S3ObjectMetadata.
type ObjectMetadata struct {
	CacheControl       string     `xml:"CacheControl,omitempty" json:"cacheControl,omitempty"`
	ContentDisposition string     `xml:"ContentDisposition,omitempty" json:"contentDisposition,omitempty"`
	ContentEncoding    string     `xml:"ContentEncoding,omitempty" json:"contentEncoding,omitempty"`
	ContentLanguage    string     `xml:"ContentLanguage,omitempty" json:"contentLanguage,omitempty"`
	UserMetadata       []mapEntry `xml:"UserMetadata>entry,omitempty" json:"userMetadata,omitempty"`
	ContentLength      *int64     `xml:"ContentLength,omitempty" json:"contentLength,omitempty"`
	ContentMD5         string     `xml:"ContentMD5,omitempty" json:"contentMD5,omitempty"`
	ContentType        string     `xml:"ContentType,omitempty" json:"contentType,omitempty"`
	HTTPExpiresDate    *time.Time `xml:"HttpExpiresDate,omitempty" json:"expires,omitempty"`
	RequesterCharged   *bool      `xml:"RequesterCharged,omitempty" json:"requesterCharged,omitempty"`
	SSEAlgorithm       string     `xml:"SSEAlgorithm,omitempty" json:"sse,omitempty"`
}

// TaggingOp is S3SetObjectTaggingOperation.
type TaggingOp struct {
	TagSet []Tag `xml:"TagSet>member" json:"tags"`
}

// ChecksumOp is S3ComputeObjectChecksumOperation.
type ChecksumOp struct {
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty" json:"algorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty" json:"type,omitempty"`
}

// Manifest is JobManifest.
type Manifest struct {
	Spec     ManifestSpec     `xml:"Spec" json:"spec"`
	Location ManifestLocation `xml:"Location" json:"location"`
}

// ManifestSpec is JobManifestSpec.
type ManifestSpec struct {
	Format string   `xml:"Format" json:"format"`
	Fields []string `xml:"Fields>member,omitempty" json:"fields,omitempty"`
}

// ManifestLocation is JobManifestLocation.
type ManifestLocation struct {
	ObjectArn       string `xml:"ObjectArn" json:"objectArn"`
	ObjectVersionID string `xml:"ObjectVersionId,omitempty" json:"versionId,omitempty"`
	ETag            string `xml:"ETag" json:"etag"`
}

// Report is JobReport.
type Report struct {
	Bucket              string `xml:"Bucket,omitempty" json:"bucket,omitempty"`
	Format              string `xml:"Format,omitempty" json:"format,omitempty"`
	Enabled             bool   `xml:"Enabled" json:"enabled"`
	Prefix              string `xml:"Prefix,omitempty" json:"prefix,omitempty"`
	ReportScope         string `xml:"ReportScope,omitempty" json:"scope,omitempty"`
	ExpectedBucketOwner string `xml:"ExpectedBucketOwner,omitempty" json:"expectedOwner,omitempty"`
}

// ManifestGenerator is the JobManifestGenerator union.
type ManifestGenerator struct {
	S3JobManifestGenerator *S3Generator `xml:"S3JobManifestGenerator,omitempty" json:"s3,omitempty"`
}

// S3Generator is S3JobManifestGenerator.
type S3Generator struct {
	ExpectedBucketOwner    string           `xml:"ExpectedBucketOwner,omitempty" json:"expectedOwner,omitempty"`
	SourceBucket           string           `xml:"SourceBucket" json:"sourceBucket"`
	EnableManifestOutput   bool             `xml:"EnableManifestOutput" json:"output"`
	ManifestOutputLocation *OutputLocation  `xml:"ManifestOutputLocation,omitempty" json:"outputLocation,omitempty"`
	Filter                 *GeneratorFilter `xml:"Filter,omitempty" json:"filter,omitempty"`
}

// OutputLocation is S3ManifestOutputLocation.
type OutputLocation struct {
	ExpectedManifestBucketOwner string              `xml:"ExpectedManifestBucketOwner,omitempty" json:"expectedOwner,omitempty"`
	Bucket                      string              `xml:"Bucket" json:"bucket"`
	ManifestPrefix              string              `xml:"ManifestPrefix,omitempty" json:"prefix,omitempty"`
	ManifestFormat              string              `xml:"ManifestFormat" json:"format"`
	ManifestEncryption          *manifestEncryption `xml:"ManifestEncryption,omitempty" json:"encryption,omitempty"`
}

// manifestEncryption is GeneratedManifestEncryption.
type manifestEncryption struct {
	SSES3  *struct{} `xml:"SSE-S3,omitempty" json:"sseS3,omitempty"`
	SSEKMS *struct {
		KeyID string `xml:"KeyId" json:"keyId"`
	} `xml:"SSE-KMS,omitempty" json:"sseKms,omitempty"`
}

// GeneratorFilter is JobManifestGeneratorFilter.
type GeneratorFilter struct {
	EligibleForReplication     *bool              `xml:"EligibleForReplication,omitempty" json:"eligibleForReplication,omitempty"`
	CreatedAfter               *time.Time         `xml:"CreatedAfter,omitempty" json:"createdAfter,omitempty"`
	CreatedBefore              *time.Time         `xml:"CreatedBefore,omitempty" json:"createdBefore,omitempty"`
	ObjectReplicationStatuses  []string           `xml:"ObjectReplicationStatuses>member,omitempty" json:"replicationStatuses,omitempty"`
	KeyNameConstraint          *KeyNameConstraint `xml:"KeyNameConstraint,omitempty" json:"keyName,omitempty"`
	ObjectSizeGreaterThanBytes *int64             `xml:"ObjectSizeGreaterThanBytes,omitempty" json:"sizeGreaterThan,omitempty"`
	ObjectSizeLessThanBytes    *int64             `xml:"ObjectSizeLessThanBytes,omitempty" json:"sizeLessThan,omitempty"`
	MatchAnyStorageClass       []string           `xml:"MatchAnyStorageClass>member,omitempty" json:"storageClasses,omitempty"`
	MatchAnyObjectEncryption   []EncryptionFilter `xml:"MatchAnyObjectEncryption>ObjectEncryption,omitempty" json:"encryption,omitempty"`
}

// KeyNameConstraint is the key filter of a manifest generator.
type KeyNameConstraint struct {
	MatchAnyPrefix    []string `xml:"MatchAnyPrefix>member,omitempty" json:"prefix,omitempty"`
	MatchAnySuffix    []string `xml:"MatchAnySuffix>member,omitempty" json:"suffix,omitempty"`
	MatchAnySubstring []string `xml:"MatchAnySubstring>member,omitempty" json:"substring,omitempty"`
}

// EncryptionFilter is the ObjectEncryptionFilter union.
type EncryptionFilter struct {
	SSES3   *struct{}  `xml:"SSE-S3,omitempty" json:"sseS3,omitempty"`
	SSEKMS  *kmsFilter `xml:"SSE-KMS,omitempty" json:"sseKms,omitempty"`
	DSSEKMS *kmsFilter `xml:"DSSE-KMS,omitempty" json:"dsseKms,omitempty"`
	SSEC    *struct{}  `xml:"SSE-C,omitempty" json:"sseC,omitempty"`
	NotSSE  *struct{}  `xml:"NOT-SSE,omitempty" json:"notSse,omitempty"`
}

type kmsFilter struct {
	KmsKeyArn        string `xml:"KmsKeyArn,omitempty" json:"keyArn,omitempty"`
	BucketKeyEnabled *bool  `xml:"BucketKeyEnabled,omitempty" json:"bucketKey,omitempty"`
}

// createJobRequest is CreateJobRequest.
type createJobRequest struct {
	XMLName              xml.Name           `json:"-"`
	ConfirmationRequired bool               `xml:"ConfirmationRequired"`
	Operation            *Operation         `xml:"Operation"`
	Report               *Report            `xml:"Report"`
	ClientRequestToken   string             `xml:"ClientRequestToken"`
	Manifest             *Manifest          `xml:"Manifest"`
	Description          string             `xml:"Description"`
	Priority             *int64             `xml:"Priority"`
	RoleArn              string             `xml:"RoleArn"`
	Tags                 []Tag              `xml:"Tags>member"`
	ManifestGenerator    *ManifestGenerator `xml:"ManifestGenerator"`
}

type createJobResult struct {
	XMLName xml.Name `xml:"CreateJobResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	JobID   string   `xml:"JobId"`
}

// failureReason is JobFailure.
type failureReason struct {
	FailureCode   string `xml:"FailureCode" json:"code"`
	FailureReason string `xml:"FailureReason" json:"reason"`
}

type progressSummary struct {
	TotalNumberOfTasks     *int64 `xml:"TotalNumberOfTasks,omitempty"`
	NumberOfTasksSucceeded int64  `xml:"NumberOfTasksSucceeded"`
	NumberOfTasksFailed    int64  `xml:"NumberOfTasksFailed"`
	Timers                 timers `xml:"Timers"`
}

type timers struct {
	ElapsedTimeInActiveSeconds int64 `xml:"ElapsedTimeInActiveSeconds"`
}

// generatedManifest is S3GeneratedManifestDescriptor.
type generatedManifest struct {
	Format   string           `xml:"Format" json:"format"`
	Location ManifestLocation `xml:"Location" json:"location"`
}

// jobDescriptor is JobDescriptor.
type jobDescriptor struct {
	JobID                       string             `xml:"JobId"`
	ConfirmationRequired        bool               `xml:"ConfirmationRequired"`
	Description                 string             `xml:"Description,omitempty"`
	JobArn                      string             `xml:"JobArn"`
	Status                      Status             `xml:"Status"`
	Manifest                    *Manifest          `xml:"Manifest,omitempty"`
	Operation                   *Operation         `xml:"Operation"`
	Priority                    int64              `xml:"Priority"`
	ProgressSummary             progressSummary    `xml:"ProgressSummary"`
	StatusUpdateReason          string             `xml:"StatusUpdateReason,omitempty"`
	FailureReasons              []failureReason    `xml:"FailureReasons>member,omitempty"`
	Report                      *Report            `xml:"Report"`
	CreationTime                string             `xml:"CreationTime"`
	TerminationDate             string             `xml:"TerminationDate,omitempty"`
	RoleArn                     string             `xml:"RoleArn"`
	SuspendedDate               string             `xml:"SuspendedDate,omitempty"`
	SuspendedCause              string             `xml:"SuspendedCause,omitempty"`
	ManifestGenerator           *ManifestGenerator `xml:"ManifestGenerator,omitempty"`
	GeneratedManifestDescriptor *generatedManifest `xml:"GeneratedManifestDescriptor,omitempty"`
}

type describeJobResult struct {
	XMLName xml.Name      `xml:"DescribeJobResult"`
	Xmlns   string        `xml:"xmlns,attr"`
	Job     jobDescriptor `xml:"Job"`
}

// jobListDescriptor is JobListDescriptor.
type jobListDescriptor struct {
	JobID           string          `xml:"JobId"`
	Description     string          `xml:"Description,omitempty"`
	Operation       string          `xml:"Operation"`
	Priority        int64           `xml:"Priority"`
	Status          Status          `xml:"Status"`
	CreationTime    string          `xml:"CreationTime"`
	TerminationDate string          `xml:"TerminationDate,omitempty"`
	ProgressSummary progressSummary `xml:"ProgressSummary"`
}

type listJobsResult struct {
	XMLName   xml.Name            `xml:"ListJobsResult"`
	Xmlns     string              `xml:"xmlns,attr"`
	NextToken string              `xml:"NextToken,omitempty"`
	Jobs      []jobListDescriptor `xml:"Jobs>member"`
}

type updateJobPriorityResult struct {
	XMLName  xml.Name `xml:"UpdateJobPriorityResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	JobID    string   `xml:"JobId"`
	Priority int64    `xml:"Priority"`
}

type updateJobStatusResult struct {
	XMLName            xml.Name `xml:"UpdateJobStatusResult"`
	Xmlns              string   `xml:"xmlns,attr"`
	JobID              string   `xml:"JobId"`
	Status             Status   `xml:"Status"`
	StatusUpdateReason string   `xml:"StatusUpdateReason,omitempty"`
}

type jobTagging struct {
	XMLName xml.Name `json:"-"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Tags    []Tag    `xml:"Tags>member"`
}
