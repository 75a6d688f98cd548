"""A local stand-in for a push service: every POST is answered 201 after a delay (100 ms).

    .venv/bin/python bench/pushserver.py [--port 8091] [--delay 0.1]

It counts the POSTs per path, so the morning rush can tell whether each subscription got its
message exactly once: GET /stats answers {"posts": total, "paths": {path: count}}, and
GET /reset clears the counts. It never decrypts anything (tests/portal do that); it stands for
the network wait of a real push service. Loopback only.

One asyncio loop serves every connection (HTTP/1.1, kept alive): the wait costs no thread, so
the stand-in takes as little of the machine's CPU as it can (a thread per connection took about
0.3 ms a push, which the workers under test then lacked on a 2-core machine).
"""

import argparse
import asyncio
import json
from collections import Counter

counts: Counter[str] = Counter()


async def answer(writer: asyncio.StreamWriter, status: str, body: bytes = b"", kind: str = "") -> None:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
    if kind:
        head += f"Content-Type: {kind}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if length:
                await reader.readexactly(length)
            if method == "POST":
                await asyncio.sleep(delay)
                counts[path] += 1
                await answer(writer, "201 Created")
            elif method == "GET":
                if path == "/reset":
                    counts.clear()
                body = json.dumps({"posts": sum(counts.values()), "paths": dict(counts)}).encode()
                await answer(writer, "200 OK", body, "application/json")
            else:
                await answer(writer, "405 Method Not Allowed")
            if headers.get("connection", "").lower() == "close":
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()


async def main_async(port: int, delay: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, delay), "127.0.0.1", port, backlog=1024, limit=65536
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each 201")
    args = parser.parse_args()
    asyncio.run(main_async(args.port, args.delay))


if __name__ == "__main__":
    main()
