#!/usr/bin/python3
"""webhook.py - a Slack-compatible incoming-webhook double (stdlib only).

    /usr/bin/python3 tests/mail_double/webhook.py --dir DIR [--script S]

Binds a free port on 127.0.0.1 and writes it to DIR/port (renamed into
place). Every POST is appended to DIR/requests.jsonl as {"n", "t"
(monotonic seconds), "path", "status", "valid" (the body is a JSON object
with a string "text" and a list "blocks"), "body"}.

--script says how the first requests are answered, e.g. "429,500,500":
the first gets 429 with "Retry-After: 1", the next two 500; every later
request gets 200 "ok". A request whose body is not valid JSON gets 400.
"""

import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.n = 0
        self.script = [int(s) for s in args.script.split(",") if s]
        self.log = open(os.path.join(args.dir, "requests.jsonl"), "a")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_POST(self):
        n_bytes = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n_bytes)
        try:
            doc = json.loads(body)
            valid = (isinstance(doc, dict) and
                     isinstance(doc.get("text"), str) and
                     isinstance(doc.get("blocks"), list))
        except ValueError:
            valid = False
        with STATE.lock:
            STATE.n += 1
            n = STATE.n
            status = STATE.script[n - 1] if n <= len(STATE.script) else 200
            if not valid:
                status = 400
            STATE.log.write(json.dumps({
                "n": n, "t": time.monotonic(), "path": self.path,
                "status": status, "valid": valid,
                "body": body.decode("utf-8", "replace")}) + "\n")
            STATE.log.flush()
        out = b"ok" if status == 200 else b"no"
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    global STATE
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--script", default="")
    args = p.parse_args()
    STATE = State(args)
    srv = Server(("127.0.0.1", 0), Handler)
    port_file = os.path.join(args.dir, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(port_file + ".tmp", port_file)
    signal.signal(signal.SIGTERM, lambda s, f: threading.Thread(
        target=srv.shutdown, daemon=True).start())
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
