#!/usr/bin/env python3
"""A stand-in for roomd's package pull API, for PlatformPullTests.

  pull_api.py WORKDIR PORT ROOM_PKI SAMPLE_BAG

Serves, over HTTPS with mutual TLS (client certificates of ROOM_PKI/room-ca.crt,
server certificate ROOM_PKI/server.crt), the API as docs/formats.md
("Platform simulator") describes it:

* GET /v1/packages?since=N            two sealed packages made from SAMPLE_BAG (a real sealed
                                      package, `roomctl package sample`): S-GOOD as it is and
                                      S-BAD with one payload byte flipped
* GET /v1/packages/<s>/package.tar    the tar; ETag, Accept-Ranges, 206 for Range: bytes=N-.
                                      The FIRST full download of S-GOOD is cut after half its
                                      bytes (the connection is closed), so the puller must resume.
* POST /v1/packages/<s>/acknowledge   {"sha256"}: 200, or 409 sha256-mismatch.

Bags are made with Python's tarfile (independent of roomd's tar writer).
Records every request in WORKDIR/requests.jsonl and writes WORKDIR/ready when listening.
"""
import hashlib
import http.server
import io
import json
import os
import ssl
import sys
import tarfile
import threading

work, port, pki = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


sample = sys.argv[4]


def bag(valid=True):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, _, files in sorted(os.walk(sample)):
            for name in sorted(files):
                path = os.path.join(root, name)
                relative = os.path.relpath(path, sample)
                data = open(path, "rb").read()
                if not valid and relative == "data/sample.bin":
                    data = bytes([data[0] ^ 1]) + data[1:]
                info = tarfile.TarInfo("SAMPLE/" + relative)
                info.size = len(data)
                info.mode = 0o444
                info.mtime = 1767225600
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


packages = {
    "S-GOOD": {"cursor": 1, "tar": bag()},
    "S-BAD": {"cursor": 2, "tar": bag(valid=False)},
}
acknowledged = {}
cut_done = set()


def record(entry):
    with lock:
        with open(f"{work}/requests.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")


class API(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, content_type="application/json", extra=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        record({"method": "GET", "path": self.path, "range": self.headers.get("Range")})
        if self.path.startswith("/v1/packages?"):
            since = int(self.path.split("since=")[1].split("&")[0])
            listed = []
            for session, p in sorted(packages.items(), key=lambda kv: kv[1]["cursor"]):
                if p["cursor"] > since:
                    listed.append({"session": session, "name": f"TEST-ROOM/{session}.tar", "cursor": p["cursor"],
                                   "sealed_at": "2026-12-04T10:00:00Z", "size": len(p["tar"]),
                                   "sha256": hashlib.sha256(p["tar"]).hexdigest(), "tagmanifest_sha256": "0" * 64,
                                   "acknowledged_at": acknowledged.get(session)})
            nxt = max([p["cursor"] for p in listed], default=since)
            return self.answer(200, {"packages": listed, "next": nxt})
        parts = self.path.split("/")
        if len(parts) == 5 and parts[4] == "package.tar" and parts[3] in packages:
            tar = packages[parts[3]]["tar"]
            etag = '"' + hashlib.sha256(tar).hexdigest() + '"'
            rng = self.headers.get("Range")
            start = int(rng.split("=")[1].rstrip("-")) if rng else 0
            body = tar[start:]
            self.send_response(206 if rng else 200)
            self.send_header("Content-Type", "application/x-tar")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            if rng:
                self.send_header("Content-Range", f"bytes {start}-{len(tar) - 1}/{len(tar)}")
            self.end_headers()
            if parts[3] == "S-GOOD" and not rng and "S-GOOD" not in cut_done:
                cut_done.add("S-GOOD")
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
            self.wfile.write(body)
            return
        self.answer(404, {"error": "not-found", "message": "", "detail": self.path})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        record({"method": "POST", "path": self.path, "body": body})
        parts = self.path.split("/")
        if len(parts) == 5 and parts[4] == "acknowledge" and parts[3] in packages:
            expected = hashlib.sha256(packages[parts[3]]["tar"]).hexdigest()
            if body.get("sha256") != expected:
                return self.answer(409, {"error": "sha256-mismatch", "message": "", "detail": "wrong hash"})
            acknowledged[parts[3]] = "2026-12-04T10:05:00Z"
            return self.answer(200, {"session": parts[3], "acknowledged_at": acknowledged[parts[3]]})
        self.answer(404, {"error": "not-found", "message": "", "detail": self.path})

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), API)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(f"{pki}/server.crt", f"{pki}/server.key")
context.load_verify_locations(f"{pki}/room-ca.crt")
context.verify_mode = ssl.CERT_REQUIRED
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(f"{work}/ready", "w") as f:
    f.write("ready\n")
server.serve_forever()
