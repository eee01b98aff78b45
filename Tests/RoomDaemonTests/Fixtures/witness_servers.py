#!/usr/bin/env python3
"""Stand-ins for the room's outside witnesses, for LedgerWitnessTests.

  witness_servers.py WORKDIR TSA_PORT PLATFORM_PORT ROOM_PKI

* An RFC 3161 time-stamping authority over plain HTTP: every POSTed
  TimeStampReq is answered by `openssl ts -reply` (OpenSSL's own TSA code, an
  implementation independent of roomd's) with a TSA key and certificate made
  here by the openssl CLI (WORKDIR/tsa-ca.crt is the anchor to trust).
* The central platform over HTTPS with mutual TLS: it demands a client
  certificate from the room CA (ROOM_PKI/room-ca.crt), stores every POSTed
  checkpoint as WORKDIR/platform/<n>.txt and answers 200 with a cosignature line.

Writes WORKDIR/ready when both listen. Runs until killed.
"""
import http.server
import os
import ssl
import subprocess
import sys
import threading

work, tsa_port, platform_port, pki = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(f"{work}/platform", exist_ok=True)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


with open(f"{work}/tsa.cnf", "w") as f:
    f.write("""
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ tsa_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = .
serial = ./tsa-serial
signer_cert = ./tsa.crt
signer_key = ./tsa.key
certs = ./tsa.crt
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
with open(f"{work}/tsa-serial", "w") as f:
    f.write("01\n")
openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa-ca.key",
        "-out", "tsa-ca.crt", "-subj", "/CN=Test TSA Root", "-days", "30")
openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key",
        "-out", "tsa.csr", "-subj", "/CN=Test TSA", "-config", "tsa.cnf")
openssl("x509", "-req", "-in", "tsa.csr", "-CA", "tsa-ca.crt", "-CAkey", "tsa-ca.key", "-set_serial", "2", "-days", "30",
        "-extfile", "tsa.cnf", "-extensions", "tsa_ext", "-out", "tsa.crt")
lock = threading.Lock()


class TSA(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        query = self.rfile.read(int(self.headers["Content-Length"]))
        with lock:
            with open(f"{work}/query.tsq", "wb") as f:
                f.write(query)
            done = subprocess.run(["openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq",
                                   "-out", "reply.tsr"], cwd=work, capture_output=True)
            reply = open(f"{work}/reply.tsr", "rb").read() if done.returncode == 0 else b""
        self.send_response(200 if reply else 500)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


class Platform(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        peer = self.connection.getpeercert()
        with lock:
            Platform.count += 1
            with open(f"{work}/platform/{Platform.count:04d}.txt", "wb") as f:
                f.write(body)
            with open(f"{work}/platform/{Platform.count:04d}.peer", "w") as f:
                f.write(repr(peer.get("subject")))
        answer = ("\u2014 platform-witness AAAAAAAA\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


tsa = http.server.ThreadingHTTPServer(("127.0.0.1", tsa_port), TSA)
platform = http.server.ThreadingHTTPServer(("127.0.0.1", platform_port), Platform)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(f"{pki}/server.crt", f"{pki}/server.key")
context.load_verify_locations(f"{pki}/room-ca.crt")
context.verify_mode = ssl.CERT_REQUIRED
platform.socket = context.wrap_socket(platform.socket, server_side=True)
threading.Thread(target=tsa.serve_forever, daemon=True).start()
threading.Thread(target=platform.serve_forever, daemon=True).start()
open(f"{work}/ready", "w").close()
threading.Event().wait()
