"""A LIST transform for S3 Object Lambda: hide private keys.

ListObjectsV2 through the Object Lambda access point lists the bucket
without the keys under private/. A LIST transform answers with JSON:
statusCode and either listResultXml (forwarded as it is) or
listBucketResult (camelCase fields that S3 Object Lambda checks and turns
into ListBucketResult XML); this one builds listBucketResult.

The function lists with a plain HTTP GET of inputS3Url, which carries the
caller's query (prefix, delimiter, continuation-token, ...) and is
presigned as the caller.
"""

import urllib.request
import xml.etree.ElementTree as ET

NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
HIDDEN = "private/"


def text(elem, name, default=None):
    child = elem.find("s3:" + name, NS)
    return child.text if child is not None and child.text is not None else default


def handler(event, context):
    url = event["listObjectsV2Context"]["inputS3Url"]
    with urllib.request.urlopen(url) as r:
        root = ET.fromstring(r.read())
    contents = []
    for c in root.findall("s3:Contents", NS):
        key = text(c, "Key")
        if key.startswith(HIDDEN):
            continue
        contents.append({
            "key": key, "size": int(text(c, "Size", "0")), "eTag": text(c, "ETag", ""),
            "lastModified": text(c, "LastModified", ""), "storageClass": text(c, "StorageClass", "STANDARD"),
        })
    prefixes = [{"prefix": text(p, "Prefix")} for p in root.findall("s3:CommonPrefixes", NS)
                if not text(p, "Prefix").startswith(HIDDEN)]
    result = {
        "name": text(root, "Name"), "prefix": text(root, "Prefix", ""), "delimiter": text(root, "Delimiter", ""),
        "maxKeys": int(text(root, "MaxKeys", "1000")), "isTruncated": text(root, "IsTruncated") == "true",
        "keyCount": len(contents) + len(prefixes), "contents": contents, "commonPrefixes": prefixes,
        "continuationToken": text(root, "ContinuationToken", ""),
        "nextContinuationToken": text(root, "NextContinuationToken", ""),
    }
    return {"statusCode": 200, "listBucketResult": result}
