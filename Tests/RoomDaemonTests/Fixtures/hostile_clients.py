#!/usr/bin/env python3
"""Hostile clients for roomd's HTTPS API: an attacker's view, independent of
roomd's code (Python's asyncio and ssl).

  hostile_clients.py --port P [--host 127.0.0.1] [--sources 127.0.0.2,127.0.0.3] [--tls-sources 127.0.0.6]
      [--raw N] [--garbage N] [--slow-header N] [--slow-body N]
      [--cert C --key K --ca CA] [--hold SECONDS]

raw:          TCP connections that never send a byte (each source address in turn)
garbage:      connections that send an HTTP request instead of a TLS ClientHello
slow-header:  TLS with a client certificate, then a request head one byte a second
slow-body:    TLS, a whole head announcing 10 000 bytes, then one byte a second

Everything is held for --hold seconds (or until the server closes it) and then
released at once. Prints one JSON object: per kind, how many were opened,
refused at connect, closed by the server (and after how long), still open at
the end; the most held open at once.
"""
import argparse, asyncio, json, socket, ssl, time


class Tally:
    def __init__(self):
        self.opened = 0
        self.refused = 0
        self.closed_by_server = []
        self.open_now = 0
        self.peak = 0
        self.still_open = 0

    def up(self):
        self.opened += 1
        self.open_now += 1
        self.peak = max(self.peak, self.open_now)

    def down(self, started, by_server):
        self.open_now -= 1
        if by_server:
            self.closed_by_server.append(round(time.monotonic() - started, 2))

    def report(self):
        closed = sorted(self.closed_by_server)
        return {"opened": self.opened, "refused_at_connect": self.refused, "closed_by_server": len(closed),
                "closed_after_seconds_median": closed[len(closed) // 2] if closed else None,
                "closed_after_seconds_max": closed[-1] if closed else None,
                "still_open_at_release": self.still_open, "peak_open": self.peak}


async def open_tcp(host, port, source, tally):
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=(source, 0) if source else None), 10)
    except (OSError, asyncio.TimeoutError):
        tally.refused += 1
        return None
    tally.up()
    return reader, writer


async def hold(reader, writer, tally, deadline, started, trickle=None):
    """Reads until EOF (the server closed) or the deadline; trickles bytes meanwhile."""
    by_server = False
    try:
        while time.monotonic() < deadline:
            if trickle is not None:
                chunk = trickle()
                if chunk:
                    writer.write(chunk)
                    await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(4096), 1.0)
                if not data:
                    by_server = True
                    break
            except asyncio.TimeoutError:
                pass
    except (OSError, ssl.SSLError, ConnectionError):
        by_server = True
    if not by_server:
        tally.still_open += 1
    tally.down(started, by_server)
    writer.close()


async def raw_client(args, source, tally, deadline, garbage=False):
    started = time.monotonic()
    conn = await open_tcp(args.host, args.port, source, tally)
    if conn is None:
        return
    reader, writer = conn
    if garbage:
        writer.write(b"GET / HTTP/1.1\r\nHost: roomd\r\n\r\n")
    await hold(reader, writer, tally, deadline, started)


async def tls_client(args, source, tally, deadline, body):
    context = ssl.create_default_context(cafile=args.ca)
    context.check_hostname = False
    context.load_cert_chain(args.cert, args.key)
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            args.host, args.port, ssl=context, local_addr=(source, 0) if source else None), 10)
    except (OSError, ssl.SSLError, asyncio.TimeoutError):
        tally.refused += 1
        return
    tally.up()
    if body:
        writer.write(b"POST /v1/station/heartbeat HTTP/1.1\r\nHost: roomd\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10000\r\n\r\n{")
        pending = iter(lambda: b" ", None)
    else:
        head = iter(b"GET /healthz HTTP/1.1\r\nHost: roomd\r\nX-Padding: " + b"x" * 200)
        pending = (bytes([b]) for b in head)
    await hold(reader, writer, tally, deadline, started, trickle=lambda: next(pending, b""))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sources", default="")
    parser.add_argument("--tls-sources", default="", help="source addresses of the slow TLS clients (default: --sources)")
    parser.add_argument("--raw", type=int, default=0)
    parser.add_argument("--garbage", type=int, default=0)
    parser.add_argument("--slow-header", type=int, default=0)
    parser.add_argument("--slow-body", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    parser.add_argument("--hold", type=float, default=15)
    args = parser.parse_args()
    sources = [s for s in args.sources.split(",") if s] or [None]
    tls_sources = [s for s in args.tls_sources.split(",") if s] or sources
    deadline = time.monotonic() + args.hold
    tallies = {"raw": Tally(), "garbage": Tally(), "slow_header": Tally(), "slow_body": Tally()}
    tasks = []
    for i in range(args.raw):
        tasks.append(raw_client(args, sources[i % len(sources)], tallies["raw"], deadline))
    for i in range(args.garbage):
        tasks.append(raw_client(args, sources[i % len(sources)], tallies["garbage"], deadline, garbage=True))
    for i in range(args.slow_header):
        tasks.append(tls_client(args, tls_sources[i % len(tls_sources)], tallies["slow_header"], deadline, body=False))
    for i in range(args.slow_body):
        tasks.append(tls_client(args, tls_sources[i % len(tls_sources)], tallies["slow_body"], deadline, body=True))
    await asyncio.gather(*tasks)
    print(json.dumps({kind: tally.report() for kind, tally in tallies.items() if tally.opened or tally.refused}))


if __name__ == "__main__":
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main())
