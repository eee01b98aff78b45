"""A small HTTP/1.1 front between roomd's S3 uploader and moto: the "server"
as the client sees it, which the resume test kills and restarts mid-part.

Why: moto 5.2.5 keeps everything in memory and has no way to persist it, so
killing moto would lose the multipart upload itself. Killing this front
instead cuts the client's connection exactly as a server crash would, while
moto keeps the parts it had fully received.

It also logs every request (one line: METHOD TARGET, flushed) so the tests
count UploadPart requests per part number, and it applies the checks AWS S3
makes and moto 5.2.5 does not: on UploadPart the body must hash to
x-amz-checksum-sha256 (else 400 BadDigest) and to x-amz-content-sha256 (else
400 XAmzContentSHA256Mismatch), answered with S3's XML error body.

Usage: s3front.py --upstream PORT --port-file FILE --log FILE [--port P]
                  [--stall-part N] [--corrupt-part N]
  --stall-part N    forward half of part N's body, log "STALL N", then hang
                    (the test kills the process)
  --corrupt-part N  flip one byte of part N's body (first time only) before the checks
"""
import argparse
import base64
import hashlib
import os
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

args = None
log_lock = threading.Lock()
corrupted = set()


def log(line):
    with log_lock, open(args.log, "a") as f:
        f.write(line + "\n")
        f.flush()


def read_head(sock, buffer):
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return None, buffer
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def read_exact(sock, buffer, count):
    while len(buffer) < count:
        data = sock.recv(max(65536, count - len(buffer)))
        if not data:
            raise ConnectionError("peer closed")
        buffer += data
    return buffer[:count], buffer[count:]


def headers_of(head):
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def relay_response(upstream, client, method, buffer):
    head, buffer = read_head(upstream, buffer)
    if head is None:
        raise ConnectionError("upstream closed")
    status_line, headers = headers_of(head)
    status = int(status_line.split()[1])
    client.sendall(head + b"\r\n\r\n")
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return buffer
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            while b"\r\n" not in buffer:
                buffer += upstream.recv(65536)
            size_line, _, buffer = buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk, buffer = read_exact(upstream, buffer, size + 2)
            client.sendall(size_line + b"\r\n" + chunk)
            if size == 0:
                return buffer
    if "content-length" in headers:
        body, buffer = read_exact(upstream, buffer, int(headers["content-length"]))
        client.sendall(body)
        return buffer
    while True:  # until close
        if buffer:
            client.sendall(buffer)
            buffer = b""
        data = upstream.recv(65536)
        if not data:
            raise ConnectionError("response ended by close")
        client.sendall(data)


def error(client, status, code, message):
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>s3front</RequestId></Error>").encode()
    client.sendall(f"HTTP/1.1 {status} Bad Request\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)


def serve(client):
    upstream = socket.create_connection(("127.0.0.1", args.upstream))
    cbuf, ubuf = b"", b""
    try:
        while True:
            head, cbuf = read_head(client, cbuf)
            if head is None:
                return
            request_line, headers = headers_of(head)
            method, target = request_line.split()[0], request_line.split()[1]
            log(f"{method} {target}")
            length = int(headers.get("content-length", "0"))
            query = parse_qs(urlsplit(target).query, keep_blank_values=True)
            part = int(query["partNumber"][0]) if method == "PUT" and "partNumber" in query else None
            if part is not None and part == args.stall_part:
                half = length // 2
                first, cbuf = read_exact(client, cbuf, half)
                upstream.sendall(head + b"\r\n\r\n" + first)
                log(f"STALL {part}")
                while True:
                    time.sleep(3600)
            body, cbuf = read_exact(client, cbuf, length)
            if part is not None:
                if part == args.corrupt_part and part not in corrupted:
                    corrupted.add(part)
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                if "x-amz-checksum-sha256" in headers and \
                        base64.b64encode(hashlib.sha256(body).digest()).decode() != headers["x-amz-checksum-sha256"]:
                    log(f"REFUSED {part} BadDigest")
                    error(client, 400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
                    continue
                if headers.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD") not in ("UNSIGNED-PAYLOAD",) and \
                        not headers["x-amz-content-sha256"].startswith("STREAMING-") and \
                        hashlib.sha256(body).hexdigest() != headers["x-amz-content-sha256"]:
                    log(f"REFUSED {part} XAmzContentSHA256Mismatch")
                    error(client, 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
                    continue
            upstream.sendall(head + b"\r\n\r\n" + body)
            ubuf = relay_response(upstream, client, method, ubuf)
    except (ConnectionError, OSError):
        return
    finally:
        client.close()
        upstream.close()


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--stall-part", type=int)
    parser.add_argument("--corrupt-part", type=int)
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(tmp, args.port_file)  # appears whole: the test polls for it
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
