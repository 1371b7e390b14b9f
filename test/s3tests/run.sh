#!/usr/bin/env bash
# Runs the ceph/s3-tests compatibility suite against a fresh sluice server.
#
#   test/s3tests/run.sh /path/to/s3-tests-checkout [extra pytest args...]
#
# s3-tests' code is not part of this repository: pass the path of a checkout
# (https://github.com/ceph/s3-tests). The script builds sluice (or uses
# $SLUICE_BIN), starts it on 127.0.0.1:$PORT (default 9391) with a fresh data
# directory, writes the s3-tests configuration, runs pytest on
# s3tests/functional/test_s3.py with the selection below, and prints a
# summary. Results go to $OUT (default: a new temporary directory):
# junit.xml, pytest.log, failures.txt, s3tests.conf and sluice.log.
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

# Features sluice does not provide, and tests that describe Ceph rather than
# S3 (fails_on_aws). Everything else in test_s3.py is selected; tests that
# need a second user are deselected below.
MARKERS='not fails_on_aws and not appendobject and not bucket_policy and not bucket_encryption and not encryption and not sse_s3 and not bucket_logging and not bucket_logging_cleanup and not fails_without_logging_rollover and not lifecycle and not lifecycle_expiration and not lifecycle_transition and not cloud_transition and not cloud_restore and not target_by_bucket and not object_ownership and not storage_class and not s3select and not s3website and not sns and not iam_user and not iam_account and not iam_role and not iam_tenant and not iam_cross_account and not test_of_sts and not webidentity_test'

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
OWNER_ID=$(printf 'sluice:%s:' "$ACCOUNT" | sha256sum | cut -d' ' -f1)

# s3-tests wants a main, an alt and a tenant user and IAM identities. sluice
# has only the root credentials for now, so every section uses them; tests
# that depend on the users being different are deselected.
cat >"$OUT/s3tests.conf" <<EOF
[DEFAULT]
host = 127.0.0.1
port = $PORT
is_secure = False
ssl_verify = False

[fixtures]
bucket prefix = s3t-{random}-

[s3 main]
display_name = sluice
user_id = $OWNER_ID
email = root@sluice.invalid
api_name =
access_key = $KEY
secret_key = $SECRET

[s3 alt]
display_name = sluice
user_id = $OWNER_ID
email = root@sluice.invalid
access_key = $KEY
secret_key = $SECRET

[s3 tenant]
display_name = sluice
user_id = $OWNER_ID
email = root@sluice.invalid
access_key = $KEY
secret_key = $SECRET
tenant = none

[iam]
display_name = sluice
user_id = $OWNER_ID
email = root@sluice.invalid
access_key = $KEY
secret_key = $SECRET

[iam root]
user_id = $OWNER_ID
email = root@sluice.invalid
access_key = $KEY
secret_key = $SECRET

[iam alt root]
user_id = $OWNER_ID
email = root@sluice.invalid
access_key = $KEY
secret_key = $SECRET
EOF

DATA=$OUT/data
rm -rf "$DATA"
SLUICE_ACCESS_KEY_ID=$KEY SLUICE_SECRET_ACCESS_KEY=$SECRET \
	"$SLUICE_BIN" server --addr "127.0.0.1:$PORT" --data "$DATA" --log-level warn >"$OUT/sluice.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	kill -0 $SPID 2>/dev/null || { cat "$OUT/sluice.log" >&2; exit 1; }
	sleep 0.1
done

# Tests that use a second identity (alt or tenant user, IAM, STS), directly
# or through a helper of test_s3.py, cannot pass with one user.
"$PY" - "$S3T/s3tests/functional/test_s3.py" >"$OUT/deselect.txt" <<'PYEOF'
import ast, sys
path = sys.argv[1]
tree = ast.parse(open(path).read())
second = lambda n: (n.startswith(('get_alt_', 'get_tenant_', 'get_v2_tenant', 'get_iam_', 'get_sts_'))
                    or n in ('iam_root', 'iam_alt_root', 'alt_user_id', 'alt_display_name'))
funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
direct = {}
for name, fn in funcs.items():
    names = {a.arg for a in fn.args.args}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    direct[name] = names
memo = {}
def uses(name, seen=()):
    if name in memo:
        return memo[name]
    r = False
    for n in direct[name]:
        if second(n) or (n in funcs and n not in seen and n != name and uses(n, seen + (name,))):
            r = True
            break
    memo[name] = r
    return r
for name in funcs:
    if name.startswith('test_') and uses(name):
        print('s3tests/functional/test_s3.py::' + name)
PYEOF
DESELECT=()
while read -r t; do DESELECT+=(--deselect "$t"); done <"$OUT/deselect.txt"

cd "$S3T"
echo "sluice: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo "+changes")"
echo "s3-tests: $(git -C "$S3T" rev-parse HEAD 2>/dev/null || echo "(not a git checkout)")"
echo "python: $PY ($("$PY" -c 'import boto3, botocore; print("boto3", boto3.__version__, "botocore", botocore.__version__)'))"
echo "markers: $MARKERS"
echo "deselected (second user): $(wc -l <"$OUT/deselect.txt")"
echo "results: $OUT"
set +e
S3TEST_CONF=$OUT/s3tests.conf AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_CA_BUNDLE= \
	"$PY" -c "import sys; sys.path.append('/usr/lib/python3/dist-packages'); import pytest; sys.exit(pytest.main(sys.argv[1:]))" \
	-p no:cacheprovider -q -rfE --tb=line -o junit_family=xunit1 --junitxml="$OUT/junit.xml" \
	-m "$MARKERS" "${DESELECT[@]}" s3tests/functional/test_s3.py "$@" >"$OUT/pytest.log" 2>&1
rc=$?
set -e

# One line per failing test: name, then the first line of its failure.
"$PY" - "$OUT/junit.xml" >"$OUT/failures.txt" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for tc in root.iter('testcase'):
    for tag in ('failure', 'error'):
        e = tc.find(tag)
        if e is not None:
            msg = (e.get('message') or e.text or '').strip().splitlines()
            print(tc.get('name'), tag.upper(), (msg[0] if msg else '')[:200])
PYEOF
tail -1 "$OUT/pytest.log"
echo "failures: $OUT/failures.txt"
# pytest: 0 all passed, 1 some failed; anything else is a harness problem.
[ $rc -le 1 ]
