"""An S3 Batch Operations function in Python: for each task of a
LambdaInvoke job it reads the object, computes its SHA-256 and records it
as an object tag (keeping the object's other tags), answering with a
result code Batch Operations understands.

Works with both invocation schemas: 1.0 (s3BucketArn) and 2.0 (s3Bucket,
job.userArguments). With schema 2.0 the user argument "tagKey" names the
tag (default "sha256").

Handler: checksum_tagger.handler. Create a job with, for example:

    sluice job create --manifest s3://bucket/manifest.csv --invoke checksum-tagger \
      --schema 2.0 --arg tagKey=content-sha256 --report s3://reports/checksums
"""
import hashlib
from urllib import parse

import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3")

# Errors worth a redrive: Batch Operations runs the task again later.
TEMPORARY = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}


def handler(event, context):
    args = event["job"].get("userArguments") or {}
    tag_key = args.get("tagKey", "sha256")
    results = [run_task(task, tag_key) for task in event["tasks"]]
    return {
        "invocationSchemaVersion": event["invocationSchemaVersion"],
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event["invocationId"],
        "results": results,
    }


def run_task(task, tag_key):
    bucket = task.get("s3Bucket") or task["s3BucketArn"].split(":::", 1)[1]
    key = parse.unquote(task["s3Key"])  # manifest keys are URL-encoded
    version = {"VersionId": task["s3VersionId"]} if task.get("s3VersionId") else {}
    try:
        digest = hashlib.sha256()
        body = s3.get_object(Bucket=bucket, Key=key, **version)["Body"]
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
        tags = s3.get_object_tagging(Bucket=bucket, Key=key, **version)["TagSet"]
        tags = [t for t in tags if t["Key"] != tag_key]
        tags.append({"Key": tag_key, "Value": digest.hexdigest()})
        s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tags}, **version)
        code, message = "Succeeded", "%s=%s" % (tag_key, digest.hexdigest())
    except ClientError as e:
        err = e.response["Error"]
        code = "TemporaryFailure" if err["Code"] in TEMPORARY else "PermanentFailure"
        message = "%s: %s" % (err["Code"], err.get("Message", ""))
    return {"taskId": task["taskId"], "resultCode": code, "resultString": message}
