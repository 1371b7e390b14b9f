#!/usr/bin/env bash
# Runs the ceph/s3-tests compatibility suite against a fresh sluice server.
#
#   test/s3tests/run.sh /path/to/s3-tests-checkout [extra pytest args...]
#
# s3-tests' code is not part of this repository: pass the path of a checkout
# (https://github.com/ceph/s3-tests). The script builds sluice (or uses
# $SLUICE_BIN), starts it on 127.0.0.1:$PORT (default 9391) with a fresh data
# directory, creates the suite's second and third users through sluice's IAM
# API, writes the s3-tests configuration, runs pytest on
# s3tests/functional/test_s3.py and test_headers.py with the selection below,
# and prints a summary. Results go to $OUT (default: a new temporary
# directory): junit.xml, pytest.log, failures.txt, s3-tests.results (the
# results file of test/compat/expect), s3tests.conf and sluice.log.
#
# Python: the suite needs boto3, pytest, munch, isodate, pytz, requests and
# dateutil. The first of $PYTHON, python3 and /usr/bin/python3 that has them
# (Debian's /usr/lib/python3/dist-packages appended to its path, so that
# Debian's python3-pytest, -munch, -isodate and -tz fill what pip cannot) is
# used: apt-get install python3-pytest python3-munch python3-isodate python3-tz
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1/s3tests/functional/test_s3.py" ]; then
	echo "usage: $0 S3_TESTS_CHECKOUT [pytest args...]" >&2
	exit 2
fi
S3T=$(cd "$1" && pwd)
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${PORT:-9391}
OUT=${OUT:-$(mktemp -d /tmp/sluice-s3tests.XXXXXX)}
mkdir -p "$OUT"
ACCOUNT=000000000000

# The selection of the project's conformance issue: every test of test_s3.py
# and test_headers.py except tests of Ceph-only behaviour (fails_on_aws) and of
# the background features no S3 test client can observe quickly (lifecycle,
# bucket logging, cloud transition/restore) and S3 Select. Tests of features
# sluice lacks stay selected: they measure the gap.
MARKERS='not fails_on_aws and not lifecycle and not bucket_logging and not cloud_transition and not cloud_restore and not s3select'
FILES=(s3tests/functional/test_s3.py s3tests/functional/test_headers.py)

find_python() {
	local p
	for p in ${PYTHON:-} python3 /usr/bin/python3; do
		command -v "$p" >/dev/null 2>&1 || continue
		if "$p" -c "import sys; sys.path.append('/usr/lib/python3/dist-packages'); import boto3, pytest, munch, isodate, pytz, requests, dateutil" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
PY=$(find_python) || {
	echo "no python3 with boto3, pytest, munch, isodate, pytz, requests, dateutil;" >&2
	echo "try: apt-get install python3-pytest python3-munch python3-isodate python3-tz python3-boto3" >&2
	exit 2
}

if [ -z "${SLUICE_BIN:-}" ]; then
	SLUICE_BIN=$OUT/sluice
	(cd "$ROOT" && go build -o "$SLUICE_BIN" ./cmd/sluice)
fi

KEY=AKIAS3TESTS$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
SECRET=$(od -An -N30 -tx1 /dev/urandom | tr -d ' \n')

DATA=$OUT/data
rm -rf "$DATA"
SLUICE_ACCESS_KEY_ID=$KEY SLUICE_SECRET_ACCESS_KEY=$SECRET \
	"$SLUICE_BIN" server --addr "127.0.0.1:$PORT" --data "$DATA" --account-id "$ACCOUNT" \
	--legacy-bucket-defaults --log-level warn >"$OUT/sluice.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	kill -0 $SPID 2>/dev/null || { cat "$OUT/sluice.log" >&2; exit 1; }
	sleep 0.1
done

# --legacy-bucket-defaults: s3-tests creates buckets without
# ObjectOwnership and then sets public ACLs and policies on them, which
# S3's defaults since April 2023 (BucketOwnerEnforced, Block Public Access)
# refuse; the suite was written against the earlier defaults.
#
# s3-tests wants distinct identities: main (the account root here), alt
# (another user that must not reach main's buckets without a grant), tenant
# (in Ceph a user of another tenant; here a third IAM user of the account:
# sluice has no tenants, so the tenant name is only a label and the tests
# that address "tenant:bucket" cannot pass), iam (a user for the IAM/STS
# suites, which test_s3.py only touches in its teardown), iam root (must be
# an account root: the root again) and iam alt root (the root of a second
# account, which sluice cannot provide: the alt user stands in, and the
# fixture that needs it skips). The root creates the users through sluice's
# IAM API; each identity's canonical ID and display name are read back from
# ListBuckets, as sluice reports them.
S3TEST_CONF=$OUT/s3tests.conf ENDPOINT="http://127.0.0.1:$PORT" KEY=$KEY SECRET=$SECRET ACCOUNT=$ACCOUNT \
	AWS_CA_BUNDLE= "$PY" - <<'PYEOF'
import os, boto3
from botocore.config import Config

ep, key, secret = os.environ['ENDPOINT'], os.environ['KEY'], os.environ['SECRET']
cfg = Config(retries={'max_attempts': 1})

def s3(k, s):
    return boto3.client('s3', endpoint_url=ep, aws_access_key_id=k, aws_secret_access_key=s,
                        region_name='us-east-1', config=cfg)

iam = boto3.client('iam', endpoint_url=ep, aws_access_key_id=key, aws_secret_access_key=secret,
                   region_name='us-east-1', config=cfg)
ids = {'main': (key, secret)}
for role in ('alt', 'tenant', 'iam'):
    name = 's3tests-' + role
    iam.create_user(UserName=name)
    k = iam.create_access_key(UserName=name)['AccessKey']
    ids[role] = (k['AccessKeyId'], k['SecretAccessKey'])

def owner(role):
    o = s3(*ids[role]).list_buckets()['Owner']
    return o['ID'], o.get('DisplayName', '')

# The SSE-KMS tests name two keys (kms_keyid, kms_keyid2). sluice's key
# service creates a well-formed key ID of its account on first use and
# reports keys by ARN, so the configured IDs are ARNs: what the tests send is
# what S3 answers.
def kms_key(n):
    return 'arn:aws:kms:us-east-1:%s:key/5e1ce000-0000-4000-8000-00000000000%d' % (os.environ['ACCOUNT'], n)

sections = [
    ('s3 main', 'main', 'sluice-root@example.com', {'api_name': '', 'kms_keyid': kms_key(1), 'kms_keyid2': kms_key(2)}),
    ('s3 alt', 'alt', 's3tests-alt@example.com', {}),
    ('s3 tenant', 'tenant', 's3tests-tenant@example.com', {'tenant': 's3tests-tenant'}),
    ('iam', 'iam', 's3tests-iam@example.com', {}),
    ('iam root', 'main', 'sluice-root@example.com', {}),
    ('iam alt root', 'alt', 's3tests-alt@example.com', {}),
]
with open(os.environ['S3TEST_CONF'], 'w') as f:
    f.write('[DEFAULT]\nhost = 127.0.0.1\nport = %s\nis_secure = False\nssl_verify = False\n\n'
            % ep.rsplit(':', 1)[1])
    f.write('[fixtures]\nbucket prefix = s3t-{random}-\n')
    for section, role, email, extra in sections:
        uid, display = owner(role)
        f.write('\n[%s]\n' % section)
        if not section.startswith('iam '):
            f.write('display_name = %s\n' % display)
        f.write('user_id = %s\nemail = %s\n' % (uid, email))
        for k, v in extra.items():
            f.write('%s = %s\n' % (k, v))
        f.write('access_key = %s\nsecret_key = %s\n' % ids[role])
PYEOF

cd "$S3T"
echo "sluice: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo "+changes")"
echo "s3-tests: $(git -C "$S3T" rev-parse HEAD 2>/dev/null || echo "(not a git checkout)")"
echo "python: $PY ($("$PY" -c 'import boto3, botocore; print("boto3", boto3.__version__, "botocore", botocore.__version__)'))"
echo "markers: $MARKERS"
echo "results: $OUT"
set +e
S3TEST_CONF=$OUT/s3tests.conf AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_CA_BUNDLE= \
	"$PY" -c "import sys; sys.path.append('/usr/lib/python3/dist-packages'); import pytest; sys.exit(pytest.main(sys.argv[1:]))" \
	-p no:cacheprovider -q -rfE --tb=line -o junit_family=xunit1 --junitxml="$OUT/junit.xml" \
	-m "$MARKERS" "${FILES[@]}" "$@" >"$OUT/pytest.log" 2>&1
rc=$?
set -e

# failures.txt: one line per failing test, its name, then the first line of
# its failure. s3-tests.results: one line per test in the format of
# test/compat/expect ("file::test<TAB>pass|fail|skip"), to compare with
# test/s3tests/s3-tests.expected:
#   go run ./test/compat/compare -expected test/s3tests/s3-tests.expected \
#     -results $OUT/s3-tests.results -suite s3-tests
"$PY" - "$OUT/junit.xml" "$OUT/failures.txt" "$OUT/s3-tests.results" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
with open(sys.argv[2], 'w') as failures, open(sys.argv[3], 'w') as results:
    for tc in root.iter('testcase'):
        name = tc.get('classname', '').rsplit('.', 1)[-1] + '.py::' + tc.get('name')
        status = 'pass'
        if tc.find('skipped') is not None:
            status = 'skip'
        for tag in ('failure', 'error'):
            e = tc.find(tag)
            if e is not None:
                status = 'fail'
                msg = (e.get('message') or e.text or '').strip().splitlines()
                failures.write('%s %s %s\n' % (name, tag.upper(), (msg[0] if msg else '')[:200]))
        results.write('%s\t%s\n' % (name, status))
PYEOF
tail -1 "$OUT/pytest.log"
echo "failures: $OUT/failures.txt"
echo "results file: $OUT/s3-tests.results"
# pytest: 0 all passed, 1 some failed; anything else is a harness problem.
[ $rc -le 1 ]
