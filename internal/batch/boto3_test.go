package batch_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/server"
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

// boto3Lifecycle drives the lifecycle's other paths with boto3, on one
// job slot and a function that answers by key (slow/ keys succeed after
// a few milliseconds, bad/ keys fail permanently): pre-emption by a job
// of higher priority, the failure threshold, cancelling a running job, a
// manifest whose ETag does not match, a generated manifest written out,
// ListJobs pages and the errors of malformed requests.
const boto3Lifecycle = `
import os, time, uuid, json, boto3
from botocore.exceptions import ClientError

ep, acct, fn = os.environ["ENDPOINT"], "000000000000", os.environ["FN"]
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"])
s3 = boto3.client("s3", **kw)
ctl = boto3.client("s3control", **kw)
ctl.meta.events.register("before-sign.s3-control", lambda request, **_: setattr(request, "url", request.url.replace("://" + acct + ".", "://", 1)))

def code(fn, **args):
    try:
        fn(**args)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("no error from %s" % fn.__name__)

def manifest(key, rows):
    etag = s3.put_object(Bucket="data", Key=key, Body=("\n".join(rows) + "\n").encode())["ETag"].strip('"')
    return {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
            "Location": {"ObjectArn": "arn:aws:s3:::data/" + key, "ETag": etag}}

def create(prio=10, **spec):
    args = dict(AccountId=acct, ConfirmationRequired=False, Priority=prio, RoleArn="arn:aws:iam::000000000000:role/batch",
                Report={"Enabled": False}, ClientRequestToken=str(uuid.uuid4()),
                Operation={"LambdaInvoke": {"FunctionArn": fn, "InvocationSchemaVersion": "2.0", "UserArguments": {"from": "boto3"}}})
    args.update(spec)
    return ctl.create_job(**args)["JobId"]

def describe(job):
    return ctl.describe_job(AccountId=acct, JobId=job)["Job"]

def wait(job, *statuses, timeout=60):
    seen = set()
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = describe(job)
        seen.add(d["Status"])
        if d["Status"] in statuses:
            return d, seen
        time.sleep(0.01)
    raise AssertionError("job %s is %s, want %s" % (job, d["Status"], statuses))

def progressed(job, n):
    while True:
        p = describe(job)["ProgressSummary"]
        if p["NumberOfTasksSucceeded"] + p["NumberOfTasksFailed"] >= n:
            return
        time.sleep(0.01)

s3.create_bucket(Bucket="data")
s3.create_bucket(Bucket="rep")
s3.create_bucket(Bucket="gen")
created = []

# Pre-emption: the running low-priority job pauses for the other.
low = create(1, Manifest=manifest("low.csv", ["data,slow/%d" % i for i in range(800)]))
created.append(low)
progressed(low, 20)
high = create(5, Manifest=manifest("high.csv", ["data,slow/h%d" % i for i in range(40)]))
created.append(high)
d, seen_low = wait(low, "Paused", "Complete")
assert d["Status"] == "Paused", "the low-priority job completed before it was pre-empted"
d, _ = wait(high, "Complete")
assert d["ProgressSummary"]["NumberOfTasksSucceeded"] == 40
d, seen = wait(low, "Complete")
assert d["ProgressSummary"]["NumberOfTasksSucceeded"] == 800 and d["ProgressSummary"]["Timers"]["ElapsedTimeInActiveSeconds"] >= 0, d

# The failure threshold: more than half of at least 1,000 tasks failed.
bad = create(Manifest=manifest("bad.csv", ["data,bad/%d" % i for i in range(1300)]), Report={"Bucket": "arn:aws:s3:::rep",
    "Format": "Report_CSV_20180820", "Enabled": True, "Prefix": "bad", "ReportScope": "FailedTasksOnly"})
created.append(bad)
d, _ = wait(bad, "Failed", "Complete")
assert d["Status"] == "Failed" and d["FailureReasons"][0]["FailureCode"] == "TaskFailureThresholdExceeded", d
p = d["ProgressSummary"]
assert p["NumberOfTasksFailed"] >= 1000 and p["NumberOfTasksSucceeded"] == 0, p
m = json.loads(s3.get_object(Bucket="rep", Key="bad/job-%s/manifest.json" % bad)["Body"].read())
assert [r["TaskExecutionStatus"] for r in m["Results"]] == ["failed"], m
rows = s3.get_object(Bucket="rep", Key=m["Results"][0]["Key"])["Body"].read().decode().splitlines()
assert len(rows) == p["NumberOfTasksFailed"] and rows[0].endswith(",failed,200,PermanentFailure,no good"), rows[:2]

# Cancelling a running job: Cancelling, then Cancelled with a report of
# the tasks that ran.
many = create(Manifest=manifest("many.csv", ["data,slow/m%d" % i for i in range(5000)]), Report={"Bucket": "arn:aws:s3:::rep",
    "Format": "Report_CSV_20180820", "Enabled": True, "Prefix": "many", "ReportScope": "AllTasks"})
created.append(many)
progressed(many, 10)
r = ctl.update_job_status(AccountId=acct, JobId=many, RequestedJobStatus="Cancelled", StatusUpdateReason="enough")
assert r["Status"] == "Cancelling", r
d, _ = wait(many, "Cancelled")
done = d["ProgressSummary"]["NumberOfTasksSucceeded"]
assert 0 < done < 5000 and d["StatusUpdateReason"] == "enough" and "TerminationDate" in d, d
m = json.loads(s3.get_object(Bucket="rep", Key="many/job-%s/manifest.json" % many)["Body"].read())
rows = s3.get_object(Bucket="rep", Key=m["Results"][0]["Key"])["Body"].read().decode().splitlines()
assert len(rows) == done, (len(rows), done)
assert code(ctl.update_job_status, AccountId=acct, JobId=many, RequestedJobStatus="Ready") == ("JobStatusException", 409)

# A manifest whose ETag is not the object's fails the job with a reason.
wrong = manifest("wrong.csv", ["data,slow/x"])
wrong["Location"]["ETag"] = "0123456789abcdef0123456789abcdef"
w = create(Manifest=wrong)
created.append(w)
d, _ = wait(w, "Failed")
assert d["FailureReasons"][0]["FailureCode"] == "ManifestETagMismatch", d

# A generated manifest, written out as S3InventoryReport_CSV_20211130.
for k in ["slow/g1", "slow/g2", "other"]:
    s3.put_object(Bucket="data", Key=k, Body=b"x")
g = create(ManifestGenerator={"S3JobManifestGenerator": {"SourceBucket": "arn:aws:s3:::data", "EnableManifestOutput": True,
    "ManifestOutputLocation": {"Bucket": "arn:aws:s3:::gen", "ManifestPrefix": "out", "ManifestFormat": "S3InventoryReport_CSV_20211130"},
    "Filter": {"KeyNameConstraint": {"MatchAnyPrefix": ["slow/g"]}}}})
created.append(g)
d, _ = wait(g, "Complete", "Failed")
assert d["Status"] == "Complete" and d["ProgressSummary"]["TotalNumberOfTasks"] == 2, d
gm = d["GeneratedManifestDescriptor"]
assert gm["Format"] == "S3InventoryReport_CSV_20211130" and gm["Location"]["ObjectArn"] == "arn:aws:s3:::gen/out/job-%s/manifest.json" % g, gm
inv = json.loads(s3.get_object(Bucket="gen", Key="out/job-%s/manifest.json" % g)["Body"].read())
assert inv["version"] == "2021-11-30" and inv["fileFormat"] == "CSV" and len(inv["files"]) == 1, inv

# ListJobs pages, newest first.
listed, token = [], None
while True:
    args = dict(AccountId=acct, MaxResults=2)
    if token:
        args["NextToken"] = token
    out = ctl.list_jobs(**args)
    assert len(out["Jobs"]) <= 2
    listed += [j["JobId"] for j in out["Jobs"]]
    token = out.get("NextToken")
    if not token:
        break
assert listed == list(reversed(created)), (listed, created)
failed = [j["JobId"] for j in ctl.list_jobs(AccountId=acct, JobStatuses=["Failed"])["Jobs"]]
assert sorted(failed) == sorted([bad, w]), failed

# Malformed requests.
assert code(ctl.update_job_status, AccountId=acct, JobId=low, RequestedJobStatus="Active") == ("BadRequestException", 400)
assert code(ctl.create_job, AccountId=acct, ConfirmationRequired=False, Priority=1, RoleArn="arn:aws:iam::000000000000:role/batch",
    Report={"Enabled": False}, ClientRequestToken="t", Operation={"S3DeleteObjectTagging": {}}) == ("BadRequestException", 400)
assert code(ctl.list_jobs, AccountId=acct, JobStatuses=["Sleeping"]) == ("InvalidRequestException", 400)
print("OK")
`

// TestBoto3Lifecycle runs boto3Lifecycle.
func TestBoto3Lifecycle(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed")
	}
	engine := &fakeEngine{invoke: func(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
		var ev events.S3BatchJobEventV2
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		key := ev.Tasks[0].S3Key
		code, msg := "Succeeded", "ok "+ev.Job.UserArguments["from"]
		if strings.HasPrefix(key, "bad/") {
			code, msg = "PermanentFailure", "no good"
		} else {
			time.Sleep(3 * time.Millisecond)
		}
		raw, _ := json.Marshal(events.S3BatchJobResponse{InvocationSchemaVersion: "2.0", InvocationID: ev.InvocationID,
			Results: []events.S3BatchJobResult{{TaskID: ev.Tasks[0].TaskID, ResultCode: code, ResultString: msg}}})
		return &lambda.Result{Payload: raw}, nil
	}}
	e := withEngine(t, engine, func(c *server.Config) {
		c.Batch.MaxActiveJobs = 1
		c.Batch.TaskConcurrency = 4
	})
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	cmd := exec.Command("python3", "-c", boto3Lifecycle)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ENDPOINT="+e.n.Endpoint, "KEY="+servertest.AccessKeyID, "SECRET="+servertest.SecretAccessKey, "FN="+arn,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "OK\n" {
		t.Fatalf("boto3 script: %v\n%s", err, out)
	}
}
