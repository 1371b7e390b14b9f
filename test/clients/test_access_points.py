#!/usr/bin/env python3
"""Drives sluice's access points and Object Lambda access points with boto3.

The server and credentials come from the environment, as for
test_boto3_cli.py; the endpoint must be a host name whose account and
access point prefixes resolve (README, "Access points and DNS"):

    AWS_ENDPOINT_URL       http://localhost:PORT
    AWS_ACCESS_KEY_ID      root access key
    AWS_SECRET_ACCESS_KEY  root secret key

boto3 sends S3 Control calls to 000000000000.localhost and requests for an
Object Lambda access point ARN to <name>-000000000000.localhost: the test
needs "127.0.0.1 000000000000.localhost py-olap-000000000000.localhost" in
/etc/hosts (.ci/run adds it).

    python3 test/clients/test_access_points.py [-v] [TestClass[.test_method] ...]
"""

import io
import json
import os
import re
import time
import unittest
import uuid
import zipfile

import boto3
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
ROLE = "arn:aws:iam::%s:role/clients" % ACCOUNT


def control():
    return boto3.client("s3control", region_name=REGION)


def s3():
    return boto3.client("s3", region_name=REGION)


def ap_arn(name):
    return "arn:aws:s3:%s:%s:accesspoint/%s" % (REGION, ACCOUNT, name)


def olap_arn(name):
    return "arn:aws:s3-object-lambda:%s:%s:accesspoint/%s" % (REGION, ACCOUNT, name)


def fn_arn(name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, name)


def olap_config(ap, actions=("GetObject",), function="transform", **extra):
    cfg = {
        "SupportingAccessPoint": ap_arn(ap),
        "TransformationConfigurations": [{
            "Actions": list(actions),
            "ContentTransformation": {"AwsLambda": {"FunctionArn": fn_arn(function)}},
        }],
    }
    cfg.update(extra)
    return cfg


def list_all(op, member):
    """Every name a listing returns, one entry a page."""
    names, token = [], None
    while True:
        kw = {"AccountId": ACCOUNT, "MaxResults": 1}
        if token:
            kw["NextToken"] = token
        page = op(**kw)
        names += [x["Name"] for x in page[member]]
        token = page.get("NextToken")
        if not token:
            return names


class ControlTest(unittest.TestCase):
    def setUp(self):
        self.ctl = control()
        self.s3 = s3()
        self.bucket = "ap-" + uuid.uuid4().hex[:12]
        self.s3.create_bucket(Bucket=self.bucket)
        self.prefix = "t" + uuid.uuid4().hex[:8]

    def assertError(self, code, status, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)


class TestAccessPoints(ControlTest):
    def test_lifecycle(self):
        name = self.prefix + "-ap"
        out = self.ctl.create_access_point(AccountId=ACCOUNT, Name=name, Bucket=self.bucket)
        self.assertEqual(out["AccessPointArn"], ap_arn(name))
        alias = out["Alias"]
        self.assertRegex(alias, r"^[a-z0-9-]+-[a-z0-9]{26}-s3alias$")
        for ref in (name, alias):
            got = self.ctl.get_access_point(AccountId=ACCOUNT, Name=ref)
            self.assertEqual((got["Name"], got["Bucket"], got["Alias"], got["NetworkOrigin"]),
                             (name, self.bucket, alias, "Internet"))
            self.assertTrue(got["PublicAccessBlockConfiguration"]["BlockPublicPolicy"])
        listed = self.ctl.list_access_points(AccountId=ACCOUNT, Bucket=self.bucket)["AccessPointList"]
        self.assertEqual([a["Name"] for a in listed], [name])
        self.assertIn(name, list_all(self.ctl.list_access_points, "AccessPointList"))

        # The alias works wherever a bucket name does.
        self.s3.put_object(Bucket=alias, Key="k", Body=b"through the alias")
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="k")["Body"].read(), b"through the alias")
        self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=alias)["Contents"]], ["k"])

        self.ctl.delete_access_point(AccountId=ACCOUNT, Name=name)
        self.assertError("NoSuchAccessPoint", 404, self.ctl.get_access_point, AccountId=ACCOUNT, Name=name)
        self.assertError("InvalidAccessPointAliasError", 400, self.s3.get_object, Bucket=alias, Key="k")

    def test_policy(self):
        name = self.prefix + "-pol"
        self.ctl.create_access_point(AccountId=ACCOUNT, Name=name, Bucket=self.bucket)
        self.assertError("NoSuchAccessPointPolicy", 404, self.ctl.get_access_point_policy, AccountId=ACCOUNT, Name=name)
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % ACCOUNT},
            "Action": "s3:GetObject", "Resource": ap_arn(name) + "/object/*"}]})
        self.ctl.put_access_point_policy(AccountId=ACCOUNT, Name=name, Policy=policy)
        self.assertEqual(self.ctl.get_access_point_policy(AccountId=ACCOUNT, Name=name)["Policy"], policy)
        self.assertError("MalformedPolicy", 400, self.ctl.put_access_point_policy, AccountId=ACCOUNT, Name=name, Policy="{")
        self.ctl.delete_access_point_policy(AccountId=ACCOUNT, Name=name)
        self.assertError("NoSuchAccessPointPolicy", 404, self.ctl.get_access_point_policy, AccountId=ACCOUNT, Name=name)
        self.assertError("NoSuchAccessPoint", 404, self.ctl.put_access_point_policy, AccountId=ACCOUNT, Name="absent", Policy=policy)

    def test_errors(self):
        name = self.prefix + "-dup"
        self.ctl.create_access_point(AccountId=ACCOUNT, Name=name, Bucket=self.bucket)
        cases = [
            ("InvalidURI", 400, {"Name": "UPPER", "Bucket": self.bucket}),
            ("InvalidURI", 400, {"Name": "a" * 51, "Bucket": self.bucket}),
            ("InvalidRequest", 400, {"Name": "bad-", "Bucket": self.bucket}),
            ("InvalidRequest", 400, {"Name": "x-s3alias", "Bucket": self.bucket}),
            ("InvalidRequest", 400, {"Name": self.prefix + "-nob", "Bucket": "no-such-bucket-" + self.prefix}),
            ("AccessPointAlreadyOwnedByYou", 409, {"Name": name, "Bucket": self.bucket}),
        ]
        for code, status, kw in cases:
            with self.subTest(kw=kw):
                self.assertError(code, status, self.ctl.create_access_point, AccountId=ACCOUNT, **kw)
        self.assertError("NoSuchAccessPoint", 404, self.ctl.delete_access_point, AccountId=ACCOUNT, Name="absent")


class TestObjectLambdaAccessPoints(ControlTest):
    def setUp(self):
        super().setUp()
        self.ap = self.prefix + "-sup"
        self.ctl.create_access_point(AccountId=ACCOUNT, Name=self.ap, Bucket=self.bucket)

    def test_lifecycle(self):
        name = self.prefix + "-olap"
        cfg = olap_config(self.ap, ("GetObject", "HeadObject", "ListObjects", "ListObjectsV2"),
                          AllowedFeatures=["GetObject-Range", "HeadObject-PartNumber"], CloudWatchMetricsEnabled=True)
        cfg["TransformationConfigurations"][0]["ContentTransformation"]["AwsLambda"]["FunctionPayload"] = '{"a": 1}'
        out = self.ctl.create_access_point_for_object_lambda(AccountId=ACCOUNT, Name=name, Configuration=cfg)
        self.assertEqual(out["ObjectLambdaAccessPointArn"], olap_arn(name))
        self.assertRegex(out["Alias"]["Value"], r"--ol-s3$")
        self.assertEqual(out["Alias"]["Status"], "READY")
        got = self.ctl.get_access_point_for_object_lambda(AccountId=ACCOUNT, Name=name)
        self.assertEqual(got["Name"], name)
        self.assertEqual(got["Alias"], out["Alias"])
        self.assertIn("CreationDate", got)
        self.assertEqual(self.ctl.get_access_point_configuration_for_object_lambda(AccountId=ACCOUNT, Name=name)["Configuration"], cfg)

        cfg2 = olap_config(self.ap, ("ListObjectsV2",), function="other")
        self.ctl.put_access_point_configuration_for_object_lambda(AccountId=ACCOUNT, Name=name, Configuration=cfg2)
        got = self.ctl.get_access_point_configuration_for_object_lambda(AccountId=ACCOUNT, Name=name)["Configuration"]
        self.assertEqual(got["TransformationConfigurations"], cfg2["TransformationConfigurations"])
        self.assertFalse(got["CloudWatchMetricsEnabled"])

        self.assertIn(name, list_all(self.ctl.list_access_points_for_object_lambda, "ObjectLambdaAccessPointList"))
        self.ctl.delete_access_point_for_object_lambda(AccountId=ACCOUNT, Name=name)
        self.assertError("NoSuchAccessPoint", 404, self.ctl.get_access_point_for_object_lambda, AccountId=ACCOUNT, Name=name)
        self.assertError("NoSuchAccessPoint", 404, self.ctl.delete_access_point_for_object_lambda, AccountId=ACCOUNT, Name=name)
        self.assertError("NoSuchAccessPoint", 404, self.ctl.get_access_point_configuration_for_object_lambda, AccountId=ACCOUNT, Name=name)
        self.assertError("NoSuchAccessPoint", 404, self.ctl.put_access_point_configuration_for_object_lambda,
                         AccountId=ACCOUNT, Name=name, Configuration=cfg2)

    def test_errors(self):
        taken = self.prefix + "-taken"
        self.ctl.create_access_point_for_object_lambda(AccountId=ACCOUNT, Name=taken, Configuration=olap_config(self.ap))
        twice = olap_config(self.ap)
        twice["TransformationConfigurations"] *= 2
        cases = [
            ("InvalidURI", 400, "UPPER", olap_config(self.ap)),
            ("InvalidURI", 400, "a" * 46, olap_config(self.ap)),
            ("InvalidRequest", 400, "bad-", olap_config(self.ap)),
            ("AccessPointAlreadyOwnedByYou", 409, taken, olap_config(self.ap)),
            ("InvalidRequest", 400, self.prefix + "-e1", dict(olap_config(self.ap), SupportingAccessPoint="arn:aws:s3:eu-west-1:%s:accesspoint/x" % ACCOUNT)),
            ("InvalidRequest", 400, self.prefix + "-e2", olap_config(self.ap, ("PutObject",))),
            ("InvalidRequest", 400, self.prefix + "-e3", twice),
            ("InvalidRequest", 400, self.prefix + "-e4", olap_config(self.ap, AllowedFeatures=["PutObject-Range"])),
            ("InvalidRequest", 400, self.prefix + "-e5", olap_config(self.ap, function="arn:aws:lambda:us-east-1:123456789012:function:f")),
        ]
        for code, status, name, cfg in cases:
            with self.subTest(name=name, cfg=cfg):
                self.assertError(code, status, self.ctl.create_access_point_for_object_lambda,
                                 AccountId=ACCOUNT, Name=name, Configuration=cfg)


UPPER = """import urllib.request
import boto3

s3 = boto3.client("s3")

def handler(event, context):
    ctx = event["getObjectContext"]
    with urllib.request.urlopen(ctx["inputS3Url"]) as r:
        body = r.read()
    s3.write_get_object_response(Body=body.upper(), RequestRoute=ctx["outputRoute"], RequestToken=ctx["outputToken"])
"""


class TestObjectLambdaData(ControlTest):
    """A GET through an Object Lambda access point, addressed by ARN and by
    alias, with a boto3 function calling WriteGetObjectResponse."""

    def test_get(self):
        lam = boto3.client("lambda", region_name=REGION)
        fn = "upper-" + self.prefix
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("app.py", UPPER)
        lam.create_function(FunctionName=fn, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": buf.getvalue()})
        self.s3.put_object(Bucket=self.bucket, Key="greeting.txt", Body=b"hello from boto3")
        ap = self.prefix + "-data"
        self.ctl.create_access_point(AccountId=ACCOUNT, Name=ap, Bucket=self.bucket)
        try:
            self.ctl.delete_access_point_for_object_lambda(AccountId=ACCOUNT, Name="py-olap")
        except ClientError:
            pass
        out = self.ctl.create_access_point_for_object_lambda(AccountId=ACCOUNT, Name="py-olap",
                                                             Configuration=olap_config(ap, function=fn))
        # By ARN (host py-olap-000000000000.localhost, signed for s3-object-lambda).
        got = self.s3.get_object(Bucket=olap_arn("py-olap"), Key="greeting.txt")["Body"].read()
        self.assertEqual(got, b"HELLO FROM BOTO3")
        # By alias (an ordinary bucket name for the SDK).
        got = self.s3.get_object(Bucket=out["Alias"]["Value"], Key="greeting.txt")["Body"].read()
        self.assertEqual(got, b"HELLO FROM BOTO3")
        # Range is refused unless allowed.
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=olap_arn("py-olap"), Key="greeting.txt", Range="bytes=0-1")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)


if __name__ == "__main__":
    unittest.main()
