"""Zip every object under a prefix, streamed: an S3 Object Lambda transform.

A GET of key K through the Object Lambda access point answers with a zip of
every object whose key starts with K. Unlike a zip built in memory, the
archive is streamed to WriteGetObjectResponse while it is being written:
objects are read in chunks and compressed on the fly, so the function's
memory does not grow with the size of the prefix.

Environment: ACCESS_POINT_ALIAS, the alias of the supporting access point
(the function lists and reads through it).

Runs unchanged on AWS and on sluice.
"""

import os
import threading
import zipfile
from urllib.parse import unquote, urlparse

import boto3
from botocore.config import Config

ACCESS_POINT_ALIAS = os.environ["ACCESS_POINT_ALIAS"]
CHUNK = 1 << 20

s3 = boto3.client("s3")
# The body of WriteGetObjectResponse is a stream of unknown length: send it
# unsigned (as the SDK does over HTTPS anyway) so that it is not read twice
# to be hashed first.
output = boto3.client("s3", config=Config(s3={"payload_signing_enabled": False}))


class PipeReader:
    """The read end of the pipe the zip is written into, as a file-like
    body; it fails the upload if writing the zip failed."""

    def __init__(self, fd, producer):
        self._file = os.fdopen(fd, "rb")
        self._producer = producer

    def read(self, size=-1):
        data = self._file.read(size)
        if not data and self._producer.error is not None:
            raise self._producer.error
        return data

    def close(self):
        self._file.close()


class ZipWriter(threading.Thread):
    """Writes the zip of every object under prefix into a pipe."""

    def __init__(self, fd, prefix):
        super().__init__(daemon=True)
        self._fd = fd
        self._prefix = prefix
        self.error = None

    def run(self):
        try:
            with os.fdopen(self._fd, "wb") as out:
                with zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
                    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=ACCESS_POINT_ALIAS, Prefix=self._prefix)
                    for page in pages:
                        for entry in page.get("Contents", []):
                            self._add(archive, entry["Key"])
        except Exception as e:  # reported by PipeReader.read
            self.error = e

    def _add(self, archive, key):
        body = s3.get_object(Bucket=ACCESS_POINT_ALIAS, Key=key)["Body"]
        with archive.open(key, mode="w", force_zip64=True) as member:
            for chunk in body.iter_chunks(CHUNK):
                member.write(chunk)


def handler(event, context):
    ctx = event["getObjectContext"]
    # The requested key is the prefix: inputS3Url's path is /<key>, escaped.
    prefix = unquote(urlparse(ctx["inputS3Url"]).path[1:])
    read_fd, write_fd = os.pipe()
    writer = ZipWriter(write_fd, prefix)
    writer.start()
    reader = PipeReader(read_fd, writer)
    try:
        output.write_get_object_response(
            Body=reader,
            RequestRoute=ctx["outputRoute"],
            RequestToken=ctx["outputToken"],
            ContentType="application/zip",
            ContentDisposition='attachment; filename="%s.zip"' % (prefix.rstrip("/").split("/")[-1] or "archive"),
        )
    finally:
        reader.close()
        writer.join()
    return {"statusCode": 200}
