"""botocore's S3 Signature V4 for a JSON list of requests on stdin (frozen
clock per request); prints a JSON list of {authorization, canonical_request}.

Each request: method, host, bucket, key, query [[name, value]...] (not
encoded), headers [[name, value]...] (besides host/date/content-sha256),
body_hex, amz_date (20260115T093000Z), region, access_key_id, secret,
session_token (optional). The URL's path is encoded by botocore's own
percent_encode (safe '/~', as its REST-XML serializer does for keys), the
query by botocore's signer from `params`, and the payload hash is computed by
botocore from the body: nothing is taken from the Swift side but the inputs.
"""
import datetime
import json
import sys
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode



class Recording(botocore.auth.S3SigV4Auth):
    """S3SigV4Auth that keeps the canonical request it signed."""
    def canonical_request(self, request):
        self.signed_canonical_request = super().canonical_request(request)
        return self.signed_canonical_request


out = []
for r in json.load(sys.stdin):
    path = "/" + percent_encode(r["bucket"], safe="/~") + "/" + percent_encode(r["key"], safe="/~")
    request = AWSRequest(method=r["method"], url=f"http://{r['host']}{path}", data=bytes.fromhex(r["body_hex"]),
                         params=[(name, value) for name, value in r["query"]], headers=dict(r["headers"]))
    credentials = Credentials(r["access_key_id"], r["secret"], r.get("session_token"))
    signer = Recording(credentials, "s3", r["region"])
    frozen = datetime.datetime.strptime(r["amz_date"], "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        signer.add_auth(request)
    out.append({"authorization": request.headers["Authorization"],
                "canonical_request": signer.signed_canonical_request,
                "content_sha256": request.headers["X-Amz-Content-SHA256"]})
json.dump(out, sys.stdout)
