package batch_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// boto3Script drives every jobs API call and error with boto3. botocore
// puts the account ID in front of the endpoint's host; the before-sign
// hook takes it off again, as a client without wildcard DNS must (see
// README).
const boto3Script = `
import os, time, uuid, hashlib, boto3
from botocore.exceptions import ClientError

ep, acct = os.environ["ENDPOINT"], "000000000000"
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"])
s3 = boto3.client("s3", **kw)
ctl = boto3.client("s3control", **kw)

def strip_account(request, **_):
    request.url = request.url.replace("://" + acct + ".", "://", 1)
ctl.meta.events.register("before-sign.s3-control", strip_account)

def code(fn, **args):
    try:
        fn(**args)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("no error from %s" % fn.__name__)

s3.create_bucket(Bucket="data")
s3.create_bucket(Bucket="rep")
for k in ["a", "b c"]:
    s3.put_object(Bucket="data", Key=k, Body=b"x")
etag = s3.put_object(Bucket="data", Key="m.csv", Body=b"data,a\ndata,b%20c\n")["ETag"].strip('"')

spec = dict(
    AccountId=acct, ConfirmationRequired=True, Priority=10, RoleArn="arn:aws:iam::000000000000:role/batch",
    Operation={"S3PutObjectTagging": {"TagSet": [{"Key": "from", "Value": "boto3"}]}},
    Manifest={"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
              "Location": {"ObjectArn": "arn:aws:s3:::data/m.csv", "ETag": etag}},
    Report={"Bucket": "arn:aws:s3:::rep", "Format": "Report_CSV_20180820", "Enabled": True, "Prefix": "r", "ReportScope": "AllTasks"},
    Description="from boto3", Tags=[{"Key": "team", "Value": "py"}],
)
token = str(uuid.uuid4())
job = ctl.create_job(ClientRequestToken=token, **spec)["JobId"]
assert ctl.create_job(ClientRequestToken=token, **spec)["JobId"] == job
assert code(ctl.create_job, ClientRequestToken=token, **dict(spec, Priority=11)) == ("IdempotencyException", 409)

for _ in range(200):
    d = ctl.describe_job(AccountId=acct, JobId=job)["Job"]
    if d["Status"] == "Suspended":
        break
    time.sleep(0.05)
assert d["Status"] == "Suspended", d["Status"]
assert d["ProgressSummary"]["TotalNumberOfTasks"] == 2
assert d["Description"] == "from boto3" and d["ConfirmationRequired"] is True and "SuspendedDate" in d
assert d["Operation"]["S3PutObjectTagging"]["TagSet"] == [{"Key": "from", "Value": "boto3"}]
assert d["Manifest"]["Spec"]["Fields"] == ["Bucket", "Key"]

assert ctl.update_job_priority(AccountId=acct, JobId=job, Priority=42)["Priority"] == 42
jobs = ctl.list_jobs(AccountId=acct, JobStatuses=["Suspended"], MaxResults=5)["Jobs"]
assert [j["JobId"] for j in jobs] == [job] and jobs[0]["Priority"] == 42 and jobs[0]["Operation"] == "S3PutObjectTagging"
assert ctl.list_jobs(AccountId=acct, JobStatuses=["Active"])["Jobs"] == []

assert ctl.get_job_tagging(AccountId=acct, JobId=job)["Tags"] == [{"Key": "team", "Value": "py"}]
ctl.put_job_tagging(AccountId=acct, JobId=job, Tags=[{"Key": "a", "Value": "1"}])
assert ctl.get_job_tagging(AccountId=acct, JobId=job)["Tags"] == [{"Key": "a", "Value": "1"}]
ctl.delete_job_tagging(AccountId=acct, JobId=job)
assert ctl.get_job_tagging(AccountId=acct, JobId=job)["Tags"] == []

r = ctl.update_job_status(AccountId=acct, JobId=job, RequestedJobStatus="Ready", StatusUpdateReason="go")
assert r["Status"] == "Ready" and r["StatusUpdateReason"] == "go", r
for _ in range(400):
    d = ctl.describe_job(AccountId=acct, JobId=job)["Job"]
    if d["Status"] == "Complete":
        break
    time.sleep(0.05)
assert d["Status"] == "Complete", d
assert d["ProgressSummary"]["NumberOfTasksSucceeded"] == 2 and "TerminationDate" in d
assert s3.get_object_tagging(Bucket="data", Key="b c")["TagSet"] == [{"Key": "from", "Value": "boto3"}]
assert code(ctl.update_job_status, AccountId=acct, JobId=job, RequestedJobStatus="Cancelled") == ("JobStatusException", 409)
assert code(ctl.update_job_status, AccountId=acct, JobId=job, RequestedJobStatus="Ready") == ("JobStatusException", 409)

# The report, as AWS lays it out.
import json
m = json.loads(s3.get_object(Bucket="rep", Key="r/job-%s/manifest.json" % job)["Body"].read())
assert m["Format"] == "Report_CSV_20180820" and len(m["Results"]) == 1, m
body = s3.get_object(Bucket="rep", Key=m["Results"][0]["Key"])["Body"].read()
assert hashlib.md5(body).hexdigest() == m["Results"][0]["MD5Checksum"]
assert sorted(body.decode().splitlines()) == ["data,a,,succeeded,200,,Successful", "data,b%20c,,succeeded,200,,Successful"], body

# Cancel a job that awaits confirmation.
job2 = ctl.create_job(ClientRequestToken=str(uuid.uuid4()), **spec)["JobId"]
for _ in range(200):
    if ctl.describe_job(AccountId=acct, JobId=job2)["Job"]["Status"] == "Suspended":
        break
    time.sleep(0.05)
assert ctl.update_job_status(AccountId=acct, JobId=job2, RequestedJobStatus="Cancelled")["Status"] == "Cancelled"

missing = "00000000-0000-4000-8000-000000000000"
assert code(ctl.describe_job, AccountId=acct, JobId=missing) == ("NotFoundException", 404)
assert code(ctl.update_job_priority, AccountId=acct, JobId=missing, Priority=1) == ("NotFoundException", 404)
assert code(ctl.get_job_tagging, AccountId=acct, JobId=missing) == ("NotFoundException", 404)
bad = dict(spec, Operation={"S3InitiateRestoreObject": {"ExpirationInDays": 1}})
assert code(ctl.create_job, ClientRequestToken=str(uuid.uuid4()), **bad) == ("BadRequestException", 400)
assert code(ctl.list_jobs, AccountId=acct, NextToken="???") == ("InvalidNextTokenException", 400)
too_many = [{"Key": "k%d" % i, "Value": ""} for i in range(51)]
assert code(ctl.put_job_tagging, AccountId=acct, JobId=job, Tags=too_many) == ("TooManyTagsException", 400)
print("OK")
`

func TestBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed")
	}
	e := newEnv(t)
	cmd := exec.Command("python3", "-c", boto3Script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ENDPOINT="+e.n.Endpoint, "KEY="+servertest.AccessKeyID, "SECRET="+servertest.SecretAccessKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "OK\n" {
		t.Fatalf("boto3 script: %v\n%s", err, out)
	}
}
