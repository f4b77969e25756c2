#!/usr/bin/env python3
"""What Approov's Python quickstart does, on the standard library's HTTP server.

Reads the `Approov-Token` header, verifies it with PyJWT (HS256, the account secret), and
answers 200 `ok`, or 401 `{}` on any failure. Used by bench/load.sh as the reference point.

    python3 bench/python_quickstart.py SECRET_FILE PORT   # SECRET_FILE: the secret as base64
"""

import base64
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt  # PyJWT

SECRET = b""


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, like the Rust servers: the load generator reuses its connections.
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes; with Nagle's algorithm on, the second
    # waits for the client's delayed ACK (40 ms on Linux), which would measure the TCP stack,
    # not Python. hyper writes a response at once, so this is like with like.
    disable_nagle_algorithm = True

    def do_GET(self):
        token = self.headers.get("Approov-Token")
        try:
            if not token:
                raise jwt.InvalidTokenError("missing token")
            jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            self.answer(401, b"{}", "application/json")
            return
        self.answer(200, b"ok", "text/plain; charset=utf-8")

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        # No per-request log line, as for the Rust servers.
        pass


def main():
    global SECRET
    port = int(sys.argv[2])
    with open(sys.argv[1], "rb") as f:
        SECRET = base64.b64decode(f.read().strip())
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{port} (python quickstart)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
