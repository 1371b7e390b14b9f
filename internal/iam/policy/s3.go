package policy

import (
	"slices"
	"strings"
)

// S3 resource types an action acts on.
const (
	resBucket = "bucket"
	resObject = "object"
	resOther  = "" // the account, jobs, access points, Storage Lens, ...
)

// s3Actions are S3's actions (IAM's service authorization reference) and
// the resource type each acts on.
var s3Actions = map[string]string{
	// Objects.
	"AbortMultipartUpload": resObject, "BypassGovernanceRetention": resObject,
	"DeleteObject": resObject, "DeleteObjectTagging": resObject, "DeleteObjectVersion": resObject,
	"DeleteObjectVersionTagging": resObject, "GetObject": resObject, "GetObjectAcl": resObject,
	"GetObjectAttributes": resObject, "GetObjectLegalHold": resObject, "GetObjectRetention": resObject,
	"GetObjectTagging": resObject, "GetObjectTorrent": resObject, "GetObjectVersion": resObject,
	"GetObjectVersionAcl": resObject, "GetObjectVersionAttributes": resObject,
	"GetObjectVersionForReplication": resObject, "GetObjectVersionTagging": resObject,
	"GetObjectVersionTorrent": resObject, "InitiateReplication": resObject,
	"ListMultipartUploadParts": resObject, "ObjectOwnerOverrideToBucketOwner": resObject,
	"PutObject": resObject, "PutObjectAcl": resObject, "PutObjectLegalHold": resObject,
	"PutObjectRetention": resObject, "PutObjectTagging": resObject, "PutObjectVersionAcl": resObject,
	"PutObjectVersionTagging": resObject, "ReplicateDelete": resObject, "ReplicateObject": resObject,
	"ReplicateTags": resObject, "RestoreObject": resObject, "RenameObject": resObject,

	// Buckets.
	"CreateBucket": resBucket, "DeleteBucket": resBucket, "DeleteBucketPolicy": resBucket,
	"DeleteBucketWebsite": resBucket, "DeleteBucketOwnershipControls": resBucket,
	"GetAccelerateConfiguration": resBucket, "GetAnalyticsConfiguration": resBucket,
	"GetBucketAcl": resBucket, "GetBucketCORS": resBucket, "GetBucketLocation": resBucket,
	"GetBucketLogging": resBucket, "GetBucketNotification": resBucket,
	"GetBucketObjectLockConfiguration": resBucket, "GetBucketOwnershipControls": resBucket,
	"GetBucketPolicy": resBucket, "GetBucketPolicyStatus": resBucket,
	"GetBucketPublicAccessBlock": resBucket, "GetBucketRequestPayment": resBucket,
	"GetBucketTagging": resBucket, "GetBucketVersioning": resBucket, "GetBucketWebsite": resBucket,
	"GetEncryptionConfiguration": resBucket, "GetIntelligentTieringConfiguration": resBucket,
	"GetInventoryConfiguration": resBucket, "GetLifecycleConfiguration": resBucket,
	"GetMetricsConfiguration": resBucket, "GetReplicationConfiguration": resBucket,
	"GetBucketMetadataTableConfiguration": resBucket, "CreateBucketMetadataTableConfiguration": resBucket,
	"DeleteBucketMetadataTableConfiguration": resBucket, "GetBucketAbac": resBucket, "PutBucketAbac": resBucket,
	"ListBucket": resBucket, "ListBucketMultipartUploads": resBucket, "ListBucketVersions": resBucket,
	"PutAccelerateConfiguration": resBucket, "PutAnalyticsConfiguration": resBucket,
	"PutBucketAcl": resBucket, "PutBucketCORS": resBucket, "PutBucketLogging": resBucket,
	"PutBucketNotification": resBucket, "PutBucketObjectLockConfiguration": resBucket,
	"PutBucketOwnershipControls": resBucket, "PutBucketPolicy": resBucket,
	"PutBucketPublicAccessBlock": resBucket, "PutBucketRequestPayment": resBucket,
	"PutBucketTagging": resBucket, "PutBucketVersioning": resBucket, "PutBucketWebsite": resBucket,
	"PutEncryptionConfiguration": resBucket, "PutIntelligentTieringConfiguration": resBucket,
	"PutInventoryConfiguration": resBucket, "PutLifecycleConfiguration": resBucket,
	"PutMetricsConfiguration": resBucket, "PutReplicationConfiguration": resBucket,

	// Account, jobs, access points, multi-region access points, Storage
	// Lens, Access Grants, directory buckets.
	"ListAllMyBuckets": resOther, "GetAccountPublicAccessBlock": resOther,
	"PutAccountPublicAccessBlock": resOther, "CreateJob": resOther, "DescribeJob": resOther,
	"ListJobs": resOther, "UpdateJobPriority": resOther, "UpdateJobStatus": resOther,
	"PutJobTagging": resOther, "GetJobTagging": resOther, "DeleteJobTagging": resOther,
	"CreateAccessPoint": resOther, "DeleteAccessPoint": resOther, "GetAccessPoint": resOther,
	"ListAccessPoints": resOther, "GetAccessPointPolicy": resOther, "PutAccessPointPolicy": resOther,
	"DeleteAccessPointPolicy": resOther, "GetAccessPointPolicyStatus": resOther,
	"CreateAccessPointForObjectLambda": resOther, "DeleteAccessPointForObjectLambda": resOther,
	"GetAccessPointForObjectLambda": resOther, "ListAccessPointsForObjectLambda": resOther,
	"GetAccessPointConfigurationForObjectLambda": resOther,
	"PutAccessPointConfigurationForObjectLambda": resOther,
	"GetAccessPointPolicyForObjectLambda":        resOther, "PutAccessPointPolicyForObjectLambda": resOther,
	"DeleteAccessPointPolicyForObjectLambda": resOther, "GetAccessPointPolicyStatusForObjectLambda": resOther,
	"CreateMultiRegionAccessPoint": resOther, "DeleteMultiRegionAccessPoint": resOther,
	"DescribeMultiRegionAccessPointOperation": resOther, "GetMultiRegionAccessPoint": resOther,
	"GetMultiRegionAccessPointPolicy": resOther, "GetMultiRegionAccessPointPolicyStatus": resOther,
	"GetMultiRegionAccessPointRoutes": resOther, "ListMultiRegionAccessPoints": resOther,
	"PutMultiRegionAccessPointPolicy": resOther, "SubmitMultiRegionAccessPointRoutes": resOther,
	"GetStorageLensConfiguration": resOther, "PutStorageLensConfiguration": resOther,
	"DeleteStorageLensConfiguration": resOther, "ListStorageLensConfigurations": resOther,
	"GetStorageLensConfigurationTagging": resOther, "PutStorageLensConfigurationTagging": resOther,
	"DeleteStorageLensConfigurationTagging": resOther, "GetStorageLensDashboard": resOther,
	"CreateStorageLensGroup": resOther, "DeleteStorageLensGroup": resOther, "GetStorageLensGroup": resOther,
	"ListStorageLensGroups": resOther, "UpdateStorageLensGroup": resOther,
	"CreateAccessGrant": resOther, "CreateAccessGrantsInstance": resOther, "CreateAccessGrantsLocation": resOther,
	"GetDataAccess": resOther, "ListAccessGrants": resOther, "ListCallerAccessGrants": resOther,
	"CreateSession": resOther, "ListTagsForResource": resOther, "TagResource": resOther,
	"UntagResource": resOther, "PutAccessPointPublicAccessBlock": resOther,
}

var s3ActionNames = func() []string {
	out := make([]string, 0, len(s3Actions))
	for a := range s3Actions {
		out = append(out, "s3:"+a)
	}
	slices.Sort(out)
	return out
}()

// s3ActionLower maps lower-case "s3:name" to the action's resource type.
var s3ActionLower = func() map[string]string {
	m := make(map[string]string, len(s3Actions))
	for a, t := range s3Actions {
		m["s3:"+strings.ToLower(a)] = t
	}
	return m
}()

// S3ActionExists reports whether action ("s3:GetObject", any case) is an
// S3 action.
func S3ActionExists(action string) bool {
	_, ok := s3ActionLower[strings.ToLower(action)]
	return ok
}

// s3ConditionKeys are S3's service-specific condition keys (canonical
// form); keys that end in '/' take a tag key after it.
var s3ConditionKeys = map[string]bool{
	"s3:prefix": true, "s3:delimiter": true, "s3:max-keys": true, "s3:versionid": true,
	"s3:x-amz-acl": true, "s3:x-amz-grant-read": true, "s3:x-amz-grant-write": true,
	"s3:x-amz-grant-read-acp": true, "s3:x-amz-grant-write-acp": true, "s3:x-amz-grant-full-control": true,
	"s3:x-amz-copy-source": true, "s3:x-amz-metadata-directive": true,
	"s3:x-amz-server-side-encryption": true, "s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	"s3:x-amz-server-side-encryption-customer-algorithm": true, "s3:x-amz-storage-class": true,
	"s3:x-amz-website-redirect-location": true, "s3:x-amz-content-sha256": true,
	"s3:x-amz-object-ownership": true, "s3:locationconstraint": true,
	"s3:existingobjecttag/": true, "s3:requestobjecttag/": true, "s3:requestobjecttagkeys": true,
	"s3:object-lock-mode": true, "s3:object-lock-retain-until-date": true,
	"s3:object-lock-remaining-retention-days": true, "s3:object-lock-legal-hold": true,
	"s3:signatureversion": true, "s3:signatureage": true, "s3:authtype": true, "s3:tlsversion": true,
	"s3:dataaccesspointarn": true, "s3:dataaccesspointaccount": true, "s3:accesspointnetworkorigin": true,
	"s3:resourceaccount": true, "s3:if-match": true, "s3:if-none-match": true,
	"s3:existingjobpriority": true, "s3:existingjoboperation": true, "s3:jobsuspendedcause": true,
	"s3:requestjobpriority": true, "s3:requestjoboperation": true,
	"s3:inventoryaccessibleoptionalfields": true, "s3:accessgrantsinstancearn": true,
	"s3:objectcreationoperation": true, "s3:x-amz-checksum-algorithm": true,
	"s3:bucketconfigurationtype": true,
}

// globalConditionKeys are IAM's global condition keys (canonical form);
// keys that end in '/' take a tag key after it.
var globalConditionKeys = map[string]bool{
	"aws:calledvia": true, "aws:calledviafirst": true, "aws:calledvialast": true, "aws:currenttime": true,
	"aws:epochtime": true, "aws:federatedprovider": true, "aws:multifactorauthage": true,
	"aws:multifactorauthpresent": true, "aws:principalaccount": true, "aws:principalarn": true,
	"aws:principalisawsservice": true, "aws:principalorgid": true, "aws:principalorgpaths": true,
	"aws:principalservicename": true, "aws:principalservicenameslist": true, "aws:principaltag/": true,
	"aws:principaltype": true, "aws:referer": true, "aws:requestedregion": true, "aws:requesttag/": true,
	"aws:resourceaccount": true, "aws:resourceorgid": true, "aws:resourceorgpaths": true,
	"aws:resourcetag/": true, "aws:securetransport": true, "aws:sourceaccount": true, "aws:sourcearn": true,
	"aws:sourceidentity": true, "aws:sourceip": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true,
	"aws:sourceowner": true, "aws:sourcevpc": true, "aws:sourcevpce": true, "aws:sourcevpcarn": true,
	"aws:tagkeys": true, "aws:tokenissuetime": true, "aws:useragent": true, "aws:userid": true,
	"aws:username": true, "aws:viaawsservice": true, "aws:vpcsourceip": true,
	"aws:ec2instancesourcevpc": true, "aws:ec2instancesourceprivateipv4": true, "aws:vpceaccount": true,
	"aws:vpceorgid": true, "aws:vpceorgpaths": true, "aws:assumedroot": true,
}

// validS3ConditionKey accepts IAM's global keys and S3's own.
func validS3ConditionKey(key string) bool {
	known := s3ConditionKeys
	if strings.HasPrefix(key, "aws:") {
		known = globalConditionKeys
	}
	if name, tag, ok := strings.Cut(key, "/"); ok {
		return tag != "" && known[name+"/"]
	}
	return known[key]
}

// s3KeyActions lists, for the S3 condition keys whose applicability is
// checked, the actions whose requests carry them.
var s3KeyActions = map[string][]string{
	"s3:prefix":                   {"listbucket", "listbucketversions"},
	"s3:delimiter":                {"listbucket", "listbucketversions"},
	"s3:max-keys":                 {"listbucket", "listbucketversions"},
	"s3:x-amz-acl":                {"putobject", "putobjectacl", "putobjectversionacl", "putbucketacl", "createbucket"},
	"s3:x-amz-grant-read":         {"putobject", "putobjectacl", "putobjectversionacl", "putbucketacl", "createbucket"},
	"s3:x-amz-grant-write":        {"putobject", "putobjectacl", "putobjectversionacl", "putbucketacl", "createbucket"},
	"s3:x-amz-grant-read-acp":     {"putobject", "putobjectacl", "putobjectversionacl", "putbucketacl", "createbucket"},
	"s3:x-amz-grant-write-acp":    {"putobject", "putobjectacl", "putobjectversionacl", "putbucketacl", "createbucket"},
	"s3:x-amz-grant-full-control": {"putobject", "putobjectacl", "putobjectversionacl", "putbucketacl", "createbucket"},
	"s3:x-amz-copy-source":        {"putobject"},
	"s3:x-amz-metadata-directive": {"putobject"},
	"s3:requestobjecttagkeys":     {"putobject", "putobjecttagging", "putobjectversiontagging"},
	"s3:requestobjecttag/":        {"putobject", "putobjecttagging", "putobjectversiontagging"},
	"s3:locationconstraint":       {"createbucket"},
	"s3:x-amz-object-ownership":   {"createbucket"},
}

// s3KeyAppliesTo reports whether requests for action can carry key.
func s3KeyAppliesTo(key, action string) bool {
	svc, name, ok := strings.Cut(strings.ToLower(action), ":")
	if !ok || svc != "s3" {
		return true
	}
	lookup := key
	if n, _, ok := strings.Cut(key, "/"); ok {
		lookup = n + "/"
	}
	switch {
	case lookup == "s3:existingobjecttag/":
		return s3ActionLower["s3:"+name] == resObject && name != "putobject"
	case lookup == "s3:versionid":
		return s3ActionLower["s3:"+name] == resObject && (strings.Contains(name, "version") ||
			strings.Contains(name, "retention") || strings.Contains(name, "legalhold") || name == "restoreobject")
	}
	actions, checked := s3KeyActions[lookup]
	return !checked || slices.Contains(actions, name)
}

// MaxBucketPolicySize is the largest bucket policy S3 accepts (20 KB).
const MaxBucketPolicySize = 20 << 10

// BucketPolicyOptions returns the ParseOptions of an S3 bucket policy for
// the named bucket. validPrincipal, if not nil, checks principals
// further (that a user named by ARN exists, say).
func BucketPolicyOptions(bucket string, validPrincipal func(kind, value string) bool) ParseOptions {
	return ParseOptions{
		MaxSize:          MaxBucketPolicySize,
		RequirePrincipal: true,
		RequireResource:  true,
		ValidAction: func(a string) bool {
			return S3ActionExists(a)
		},
		KnownActions: s3ActionNames,
		ValidResource: func(pattern string) bool {
			_, ok := bucketPattern(pattern, bucket)
			return ok
		},
		AppliesTo: func(action, pattern string) bool {
			t := s3ActionLower[strings.ToLower(action)]
			rest, ok := bucketPattern(pattern, bucket)
			if !ok {
				return false
			}
			switch t {
			case resBucket:
				return Match(pattern, "arn:aws:s3:::"+bucket)
			case resObject:
				return strings.Contains(rest, "/") || Match(pattern, "arn:aws:s3:::"+bucket+"/x")
			}
			return false
		},
		ValidPrincipal:    validPrincipal,
		ValidConditionKey: validS3ConditionKey,
		KeyAppliesTo:      s3KeyAppliesTo,
	}
}

// bucketPattern checks that a Resource pattern of a bucket policy names
// the bucket or objects in it, returning the part after "arn:aws:s3:::".
func bucketPattern(pattern, bucket string) (string, bool) {
	rest, ok := strings.CutPrefix(pattern, "arn:aws:s3:::")
	if !ok {
		return "", false
	}
	b, _, _ := strings.Cut(rest, "/")
	if b == "" || !Match(b, bucket) {
		return "", false
	}
	return rest, true
}
