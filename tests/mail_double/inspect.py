#!/usr/bin/python3
"""inspect.py - what a recipient would see of the messages in a folder.

    /usr/bin/python3 tests/mail_double/inspect.py FILE.eml...
    /usr/bin/python3 tests/mail_double/inspect.py --sink DIR

Prints one JSON array: for each message {"file", "rcpt" (the envelope
recipients, from the sink's log), "from", "to", "subject" (decoded),
"message_id", "date", "types" (every part's content type, in order),
"text", "html" (the decoded bodies), "attachments" [{"filename", "type",
"sha256", "size"}], "raw_subject" (as on the wire), "max_line" (the longest
line in bytes), "bare_lf" (LFs without CR), "header_names" (every top
header name)}.
"""

import email
import email.policy
import hashlib
import json
import os
import sys


def describe(path, rcpt=None):
    raw = open(path, "rb").read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    msg = {
        "file": path, "rcpt": rcpt, "from": str(m["From"]),
        "to": str(m["To"]), "subject": str(m["Subject"]),
        "message_id": str(m["Message-ID"]), "date": str(m["Date"]),
        "types": [p.get_content_type() for p in m.walk()],
        "attachments": [],
        "raw_subject": email.message_from_bytes(raw)["Subject"],
        "max_line": max(len(l) for l in raw.split(b"\r\n")),
        "bare_lf": raw.count(b"\n") - raw.count(b"\r\n"),
        "header_names": list(m.keys()),
    }
    body = m.get_body(("plain",))
    msg["text"] = body.get_content().replace("\r\n", "\n") if body else None
    body = m.get_body(("html",))
    msg["html"] = body.get_content().replace("\r\n", "\n") if body else None
    for part in m.iter_attachments():
        data = part.get_payload(decode=True)
        msg["attachments"].append({
            "filename": part.get_filename(), "type": part.get_content_type(),
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    return msg


def main():
    out = []
    if sys.argv[1] == "--sink":
        log = os.path.join(sys.argv[2], "messages.jsonl")
        if os.path.exists(log):
            for line in open(log):
                rec = json.loads(line)
                out.append(describe(rec["file"], rec["rcpt"]))
    else:
        out = [describe(p) for p in sys.argv[1:]]
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
