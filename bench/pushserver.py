"""A local stand-in for a push service: every POST is answered 201 after a delay (100 ms).

    .venv/bin/python bench/pushserver.py [--port 8091] [--delay 0.1]

It counts the POSTs per path, so the morning rush can tell whether each subscription got its
message exactly once: GET /stats answers {"posts": total, "paths": {path: count}}, and
GET /reset clears the counts. It never decrypts anything (tests/portal do that); it stands for
the network wait of a real push service. Loopback only.
"""

import argparse
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts: Counter[str] = Counter()
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.1

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        time.sleep(self.delay)
        with lock:
            counts[self.path] += 1
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        with lock:
            if self.path == "/reset":
                counts.clear()
            body = json.dumps({"posts": sum(counts.values()), "paths": dict(counts)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each 201")
    args = parser.parse_args()
    Handler.delay = args.delay
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    server.serve_forever()


if __name__ == "__main__":
    main()
