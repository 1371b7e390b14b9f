#!/usr/bin/env python3
"""Drives a running sluice server with boto3 and the aws CLI.

The server and credentials come from the environment:

    AWS_ENDPOINT_URL       http://127.0.0.1:PORT
    AWS_ACCESS_KEY_ID      root access key
    AWS_SECRET_ACCESS_KEY  root secret key
    AWS_REGION             region (us-east-1 if unset)

Run it with plain unittest (no pytest needed):

    python3 test/clients/test_boto3_cli.py [-v] [TestClass[.test_method] ...]

The boto3 tests use whichever boto3 the interpreter has; a current boto3
sends CRC checksums (as aws-chunked trailers) on every upload by default.
The aws CLI tests run the `aws` on PATH. TestOlderBoto3 runs the boto3 tests
once more under /usr/bin/python3 when that interpreter has a different
boto3 (Debian's python3-boto3), and is skipped otherwise.

SLUICE_CLIENTS_ONLY=boto3 limits a run to the boto3 tests (what the nested
run under the older boto3 uses).
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "")
ACCESS_KEY = os.environ.get("AWS_ACCESS_KEY_ID", "")
SECRET_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
ONLY = os.environ.get("SLUICE_CLIENTS_ONLY", "")

# Keys that tend to break signing, URL encoding or path handling.
HOSTILE_KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign",
    "percent%20literal%",
    "unicode/ünïcödé ✓ 日本語",
    "../dot-dot/escape",
    "double//slash",
    "trailing/",
    "semi;colon,comma=eq&amp?q#hash",
    "tilde~star*paren()quote'bang!",
]


def new_bucket_name(tag):
    return "pyc-%s-%s" % (tag, uuid.uuid4().hex[:12])


def client(**config):
    """An S3 client for the server; config entries go to botocore's Config."""
    cfg = Config(retries={"max_attempts": 1}, **config)
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=cfg,
    )


def error_code(exc):
    return exc.response.get("Error", {}).get("Code")


def nuke(c, bucket):
    """Deletes every version, delete marker and upload, then the bucket."""
    try:
        for page in c.get_paginator("list_object_versions").paginate(Bucket=bucket):
            objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objs:
                c.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
        for u in c.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            c.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
        c.delete_bucket(Bucket=bucket)
    except ClientError as e:
        if error_code(e) != "NoSuchBucket":
            raise


class BucketTest(unittest.TestCase):
    """A test case with its own bucket."""

    tag = "t"

    @classmethod
    def setUpClass(cls):
        cls.s3 = client()
        cls.bucket = new_bucket_name(cls.tag)
        cls.s3.create_bucket(Bucket=cls.bucket)

    @classmethod
    def tearDownClass(cls):
        nuke(cls.s3, cls.bucket)

    def fresh_bucket(self):
        """A bucket of the test's own, deleted when it ends."""
        name = new_bucket_name(self.tag)
        self.s3.create_bucket(Bucket=name)
        self.addCleanup(nuke, self.s3, name)
        return name

    def assertClientError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(error_code(cm.exception), code, cm.exception.response)
        return cm.exception


class TestBuckets(unittest.TestCase):
    def setUp(self):
        self.s3 = client()

    def test_create_list_delete(self):
        name = new_bucket_name("bkt")
        self.s3.create_bucket(Bucket=name)
        try:
            names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
            self.assertIn(name, names)
            self.s3.head_bucket(Bucket=name)
            loc = self.s3.get_bucket_location(Bucket=name)
            self.assertIn(loc.get("LocationConstraint"), (None, "", REGION))
            with self.assertRaises(ClientError) as cm:
                self.s3.create_bucket(Bucket=name)
            self.assertEqual(error_code(cm.exception), "BucketAlreadyOwnedByYou")

            self.s3.put_object(Bucket=name, Key="k", Body=b"x")
            with self.assertRaises(ClientError) as cm:
                self.s3.delete_bucket(Bucket=name)
            self.assertEqual(error_code(cm.exception), "BucketNotEmpty")
            self.s3.delete_object(Bucket=name, Key="k")
        finally:
            nuke(self.s3, name)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertNotIn(name, names)

    def test_missing_bucket(self):
        name = new_bucket_name("none")
        for fn, kw in [
            (self.s3.list_objects_v2, {}),
            (self.s3.get_object, {"Key": "k"}),
            (self.s3.put_object, {"Key": "k", "Body": b"x"}),
            (self.s3.delete_bucket, {}),
        ]:
            with self.subTest(op=fn.__name__):
                with self.assertRaises(ClientError) as cm:
                    fn(Bucket=name, **kw)
                self.assertEqual(error_code(cm.exception), "NoSuchBucket")
        with self.assertRaises(ClientError) as cm:
            self.s3.head_bucket(Bucket=name)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_delete_bucket_with_upload_in_progress(self):
        # S3 lets a bucket go with multipart uploads still open.
        name = new_bucket_name("mpu")
        self.s3.create_bucket(Bucket=name)
        up = self.s3.create_multipart_upload(Bucket=name, Key="open")
        self.s3.upload_part(Bucket=name, Key="open", UploadId=up["UploadId"], PartNumber=1, Body=b"part")
        self.s3.delete_bucket(Bucket=name)
        with self.assertRaises(ClientError) as cm:
            self.s3.head_bucket(Bucket=name)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)


class TestObjects(BucketTest):
    tag = "obj"

    def test_hostile_keys(self):
        for key in HOSTILE_KEYS:
            with self.subTest(key=key):
                body = ("body of " + key).encode()
                put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body,
                                         ContentType="text/x-test", Metadata={"origin": "boto3"})
                got = self.s3.get_object(Bucket=self.bucket, Key=key)
                self.assertEqual(got["Body"].read(), body)
                self.assertEqual(got["ETag"], put["ETag"])
                self.assertEqual(got["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
                self.assertEqual(got["ContentType"], "text/x-test")
                self.assertEqual(got["Metadata"], {"origin": "boto3"})
                head = self.s3.head_object(Bucket=self.bucket, Key=key)
                self.assertEqual(head["ContentLength"], len(body))
        listed = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            listed += [o["Key"] for o in page.get("Contents", [])]
        for key in HOSTILE_KEYS:
            self.assertIn(key, listed)
        # encoding-type=url asked for explicitly: boto3 leaves the keys
        # encoded, and S3 encodes a space as %20, not +.
        enc = self.s3.list_objects(Bucket=self.bucket, EncodingType="url")
        self.assertEqual(sorted(urllib.parse.unquote(o["Key"]) for o in enc["Contents"]), sorted(listed))
        for key in HOSTILE_KEYS:
            with self.subTest(delete=key):
                self.s3.delete_object(Bucket=self.bucket, Key=key)
                self.assertClientError("NoSuchKey", self.s3.get_object, Bucket=self.bucket, Key=key)

    def test_errors(self):
        self.assertClientError("NoSuchKey", self.s3.get_object, Bucket=self.bucket, Key="absent")
        with self.assertRaises(ClientError) as cm:
            self.s3.head_object(Bucket=self.bucket, Key="absent")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.s3.put_object(Bucket=self.bucket, Key="ten", Body=b"0123456789")
        self.assertClientError("InvalidRange", self.s3.get_object, Bucket=self.bucket, Key="ten", Range="bytes=10-20")
        got = self.s3.get_object(Bucket=self.bucket, Key="ten", Range="bytes=2-4")
        self.assertEqual(got["Body"].read(), b"234")
        self.assertEqual(got["ContentRange"], "bytes 2-4/10")
        got = self.s3.get_object(Bucket=self.bucket, Key="ten", Range="bytes=-3")
        self.assertEqual(got["Body"].read(), b"789")
        etag = got["ETag"]
        self.assertClientError("PreconditionFailed", self.s3.get_object, Bucket=self.bucket, Key="ten", IfMatch='"nope"')
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=self.bucket, Key="ten", IfNoneMatch=etag)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        self.assertClientError("NoSuchUpload", self.s3.list_parts, Bucket=self.bucket, Key="ten", UploadId="nope")

    def test_copy(self):
        self.s3.put_object(Bucket=self.bucket, Key="src key+1", Body=b"copy me", Metadata={"a": "1"},
                           Tagging="t=1")
        self.s3.copy_object(Bucket=self.bucket, Key="dst/copy", CopySource={"Bucket": self.bucket, "Key": "src key+1"})
        got = self.s3.get_object(Bucket=self.bucket, Key="dst/copy")
        self.assertEqual(got["Body"].read(), b"copy me")
        self.assertEqual(got["Metadata"], {"a": "1"})
        self.s3.copy_object(Bucket=self.bucket, Key="dst/replaced", CopySource={"Bucket": self.bucket, "Key": "src key+1"},
                            MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/plain")
        head = self.s3.head_object(Bucket=self.bucket, Key="dst/replaced")
        self.assertEqual(head["Metadata"], {"b": "2"})
        self.assertEqual(head["ContentType"], "text/plain")
        # The managed copy (HeadObject then CopyObject or UploadPartCopy).
        self.s3.copy({"Bucket": self.bucket, "Key": "src key+1"}, self.bucket, "dst/managed ü")
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="dst/managed ü")["Body"].read(), b"copy me")
        self.assertClientError("InvalidRequest", self.s3.copy_object, Bucket=self.bucket, Key="src key+1",
                               CopySource={"Bucket": self.bucket, "Key": "src key+1"})
        self.assertClientError("NoSuchKey", self.s3.copy_object, Bucket=self.bucket, Key="x",
                               CopySource={"Bucket": self.bucket, "Key": "absent"})
        # A website redirect is stored and returned, never copied from a source.
        self.s3.put_object(Bucket=self.bucket, Key="page", Body=b"p", WebsiteRedirectLocation="/new.html")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="page")["WebsiteRedirectLocation"], "/new.html")
        self.s3.copy_object(Bucket=self.bucket, Key="page copy", CopySource={"Bucket": self.bucket, "Key": "page"})
        self.assertNotIn("WebsiteRedirectLocation", self.s3.head_object(Bucket=self.bucket, Key="page copy"))
        self.assertClientError("InvalidRedirectLocation", self.s3.put_object, Bucket=self.bucket, Key="bad",
                               Body=b"", WebsiteRedirectLocation="ftp://example.com/")

    def test_tagging(self):
        key = "tagged obj"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"t", Tagging="colour=blue&size=big%20one")
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("colour", "blue"), ("size", "big one")])
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key=key).get("ResponseMetadata", {})
                         .get("HTTPHeaders", {}).get("x-amz-tagging-count"), "2")
        self.s3.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={"TagSet": [{"Key": "k", "Value": "v é"}]})
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        self.assertEqual(tags, [{"Key": "k", "Value": "v é"}])
        self.s3.delete_object_tagging(Bucket=self.bucket, Key=key)
        self.assertEqual(self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"], [])
        self.s3.put_bucket_tagging(Bucket=self.bucket, Tagging={"TagSet": [{"Key": "team", "Value": "s3"}]})
        self.assertEqual(self.s3.get_bucket_tagging(Bucket=self.bucket)["TagSet"], [{"Key": "team", "Value": "s3"}])
        self.s3.delete_bucket_tagging(Bucket=self.bucket)
        self.assertClientError("NoSuchTagSet", self.s3.get_bucket_tagging, Bucket=self.bucket)

    def test_list_v2_paginator_with_delimiter(self):
        prefix = "tree/"
        keys = [prefix + "root-%02d" % i for i in range(7)]
        keys += [prefix + "dir%d/leaf-%d" % (d, i) for d in range(5) for i in range(3)]
        for k in keys:
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"")
        objects, prefixes, pages = [], [], 0
        pager = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/", PaginationConfig={"PageSize": 3})
        for page in pager:
            pages += 1
            self.assertLessEqual(page["KeyCount"], 3)
            objects += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        self.assertEqual(objects, sorted(k for k in keys if k.count("/") == 1))
        self.assertEqual(prefixes, [prefix + "dir%d/" % d for d in range(5)])
        self.assertEqual(pages, 4)
        # v1 with markers, through the paginator too.
        v1 = []
        for page in self.s3.get_paginator("list_objects").paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": 4}):
            v1 += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(v1, sorted(keys))

    def test_delete_objects(self):
        keys = ["batch/%d" % i for i in range(5)]
        for k in keys:
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"b")
        out = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys + ["batch/absent"]]})
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), sorted(keys + ["batch/absent"]))
        self.assertEqual(out.get("Errors", []), [])
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket, Prefix="batch/")["KeyCount"], 0)

    def test_checksums(self):
        for alg in ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]:
            with self.subTest(alg=alg):
                try:
                    put = self.s3.put_object(Bucket=self.bucket, Key="ck-" + alg, Body=b"checksum me",
                                             ChecksumAlgorithm=alg)
                except (botocore.exceptions.MissingDependencyException,
                        getattr(botocore.exceptions, "FlexibleChecksumError", ())):
                    # Older botocore, or CRC32C/CRC64NVME without awscrt.
                    continue
                except (ClientError, botocore.exceptions.ParamValidationError) as e:
                    if alg == "CRC64NVME" and not isinstance(e, ClientError):
                        continue  # an older botocore
                    raise
                self.assertIn("Checksum" + alg, put)
                got = self.s3.get_object(Bucket=self.bucket, Key="ck-" + alg, ChecksumMode="ENABLED")
                self.assertEqual(got["Body"].read(), b"checksum me")
                self.assertEqual(got.get("Checksum" + alg), put["Checksum" + alg])


class TestTransfer(BucketTest):
    tag = "xfer"

    def test_upload_download_20mib(self):
        tmp = tempfile.mkdtemp()
        try:
            src = os.path.join(tmp, "src.bin")
            data = os.urandom(1 << 20) * 20
            with open(src, "wb") as f:
                f.write(data)
            # Default TransferConfig: 8 MiB threshold and part size, so a
            # three-part upload with the SDK's default checksums.
            self.s3.upload_file(src, self.bucket, "big/file.bin")
            head = self.s3.head_object(Bucket=self.bucket, Key="big/file.bin")
            self.assertEqual(head["ContentLength"], len(data))
            self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])
            dst = os.path.join(tmp, "dst.bin")
            self.s3.download_file(self.bucket, "big/file.bin", dst)
            with open(dst, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(data).hexdigest())
            part = self.s3.get_object(Bucket=self.bucket, Key="big/file.bin", PartNumber=2)
            self.assertEqual(part["PartsCount"], 3)
            self.assertEqual(part["Body"].read(), data[8 << 20:16 << 20])
            # A managed copy of a multipart object (UploadPartCopy).
            self.s3.copy({"Bucket": self.bucket, "Key": "big/file.bin"}, self.bucket, "big/copy.bin")
            self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="big/copy.bin")["ContentLength"], len(data))
        finally:
            shutil.rmtree(tmp)

    def test_multipart_explicit(self):
        key = "mpu/explicit"
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="CRC32")
        parts = []
        chunks = [b"a" * (5 << 20), b"b" * 1024]
        for i, chunk in enumerate(chunks, 1):
            r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up["UploadId"], PartNumber=i,
                                    Body=chunk, ChecksumAlgorithm="CRC32")
            parts.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
        listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=up["UploadId"])
        self.assertEqual([p["PartNumber"] for p in listed["Parts"]], [1, 2])
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket)["Uploads"]
        self.assertIn(up["UploadId"], [u["UploadId"] for u in uploads])
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up["UploadId"],
                                          MultipartUpload={"Parts": parts})
        got = self.s3.get_object(Bucket=self.bucket, Key=key)
        self.assertEqual(got["ContentLength"], sum(len(c) for c in chunks))
        # Abort of another upload.
        up2 = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key + "-aborted")
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key + "-aborted", UploadId=up2["UploadId"])
        with self.assertRaises(ClientError) as cm:
            self.s3.list_parts(Bucket=self.bucket, Key=key + "-aborted", UploadId=up2["UploadId"])
        self.assertEqual(error_code(cm.exception), "NoSuchUpload")


class TestVersioning(BucketTest):
    tag = "ver"

    def test_versions_and_delete_markers(self):
        b, key = self.fresh_bucket(), "doc v.txt"
        self.s3.put_object(Bucket=b, Key=key, Body=b"before versioning")
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        v1 = self.s3.put_object(Bucket=b, Key=key, Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=b, Key=key, Body=b"two")["VersionId"]
        self.assertNotEqual(v1, v2)
        self.assertEqual(self.s3.get_object(Bucket=b, Key=key, VersionId=v1)["Body"].read(), b"one")
        self.assertEqual(self.s3.get_object(Bucket=b, Key=key, VersionId="null")["Body"].read(), b"before versioning")

        # A delete creates a marker: the key reads as missing...
        d = self.s3.delete_object(Bucket=b, Key=key)
        self.assertTrue(d["DeleteMarker"])
        marker = d["VersionId"]
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=b, Key=key)
        self.assertEqual(error_code(cm.exception), "NoSuchKey")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker"), "true")
        self.assertEqual(self.s3.list_objects_v2(Bucket=b)["KeyCount"], 0)
        lv = self.s3.list_object_versions(Bucket=b)
        self.assertEqual([m["VersionId"] for m in lv["DeleteMarkers"]], [marker])
        self.assertTrue(lv["DeleteMarkers"][0]["IsLatest"])
        self.assertEqual([v["VersionId"] for v in lv["Versions"]], [v2, v1, "null"])
        self.assertFalse(any(v["IsLatest"] for v in lv["Versions"]))
        # ...and removing the marker restores the previous version.
        r = self.s3.delete_object(Bucket=b, Key=key, VersionId=marker)
        self.assertTrue(r["DeleteMarker"])
        self.assertEqual(r["VersionId"], marker)
        self.assertEqual(self.s3.get_object(Bucket=b, Key=key)["Body"].read(), b"two")
        lv = self.s3.list_object_versions(Bucket=b)
        self.assertNotIn("DeleteMarkers", lv)
        self.assertTrue(lv["Versions"][0]["IsLatest"])

        # Deleting the latest version by ID makes the previous one latest.
        self.s3.delete_object(Bucket=b, Key=key, VersionId=v2)
        self.assertEqual(self.s3.get_object(Bucket=b, Key=key)["Body"].read(), b"one")
        # A version ID that does not exist.
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=b, Key=key, VersionId=v2)
        self.assertIn(error_code(cm.exception), ("NoSuchVersion", "InvalidArgument"))

        # Suspended: new writes replace the null version.
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.s3.put_object(Bucket=b, Key=key, Body=b"suspended")
        ids = [v["VersionId"] for v in self.s3.list_object_versions(Bucket=b)["Versions"]]
        self.assertEqual(ids, ["null", v1])

    def test_delete_objects_with_versions(self):
        b = self.bucket
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        v = self.s3.put_object(Bucket=b, Key="multi", Body=b"m")["VersionId"]
        out = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "multi"}]})
        self.assertTrue(out["Deleted"][0]["DeleteMarker"])
        mid = out["Deleted"][0]["DeleteMarkerVersionId"]
        out = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "multi", "VersionId": mid}]})
        self.assertEqual(out["Deleted"][0]["VersionId"], mid)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="multi")["VersionId"], v)


def fetch(url, headers=None):
    """GETs url without any credentials; returns (status, body)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class TestPresign(BucketTest):
    tag = "pre"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = "presigned/ü key+1.txt"
        cls.s3.put_object(Bucket=cls.bucket, Key=cls.key, Body=b"presigned body")

    def check_url(self, c, want_form, expiry=True):
        url = c.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": self.key}, ExpiresIn=300)
        form = "v4" if "X-Amz-Signature=" in url else "v2" if "Signature=" in url else "?"
        if want_form:
            self.assertEqual(form, want_form, url)
        status, body = fetch(url)
        self.assertEqual((status, body), (200, b"presigned body"), url)
        # Tampering with the signature is refused.
        bad = url.replace("Signature=", "Signature=0", 1)
        status, body = fetch(bad)
        self.assertEqual(status, 403, body)
        self.assertIn(b"SignatureDoesNotMatch", body)
        if not expiry:
            return form
        # An expired URL is refused.
        expired = c.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": self.key}, ExpiresIn=1)
        time.sleep(2.1)
        status, body = fetch(expired)
        self.assertEqual(status, 403, body)
        self.assertIn(b"AccessDenied", body)
        return form

    def test_default_form(self):
        # boto3 presigns S3 URLs in us-east-1 with the SigV2 query form
        # (AWSAccessKeyId, Signature, Expires) unless told otherwise.
        self.check_url(client(), "v2" if REGION == "us-east-1" else None, expiry=False)

    def test_sigv2(self):
        self.check_url(client(signature_version="s3"), "v2")

    def test_sigv4(self):
        self.check_url(client(signature_version="s3v4"), "v4")

    def test_presigned_put(self):
        c = client(signature_version="s3v4")
        url = c.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": "presigned/put"}, ExpiresIn=300)
        req = urllib.request.Request(url, data=b"put via url", method="PUT")
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.assertEqual(resp.status, 200)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="presigned/put")["Body"].read(), b"put via url")

    def test_unsigned_is_refused(self):
        status, body = fetch("%s/%s/%s" % (ENDPOINT, self.bucket, "presigned/put"))
        self.assertEqual(status, 403, body)
        self.assertIn(b"AccessDenied", body)


def aws_cli(*args, check=True, input=None):
    """Runs the aws CLI against the server; returns its stdout."""
    env = dict(os.environ)
    env.setdefault("AWS_REGION", REGION)
    env["AWS_DEFAULT_REGION"] = REGION
    env["AWS_PAGER"] = ""
    cmd = ["aws", "--endpoint-url", ENDPOINT] + list(args)
    p = subprocess.run(cmd, env=env, capture_output=True, input=input, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\nstdout: %s\nstderr: %s" % (
            " ".join(cmd), p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")))
    return p


@unittest.skipIf(ONLY == "boto3", "SLUICE_CLIENTS_ONLY=boto3")
@unittest.skipUnless(shutil.which("aws"), "aws CLI not on PATH")
class TestAWSCLI(BucketTest):
    tag = "cli"

    def test_s3_commands(self):
        tmp = tempfile.mkdtemp()
        try:
            src = os.path.join(tmp, "src")
            os.makedirs(os.path.join(src, "sub dir"))
            files = {"a.txt": b"alpha", "sub dir/b+c.txt": b"bravo", "sub dir/ü.bin": os.urandom(9 << 20)}
            for name, data in files.items():
                with open(os.path.join(src, name), "wb") as f:
                    f.write(data)
            s3url = "s3://%s/" % self.bucket
            aws_cli("s3", "cp", os.path.join(src, "a.txt"), s3url + "single/a.txt")
            aws_cli("s3", "sync", src, s3url + "synced/")
            out = aws_cli("s3", "ls", "--recursive", s3url).stdout.decode()
            for name in files:
                self.assertIn("synced/" + name, out)
            self.assertIn("single/a.txt", out)
            # A second sync has nothing to do.
            out = aws_cli("s3", "sync", src, s3url + "synced/").stdout.decode()
            self.assertEqual(out.strip(), "")
            dst = os.path.join(tmp, "dst")
            aws_cli("s3", "sync", s3url + "synced/", dst)
            for name, data in files.items():
                with open(os.path.join(dst, name), "rb") as f:
                    self.assertEqual(f.read(), data, name)
            aws_cli("s3", "cp", s3url + "single/a.txt", os.path.join(tmp, "a.copy"))
            with open(os.path.join(tmp, "a.copy"), "rb") as f:
                self.assertEqual(f.read(), b"alpha")
            aws_cli("s3", "rm", "--recursive", s3url + "synced/")
            out = aws_cli("s3", "ls", "--recursive", s3url).stdout.decode()
            self.assertNotIn("synced/", out)
            p = aws_cli("s3", "ls", "s3://%s/" % new_bucket_name("absent"), check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"NoSuchBucket", p.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_s3api_commands(self):
        import json
        tmp = tempfile.mkdtemp()
        try:
            body = os.path.join(tmp, "body")
            with open(body, "wb") as f:
                f.write(b"s3api body")
            self.s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
            out = json.loads(aws_cli("s3api", "put-object", "--bucket", self.bucket, "--key", "api/ob j+1",
                                     "--body", body, "--metadata", "k=v").stdout)
            vid = out["VersionId"]
            outfile = os.path.join(tmp, "out")
            got = json.loads(aws_cli("s3api", "get-object", "--bucket", self.bucket, "--key", "api/ob j+1",
                                     outfile).stdout)
            self.assertEqual(got["VersionId"], vid)
            self.assertEqual(got["Metadata"], {"k": "v"})
            with open(outfile, "rb") as f:
                self.assertEqual(f.read(), b"s3api body")
            aws_cli("s3api", "delete-object", "--bucket", self.bucket, "--key", "api/ob j+1")
            lv = json.loads(aws_cli("s3api", "list-object-versions", "--bucket", self.bucket,
                                    "--prefix", "api/").stdout)
            self.assertEqual([v["VersionId"] for v in lv["Versions"]], [vid])
            self.assertEqual(len(lv["DeleteMarkers"]), 1)
            p = aws_cli("s3api", "get-object", "--bucket", self.bucket, "--key", "api/ob j+1", outfile, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"NoSuchKey", p.stderr)
        finally:
            shutil.rmtree(tmp)


OLDER_PYTHON = "/usr/bin/python3"


def older_boto3():
    """The boto3 version of /usr/bin/python3 when it differs from ours."""
    if ONLY or not os.path.exists(OLDER_PYTHON) or os.path.realpath(OLDER_PYTHON) == os.path.realpath(sys.executable):
        return None
    p = subprocess.run([OLDER_PYTHON, "-c", "import boto3; print(boto3.__version__)"], capture_output=True)
    if p.returncode != 0:
        return None
    v = p.stdout.decode().strip()
    return v if v != boto3.__version__ else None


class TestOlderBoto3(unittest.TestCase):
    def test_boto3_suite(self):
        v = older_boto3()
        if v is None:
            self.skipTest("no other boto3 under %s" % OLDER_PYTHON)
        env = dict(os.environ, SLUICE_CLIENTS_ONLY="boto3")
        # Skip the 20 MiB transfer and the sleeps of the expiry checks: the
        # point is the older signing and checksum code paths.
        tests = ["TestBuckets", "TestObjects", "TestVersioning", "TestPresign.test_sigv2", "TestPresign.test_sigv4",
                 "TestTransfer.test_multipart_explicit"]
        p = subprocess.run([OLDER_PYTHON, "-W", "ignore", os.path.abspath(__file__)] + tests, env=env, capture_output=True, timeout=300)
        out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 0, "boto3 %s under %s:\n%s" % (v, OLDER_PYTHON, out))


if __name__ == "__main__":
    if not (ENDPOINT and ACCESS_KEY and SECRET_KEY):
        sys.exit("set AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    print("boto3 %s botocore %s (%s)" % (boto3.__version__, botocore.__version__, sys.executable), file=sys.stderr)
    unittest.main()
