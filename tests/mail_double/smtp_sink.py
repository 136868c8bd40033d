#!/usr/bin/python3
"""smtp_sink.py - an SMTP server for callscope's tests (stdlib only).

A real SMTP server on 127.0.0.1 that stores what it accepts:

    /usr/bin/python3 tests/mail_double/smtp_sink.py --dir DIR [options]

It binds a free port and writes it to DIR/port (renamed into place, so it
is whole or absent). Every accepted message is written to DIR/msg-N.eml
(the bytes after DATA, dot-stuffing undone) and described by one JSON
line in DIR/messages.jsonl: {"n", "file", "mail_from", "rcpt", "tls",
"auth", "size"}.

Options:
    --starttls CERT KEY   offer STARTTLS with this certificate
    --implicit-tls CERT KEY   TLS from the first byte (smtps://)
    --auth USER:PASS      offer AUTH PLAIN/LOGIN and require it
    --reject-rcpt ADDR    answer 550 to RCPT TO:<ADDR> (repeatable)
    --tempfail-first N    answer 451 to the first N DATA commands
    --delay-data-ms N     wait N ms after the end of data before the 250
                          (the message is stored first)
    --hang-after-data N   from message N on (1-based), store the message
                          and never answer (the client must time out or
                          be killed)
"""

import argparse
import base64
import json
import os
import signal
import socketserver
import ssl
import sys
import threading
import time


class Sink:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.n = 0
        self.data_cmds = 0
        self.log = open(os.path.join(args.dir, "messages.jsonl"), "a")

    def store(self, mail_from, rcpts, data, tls, auth):
        with self.lock:
            self.n += 1
            n = self.n
            path = os.path.join(self.args.dir, "msg-%d.eml" % n)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
            self.log.write(json.dumps({
                "n": n, "file": path, "mail_from": mail_from,
                "rcpt": rcpts, "tls": tls, "auth": auth,
                "size": len(data)}) + "\n")
            self.log.flush()
            return n


def addr_of(arg):
    arg = arg.strip()
    lt, gt = arg.find("<"), arg.find(">")
    if lt < 0 or gt < lt:
        return None
    return arg[lt + 1:gt]


class Handler(socketserver.StreamRequestHandler):
    timeout = 60

    def setup(self):
        super().setup()
        self.tls = False
        if SINK.args.implicit_tls:
            self.wrap()

    def wrap(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = SINK.args.implicit_tls or SINK.args.starttls
        ctx.load_cert_chain(cert, key)
        self.connection = ctx.wrap_socket(self.connection, server_side=True)
        self.request = self.connection
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb", buffering=0)
        self.tls = True

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        args = SINK.args
        self.reply("220 sink.test ESMTP callscope test sink")
        mail_from, rcpts, auth = None, [], None
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            rest = cmd[len(verb):].strip()
            if verb in ("EHLO", "HELO"):
                caps = ["250-sink.test"]
                if args.starttls and not self.tls:
                    caps.append("250-STARTTLS")
                if args.auth:
                    caps.append("250-AUTH PLAIN LOGIN")
                caps.append("250 8BITMIME")
                self.wfile.write(("\r\n".join(caps) + "\r\n").encode())
            elif verb == "STARTTLS" and args.starttls and not self.tls:
                self.reply("220 go ahead")
                self.wrap()
            elif verb == "AUTH" and args.auth:
                parts = rest.split(" ")
                if parts[0].upper() == "PLAIN":
                    if len(parts) > 1:
                        blob = parts[1]
                    else:
                        self.reply("334 ")
                        blob = self.rfile.readline().decode().strip()
                    try:
                        _, user, pw = base64.b64decode(blob).decode().split(
                            "\0")
                    except Exception:
                        user, pw = None, None
                elif parts[0].upper() == "LOGIN":
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(
                        self.rfile.readline().strip()).decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    pw = base64.b64decode(
                        self.rfile.readline().strip()).decode()
                else:
                    self.reply("504 unknown mechanism")
                    continue
                if "%s:%s" % (user, pw) == args.auth:
                    auth = user
                    self.reply("235 authenticated")
                else:
                    self.reply("535 authentication failed")
            elif verb == "MAIL":
                if args.auth and not auth:
                    self.reply("530 authentication required")
                    continue
                mail_from, rcpts = addr_of(rest), []
                self.reply("250 ok")
            elif verb == "RCPT":
                a = addr_of(rest)
                if a in (args.reject_rcpt or []):
                    self.reply("550 5.1.1 <%s>: no such user here" % a)
                else:
                    rcpts.append(a)
                    self.reply("250 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 no valid recipients")
                    continue
                self.reply("354 end with .")
                chunks = []
                while True:
                    dl = self.rfile.readline()
                    if not dl:
                        return  # the client went away mid-message
                    if dl in (b".\r\n", b".\n"):
                        break
                    if dl.startswith(b".."):
                        dl = dl[1:]
                    chunks.append(dl)
                with SINK.lock:
                    SINK.data_cmds += 1
                    k = SINK.data_cmds
                if k <= args.tempfail_first:
                    self.reply("451 4.3.0 try again later")
                    continue
                n = SINK.store(mail_from, rcpts, b"".join(chunks), self.tls,
                               auth)
                if args.hang_after_data and n >= args.hang_after_data:
                    time.sleep(3600)
                    return
                if args.delay_data_ms:
                    time.sleep(args.delay_data_ms / 1000.0)
                self.reply("250 2.0.0 queued as %d" % n)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 ok")
            elif verb == "NOOP":
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def main():
    global SINK
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    p.add_argument("--reject-rcpt", action="append")
    p.add_argument("--tempfail-first", type=int, default=0)
    p.add_argument("--delay-data-ms", type=int, default=0)
    p.add_argument("--hang-after-data", type=int, default=0)
    args = p.parse_args()
    SINK = Sink(args)
    srv = Server(("127.0.0.1", args.port), Handler)
    port_file = os.path.join(args.dir, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(port_file + ".tmp", port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
