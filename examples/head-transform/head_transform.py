"""A HEAD transform for S3 Object Lambda: hide internal metadata.

HeadObject through the Object Lambda access point answers with the
object's headers, less its x-amz-meta-internal-* metadata and with
x-amz-meta-served-by added. A HEAD transform answers with JSON
(statusCode, headers; errorCode and errorMessage for errors), which S3
Object Lambda turns into the caller's response.

The function reads the original with a plain HTTP HEAD of inputS3Url: no
SDK, no credentials (the URL is presigned as the caller).
"""

import urllib.error
import urllib.request

# Headers a HEAD transform may return (besides x-amz-meta-*).
PASSED = {
    "content-length", "content-type", "etag", "last-modified", "cache-control", "content-disposition",
    "content-encoding", "content-language", "expires", "accept-ranges", "x-amz-version-id",
    "x-amz-storage-class", "x-amz-server-side-encryption",
}


def handler(event, context):
    url = event["headObjectContext"]["inputS3Url"]
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as r:
            headers = r.headers
    except urllib.error.HTTPError as e:
        code = {404: "NoSuchKey", 403: "AccessDenied"}.get(e.code, "InternalError")
        return {"statusCode": e.code, "errorCode": code, "errorMessage": e.reason}
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-meta-internal-"):
            continue
        if lower in PASSED or lower.startswith("x-amz-meta-"):
            out[name] = value
    out["x-amz-meta-served-by"] = "object-lambda"
    return {"statusCode": 200, "headers": out}
