#!/usr/bin/python3
"""server.py - an OpenAI-compatible chat-completions test double.

A real HTTP/1.1 server on 127.0.0.1 for callscope's integration tests.
Standard library only; run it with Debian's /usr/bin/python3 (the pyenv shim
costs half a second per start).

    /usr/bin/python3 tests/llm_double/server.py --port-file P [options]

Endpoints:
    POST /v1/chat/completions   validates the request and answers from the
                                request's response_format JSON schema
    POST /v1/files              a multipart upload, purpose "batch"
    POST /v1/batches            a batch of an uploaded file's request lines,
                                answered at once as chat requests would be
    GET  /v1/batches/{id}       its status: in_progress for --batch-polls
                                looks, then --batch-outcome (completed;
                                expired: half the lines answered; failed)
    GET  /v1/files/{id}/content a file (the batch's output file)
    DELETE /v1/files/{id}       removes a file (404 when there is none)
    GET  /v1/models             the one model it serves
    GET  /stats                 the counters (also written to --stats-file)
    GET  /healthz               "ok"

Answers are deterministic: every enum choice is taken from a hash of the
request's user messages and the property name, unless the transcript holds
a marker "[[expect key=value]]" (value parsed as JSON when it parses, else
taken as a string), which then decides that property. A top-level property
that may be null (anyOf with {"type": "null"}) is answered null unless its
name appears in the user messages before "<transcript>" (the metrics the
request names), as a model following callscope's instructions would.

Usage is counted as providers count it: the prompt is the response schema
(compact JSON; OpenAI renders it before the system message) followed by
every message's content, and prompt_tokens is its length in characters / 4.
A prompt cache like OpenAI's reports usage.prompt_tokens_details.
cached_tokens: the longest prefix of the prompt, of 1,024 tokens or more
in steps of 128, that an earlier request's prompt began with (--no-cache
turns it off). completion_tokens is the answer's length / 4.

Faults, by rate (drawn from a random.Random(--seed)):
    --p429 R      answer 429 with "Retry-After: --retry-after" (default 1;
                  "none" sends no header)
    --p500 R      answer 500
    --pbad R      answer 200 with something broken (--bad-kinds)
    --phang R     sleep --hang-ms (default 5000) before answering
and per request, by a marker anywhere in the messages:
    [[fault KIND key=value ...]]   KIND: 429 500 503 bad hang close
        times=N        only the first N times this exact body is seen
        retry_after=S  (429) the Retry-After header, "none" for no header
        ms=N           (hang) how long to sleep
        kind=K         (bad) one of the --bad-kinds names
    [[latency N]]                  answer after N ms instead of --latency-ms

Bad kinds: malformed_body, non_json_content, label_outside_enum,
missing_property, score_out_of_range.

With --api-key, a request without "Authorization: Bearer KEY" gets a 401
whose message echoes the key it did get.

With --leak TEXT, every evidence and rationale the double writes ends with
TEXT: a model that quotes personal data it was never sent (from its own
knowledge, or a redaction miss), for tests that check what is stored.

Explain requests (response_format.json_schema.name "callscope_explain")
are answered with themes that group every conversation sent (the
aliases of the schema's examples enum), counts adding up, unless
--explain-mode (or a marker "[[explain MODE]]" in the messages) says to
answer wrongly: invent_id (an example that was not sent), bad_counts
(counts that do not add up), dup_id (one conversation in two themes),
too_many (nine themes), bad_once (invent_id, then a valid answer to the
re-ask).

Counters are written as JSON to --stats-file on SIGTERM/SIGINT and on each
GET /stats. Each received request is appended to --log-file as one JSON
line: {"n", "method", "path", "headers", "body"}.
"""

import argparse
import hashlib
import http.server
import json
import os
import random
import re
import signal
import sys
import threading
import time

BAD_KINDS = ["malformed_body", "non_json_content", "label_outside_enum",
             "missing_property", "score_out_of_range"]
ROLES = {"system", "developer", "user", "assistant", "tool"}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FAULT_RE = re.compile(r"\[\[fault ([a-z0-9_]+)((?: [a-z_]+=[^\s\]]+)*)\]\]")
LATENCY_RE = re.compile(r"\[\[latency (\d+)\]\]")
EXPECT_RE = re.compile(r"\[\[expect ([A-Za-z0-9_.-]+)=([^\]]*)\]\]")
EXPLAIN_RE = re.compile(r"\[\[explain ([a-z_]+)\]\]")
EXPLAIN_MODES = ["ok", "invent_id", "bad_counts", "dup_id", "too_many",
                 "bad_once"]


def explain_answer(schema, mode, reasked):
    """Themes over the aliases the explain schema offers, right or (by
    mode) wrong in one way."""
    items = schema["properties"]["themes"]["items"]["properties"]
    aliases = items["examples"]["items"]["enum"]
    n = len(aliases)
    if mode == "bad_once":
        mode = "ok" if reasked else "invent_id"
    k = min(3, n)
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    themes, at = [], 0
    for i, size in enumerate(sizes):
        group = aliases[at:at + size]
        at += size
        themes.append({"title": "Theme %d" % (i + 1),
                       "description": "Reason number %d." % (i + 1),
                       "count": size, "examples": group[:5]})
    if mode == "invent_id":
        themes[0]["examples"][0] = "c%02d" % (n + 7)
    elif mode == "bad_counts":
        themes[0]["count"] += 2
    elif mode == "dup_id" and len(themes) > 1:
        themes[1]["examples"][0] = themes[0]["examples"][0]
    elif mode == "dup_id":
        themes[0]["examples"].append(themes[0]["examples"][0])
    elif mode == "too_many":
        themes = [{"title": "T%d" % i, "description": "", "count": 1,
                   "examples": [aliases[i % n]]} for i in range(9)]
    return {"themes": themes}


class BadRequest(Exception):
    def __init__(self, message, param=None, status=400):
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


class State:
    """Counters and fault decisions shared by all handler threads."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.rng = random.Random(args.seed)
        self.seen = {}          # sha256(body) -> times seen
        self.prefixes = set()   # sha256 of cacheable prompt prefixes
        self.n = 0
        self.stats = {
            "requests_total": 0,
            "connections": 0,
            "chat_requests": 0,
            "batch_files": 0,
            "batches": 0,
            "batch_requests": 0,
            "files_deleted": 0,
            "ok": 0,
            "by_path": {},
            "by_status": {},
            "faults": {"429": 0, "500": 0, "503": 0, "bad": 0,
                       "hang": 0, "close": 0},
            "bad_kinds": {k: 0 for k in BAD_KINDS},
            "invalid_requests": 0,
            "unauthorized": 0,
            "prompt_tokens": 0,
            "cached_tokens": 0,
            "completion_tokens": 0,
            "chat_in_flight_max": 0,
        }
        self.in_flight = 0
        self.batches = None     # the Batches, for files_held
        self.log = None
        if args.log_file:
            self.log = open(args.log_file, "a", encoding="utf-8")

    def begin(self, method, path, headers, body):
        with self.lock:
            self.n += 1
            n = self.n
            s = self.stats
            s["requests_total"] += 1
            s["by_path"][path] = s["by_path"].get(path, 0) + 1
            digest = hashlib.sha256(body).hexdigest()
            self.seen[digest] = self.seen.get(digest, 0) + 1
            times_seen = self.seen[digest]
            draw = self.rng.random()
            bad_pick = self.rng.randrange(len(self.args.bad_kinds))
            if self.log:
                rec = {"n": n, "method": method, "path": path,
                       "headers": dict(headers.items()),
                       "body": body.decode("utf-8", "replace")}
                self.log.write(json.dumps(rec) + "\n")
                self.log.flush()
        return n, times_seen, draw, bad_pick

    def enter(self):
        """A chat request is being answered (its latency included)."""
        with self.lock:
            self.in_flight += 1
            if self.in_flight > self.stats["chat_in_flight_max"]:
                self.stats["chat_in_flight_max"] = self.in_flight

    def leave(self):
        with self.lock:
            self.in_flight -= 1

    def count(self, *keys):
        with self.lock:
            d = self.stats
            for k in keys[:-1]:
                d = d.setdefault(k, {})
            d[keys[-1]] = d.get(keys[-1], 0) + 1

    def status(self, code):
        with self.lock:
            bs = self.stats["by_status"]
            bs[str(code)] = bs.get(str(code), 0) + 1

    def cached(self, prompt):
        """Tokens of `prompt` an earlier prompt's cache covers (OpenAI's
        rule: 1,024 tokens or more, in steps of 128), and remembers this
        one's prefixes."""
        step, first = 128 * 4, 1024 * 4
        bounds = list(range(first, len(prompt) + 1, step))
        digests = []
        m = hashlib.sha256()
        at = 0
        for b in bounds:
            m.update(prompt[at:b].encode("utf-8", "replace"))
            at = b
            digests.append(m.copy().hexdigest())
        with self.lock:
            hit = 0
            if not self.args.no_cache:
                for b, d in zip(bounds, digests):
                    if d in self.prefixes:
                        hit = b // 4
            self.prefixes.update(digests)
        return hit

    def usage(self, prompt, cached, completion):
        with self.lock:
            self.stats["prompt_tokens"] += prompt
            self.stats["cached_tokens"] += cached
            self.stats["completion_tokens"] += completion

    def snapshot(self):
        with self.lock:
            out = json.loads(json.dumps(self.stats))
        if self.batches is not None:
            out["files_held"] = len(self.batches.files)
        return out

    def write_stats(self):
        if not self.args.stats_file:
            return
        data = json.dumps(self.snapshot(), indent=1, sort_keys=True)
        tmp = self.args.stats_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data + "\n")
        os.replace(tmp, self.args.stats_file)


def h64(*parts):
    """A stable 64-bit hash of strings (the same across runs and hosts)."""
    m = hashlib.sha256()
    for p in parts:
        m.update(p.encode("utf-8", "replace"))
        m.update(b"\0")
    return int.from_bytes(m.digest()[:8], "big")


def content_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
        return "\n".join(out)
    return ""


def validate(req, args):
    """Raises BadRequest unless `req` is a plausible chat-completions body."""
    if not isinstance(req, dict):
        raise BadRequest("request body must be a JSON object")
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' must be a non-empty string", "model")
    if args.model and model != args.model:
        raise BadRequest("the model '%s' does not exist" % model, "model",
                         404)
    msgs = req.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise BadRequest("'messages' must be a non-empty array", "messages")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise BadRequest("messages[%d] must be an object" % i, "messages")
        if m.get("role") not in ROLES:
            raise BadRequest("messages[%d].role is invalid" % i, "messages")
        c = m.get("content")
        if not isinstance(c, (str, list)):
            raise BadRequest("messages[%d].content must be a string or an "
                             "array" % i, "messages")
    t = req.get("temperature")
    if t is not None and (not isinstance(t, (int, float))
                          or isinstance(t, bool) or not 0 <= t <= 2):
        raise BadRequest("'temperature' must be a number in [0, 2]",
                         "temperature")
    for key in ("max_tokens", "max_completion_tokens"):
        v = req.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)
                              or v <= 0):
            raise BadRequest("'%s' must be a positive integer" % key, key)
    rf = req.get("response_format")
    if rf is None:
        return None
    if not isinstance(rf, dict):
        raise BadRequest("'response_format' must be an object",
                         "response_format")
    kind = rf.get("type")
    if kind in ("text", "json_object"):
        return kind
    if kind != "json_schema":
        raise BadRequest("response_format.type must be text, json_object "
                         "or json_schema", "response_format.type")
    js = rf.get("json_schema")
    if not isinstance(js, dict):
        raise BadRequest("response_format.json_schema must be an object",
                         "response_format.json_schema")
    if not isinstance(js.get("name"), str) or not NAME_RE.match(js["name"]):
        raise BadRequest("response_format.json_schema.name must match "
                         "[A-Za-z0-9_-]{1,64}",
                         "response_format.json_schema.name")
    schema = js.get("schema")
    if not isinstance(schema, dict):
        raise BadRequest("response_format.json_schema.schema must be an "
                         "object", "response_format.json_schema.schema")
    check_schema(schema, "schema")
    return kind


def check_schema(s, where):
    if not isinstance(s, dict):
        raise BadRequest("%s must be an object" % where, where)
    for key in ("anyOf", "oneOf"):
        if key in s:
            if not isinstance(s[key], list) or not s[key]:
                raise BadRequest("%s.%s must be a non-empty array"
                                 % (where, key), where)
            for i, sub in enumerate(s[key]):
                check_schema(sub, "%s.%s[%d]" % (where, key, i))
    if "enum" in s and (not isinstance(s["enum"], list) or not s["enum"]):
        raise BadRequest("%s.enum must be a non-empty array" % where, where)
    if s.get("type") == "object" or "properties" in s:
        props = s.get("properties", {})
        if not isinstance(props, dict):
            raise BadRequest("%s.properties must be an object" % where, where)
        for name, sub in props.items():
            check_schema(sub, "%s.properties.%s" % (where, name))
        req = s.get("required", [])
        if not isinstance(req, list) or any(r not in props for r in req):
            raise BadRequest("%s.required names an unknown property" % where,
                             where)
    if s.get("type") == "array" and "items" in s:
        check_schema(s["items"], where + ".items")


class Answerer:
    """Builds a schema-valid object for one request."""

    def __init__(self, user_text, all_text, leak=""):
        self.user = user_text
        self.leak = leak
        self.named = user_text.split("<transcript>", 1)[0]
        self.expect = {}
        for key, raw in EXPECT_RE.findall(all_text):
            try:
                self.expect[key] = json.loads(raw)
            except ValueError:
                self.expect[key] = raw

    def pick(self, name, choices):
        return choices[h64(self.user, name) % len(choices)]

    def quote(self):
        text = EXPECT_RE.sub("", FAULT_RE.sub("", self.user)).strip()
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if not lines:
            return ""
        line = self.pick("evidence-line", lines)
        words = line.split()
        if len(words) > 12:
            start = h64(self.user, "evidence-start") % (len(words) - 11)
            words = words[start:start + 12]
        return " ".join(words)

    def value(self, name, s):
        if name in self.expect:
            return self.expect[name]
        if "const" in s:
            return s["const"]
        if "enum" in s:
            return self.pick(name, s["enum"])
        for key in ("anyOf", "oneOf"):
            nullable = [x for x in s.get(key, []) if x.get("type") != "null"]
            if key in s and len(nullable) < len(s[key]):
                # A property that may be null: null when top-level and not
                # named in the request, else its other option.
                if "." not in name and not re.search(
                        r"\b%s\b" % re.escape(name), self.named):
                    return None
                return self.value(name, nullable[0])
            if key in s:
                options = []
                for sub in s[key]:
                    if "enum" in sub:
                        options.extend(sub["enum"])
                    elif "const" in sub:
                        options.append(sub["const"])
                    elif sub.get("type") == "boolean":
                        options.extend([True, False])
                    else:
                        options.append(("schema", sub))
                choice = self.pick(name, options)
                if isinstance(choice, tuple):
                    return self.value(name, choice[1])
                return choice
        t = s.get("type")
        if isinstance(t, list):
            non_null = [x for x in t if x != "null"]
            t = non_null[0] if non_null else "null"
        if t == "object" or "properties" in s:
            return self.obj(s, name + ".")
        if t == "array":
            item = s.get("items", {"type": "string"})
            n = max(1, s.get("minItems", 1))
            return [self.value(name, item) for _ in range(n)]
        if t == "boolean":
            return self.pick(name, [True, False])
        if t == "integer":
            lo = s.get("minimum", 0)
            hi = s.get("maximum", lo + 10)
            return lo + h64(self.user, name) % (hi - lo + 1)
        if t == "number":
            lo = s.get("minimum", 0.0)
            hi = s.get("maximum", 1.0)
            frac = (h64(self.user, name) % 1001) / 1000.0
            return round(lo + (hi - lo) * frac, 3)
        if t == "null":
            return None
        base = name.rsplit(".", 1)[-1]
        if base == "evidence" or base.endswith("_evidence"):
            return (self.quote() + " " + self.leak).strip()
        if base == "rationale" or base.endswith("_rationale"):
            return ("The transcript supports this answer for '%s'. %s"
                    % (base, self.leak)).strip()
        return "%s-%d" % (base, h64(self.user, name) % 1000)

    def obj(self, s, prefix=""):
        out = {}
        for name, sub in s.get("properties", {}).items():
            out[name] = self.value(prefix + name if prefix else name, sub)
        return out


def entry_schema(sub):
    """The object option of a nullable property, else `sub`."""
    for x in sub.get("anyOf", []):
        if x.get("type") == "object":
            return x
    return sub


def break_answer(obj, schema, kind):
    """Returns content (a string) that violates `schema` in the named way."""
    props = schema.get("properties", {})
    # An answer of nullable metric entries: break the first entry given.
    for name, sub in props.items():
        inner = entry_schema(sub)
        if inner is sub or not isinstance(obj.get(name), dict):
            continue
        vs = inner.get("properties", {}).get("value", {})
        if kind == "label_outside_enum" and ("enum" in vs or "anyOf" in vs
                                             or vs.get("type") == "boolean"):
            obj[name]["value"] = "definitely-not-a-label"
            return json.dumps(obj)
        if kind == "score_out_of_range" and vs.get("type") == "integer":
            obj[name]["value"] = vs.get("maximum", 100) + 7
            return json.dumps(obj)
        if kind == "missing_property":
            del obj[name]
            return json.dumps(obj)
    if kind == "non_json_content":
        return "Sure! Here is my assessment: it went fine."
    if kind == "missing_property":
        req = schema.get("required") or list(props)
        if req and req[0] in obj:
            del obj[req[0]]
        return json.dumps(obj)
    if kind == "label_outside_enum":
        for name, sub in props.items():
            if "enum" in sub or "anyOf" in sub:
                obj[name] = "definitely-not-a-label"
                return json.dumps(obj)
        obj["value"] = "definitely-not-a-label"
        return json.dumps(obj)
    if kind == "score_out_of_range":
        for name, sub in props.items():
            if sub.get("type") in ("integer", "number"):
                obj[name] = sub.get("maximum", 100) + 7
                return json.dumps(obj)
        obj["score"] = 10 ** 6
        return json.dumps(obj)
    return json.dumps(obj)


def parse_marker(text, times_seen):
    """The [[fault ...]] marker in force for this try, or None."""
    m = FAULT_RE.search(text)
    if not m:
        return None
    opts = {}
    for pair in m.group(2).split():
        k, _, v = pair.partition("=")
        opts[k] = v
    if "times" in opts:
        try:
            if times_seen > int(opts["times"]):
                return None
        except ValueError:
            pass
    return m.group(1), opts


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "callscope-llm-double/1"
    # Headers and body go out in two writes; with Nagle on, the second
    # waits for the client's delayed ACK (~40 ms on Linux) per answer.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.state.count("connections")

    def log_message(self, fmt, *a):  # quiet: tests read stats, not logs
        if self.server.state.args.verbose:
            sys.stderr.write("double: " + fmt % a + "\n")

    def reply(self, status, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.server.state.status(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def error(self, status, message, etype="invalid_request_error",
              param=None, headers=None):
        self.reply(status, {"error": {"message": message, "type": etype,
                                      "param": param, "code": None}},
                   headers=headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        st = self.server.state
        path = self.path.split("?", 1)[0]
        st.begin("GET", path, self.headers, b"")
        if path == "/v1/models":
            model = st.args.model or "double-judge"
            self.reply(200, {"object": "list", "data": [
                {"id": model, "object": "model", "created": 0,
                 "owned_by": "callscope-double"}]})
        elif path == "/stats":
            st.write_stats()
            self.reply(200, st.snapshot())
        elif path == "/healthz":
            self.reply(200, "ok\n", "text/plain")
        elif path.startswith("/v1/batches/") and \
                path[12:] in self.server.batches.batches:
            b = self.server.batches.batches[path[12:]]
            b.setdefault("wait", st.args.batch_polls)
            self.reply(200, self.server.batches.view(path[12:]))
        elif path.startswith("/v1/files/") and path.endswith("/content") \
                and path[10:-8] in self.server.batches.files:
            self.reply(200, self.server.batches.files[path[10:-8]],
                       "application/octet-stream")
        else:
            self.error(404, "no route for GET %s" % path)

    def do_DELETE(self):
        st = self.server.state
        path = self.path.split("?", 1)[0]
        st.begin("DELETE", path, self.headers, b"")
        fid = path[10:] if path.startswith("/v1/files/") else None
        if fid and self.server.batches.delete(fid):
            st.count("files_deleted")
            self.reply(200, {"id": fid, "object": "file", "deleted": True})
        else:
            self.error(404, "no such file: %s" % path)

    def do_POST(self):
        st = self.server.state
        args = st.args
        path = self.path.split("?", 1)[0]
        body = self.read_body()
        _, times_seen, draw, bad_pick = st.begin("POST", path, self.headers,
                                                 body)
        if path in ("/v1/files", "/v1/batches"):
            try:
                if path == "/v1/files":
                    out = self.server.batches.upload(st, multipart_fields(
                        self.headers.get("Content-Type"), body))
                else:
                    out = self.server.batches.create(
                        st, json.loads(body.decode("utf-8")))
            except BadRequest as e:
                st.count("invalid_requests")
                self.error(e.status, e.message, param=e.param)
                return
            self.reply(200, out)
            return
        if path != "/v1/chat/completions":
            self.error(404, "no route for POST %s" % path)
            return
        st.enter()
        try:
            self.chat(st, args, body, times_seen, draw, bad_pick)
        finally:
            st.leave()

    def chat(self, st, args, body, times_seen, draw, bad_pick):
        """POST /v1/chat/completions, counted in chat_in_flight_max."""
        st.count("chat_requests")
        if args.api_key is not None:
            got = self.headers.get("Authorization") or ""
            if got != "Bearer " + args.api_key:
                # Echoes what it got, as some providers do in part: the
                # client must keep it out of its own error messages.
                st.count("unauthorized")
                self.error(401, "incorrect API key provided: %s"
                           % got.replace("Bearer ", "", 1),
                           "authentication_error")
                return
        try:
            req = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            st.count("invalid_requests")
            self.error(400, "request body is not valid JSON: %s" % e)
            return
        try:
            rf_kind = validate(req, args)
        except BadRequest as e:
            st.count("invalid_requests")
            self.error(e.status, e.message, param=e.param)
            return

        msgs = req["messages"]
        all_text = "\n".join(content_text(m.get("content")) for m in msgs)
        user_text = "\n".join(content_text(m.get("content")) for m in msgs
                              if m.get("role") == "user")

        # Decide the fault: a marker wins over the random rates.
        fault, fopts = None, {}
        marker = parse_marker(all_text, times_seen)
        if marker:
            fault, fopts = marker
        else:
            edge = 0.0
            for name, p in (("429", args.p429), ("500", args.p500),
                            ("bad", args.pbad), ("hang", args.phang)):
                edge += p
                if draw < edge:
                    fault = name
                    break

        lat = args.latency_ms
        m = LATENCY_RE.search(all_text)
        if m:
            lat = int(m.group(1))
        if fault == "hang":
            st.count("faults", "hang")
            lat = int(fopts.get("ms", args.hang_ms))
        if lat > 0:
            time.sleep(lat / 1000.0)

        if fault == "429":
            st.count("faults", "429")
            ra = fopts.get("retry_after", args.retry_after)
            hdr = {} if ra == "none" else {"Retry-After": ra}
            self.error(429, "rate limit reached, slow down",
                       "rate_limit_error", headers=hdr)
            return
        if fault in ("500", "503"):
            st.count("faults", fault)
            self.error(int(fault), "the server had an error",
                       "server_error")
            return
        if fault == "close":
            st.count("faults", "close")
            self.close_connection = True
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 99")
                self.wfile.flush()
            except OSError:
                pass
            return

        schema = None
        if rf_kind == "json_schema":
            schema = req["response_format"]["json_schema"]["schema"]
        ans = Answerer(user_text, all_text, args.leak or "")
        js_name = (req.get("response_format") or {}).get(
            "json_schema", {}).get("name") if rf_kind == "json_schema" \
            else None
        if js_name == "callscope_explain":
            m = EXPLAIN_RE.search(all_text)
            mode = m.group(1) if m else args.explain_mode
            reasked = any(x.get("role") == "assistant" for x in msgs)
            st.count("explain", mode)
            obj = explain_answer(schema, mode, reasked)
            content = json.dumps(obj)
        elif schema is not None:
            obj = ans.obj(schema) if ("properties" in schema
                                      or schema.get("type") == "object") \
                else ans.value("value", schema)
            content = json.dumps(obj)
        elif rf_kind == "json_object":
            content = json.dumps({"answer": ans.quote()})
        else:
            content = "This is the double's answer."

        if fault == "bad":
            kind = fopts.get("kind") or args.bad_kinds[bad_pick]
            if kind not in BAD_KINDS:
                kind = "malformed_body"
            st.count("faults", "bad")
            st.count("bad_kinds", kind)
            if kind == "malformed_body":
                self.reply(200, '{"id": "chatcmpl-bad", "choices": [{"mess')
                return
            content = break_answer(obj if schema is not None else {},
                                   schema or {}, kind)

        prompt = (json.dumps(schema, separators=(",", ":")) + "\n"
                  if schema is not None else "")
        prompt += "\n".join(content_text(m.get("content")) for m in msgs)
        prompt_tokens = max(1, len(prompt) // 4)
        cached_tokens = min(st.cached(prompt), prompt_tokens)
        completion_tokens = max(1, len(content) // 4)
        st.usage(prompt_tokens, cached_tokens, completion_tokens)
        st.count("ok")
        self.reply(200, {
            "id": "chatcmpl-%016x" % h64(body.decode("utf-8", "replace")),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req["model"],
            "choices": [{"index": 0,
                         "message": {"role": "assistant",
                                     "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens,
                      "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {
                          "cached_tokens": cached_tokens}},
        })


def batch_completion(st, req, body_text):
    """The chat completion a batch line's body gets: answered as a
    synchronous request without faults, usage counted the same way
    (the double's prompt cache included)."""
    rf_kind = validate(req, st.args)
    msgs = req["messages"]
    all_text = "\n".join(content_text(m.get("content")) for m in msgs)
    user_text = "\n".join(content_text(m.get("content")) for m in msgs
                          if m.get("role") == "user")
    schema = None
    if rf_kind == "json_schema":
        schema = req["response_format"]["json_schema"]["schema"]
    ans = Answerer(user_text, all_text, st.args.leak or "")
    if schema is not None:
        content = json.dumps(ans.obj(schema))
    else:
        content = "This is the double's answer."
    prompt = (json.dumps(schema, separators=(",", ":")) + "\n"
              if schema is not None else "")
    prompt += "\n".join(content_text(m.get("content")) for m in msgs)
    prompt_tokens = max(1, len(prompt) // 4)
    cached_tokens = min(st.cached(prompt), prompt_tokens)
    completion_tokens = max(1, len(content) // 4)
    st.usage(prompt_tokens, cached_tokens, completion_tokens)
    return {
        "id": "chatcmpl-%016x" % h64(body_text),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req["model"],
        "choices": [{"index": 0,
                     "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens,
                  "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": cached_tokens}},
    }


def multipart_fields(ctype, body):
    """{name: bytes} of a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', ctype or "")
    if not m:
        raise BadRequest("not multipart/form-data", "file")
    out = {}
    for part in body.split(b"--" + m.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        n = re.search(rb'name="([^"]*)"', head)
        if n:
            out[n.group(1).decode()] = data[:-2] if data.endswith(
                b"\r\n") else data
    return out


class Batches:
    """The Files and Batch APIs, enough for callscope: a file uploaded with
    purpose "batch", a batch made of it (answered at once, line by line,
    as synchronous requests would be), its status ("in_progress" for the
    first --batch-polls looks, then --batch-outcome: completed, expired
    or failed), its output file. An expired batch has answered the first
    half of its lines."""

    def __init__(self):
        self.lock = threading.Lock()
        self.files = {}
        self.batches = {}
        self.n = 0

    def new_id(self, prefix):
        with self.lock:
            self.n += 1
            return "%s-%d" % (prefix, self.n)

    def upload(self, st, fields):
        if fields.get("purpose", b"").decode() != "batch" or \
                "file" not in fields:
            raise BadRequest("purpose must be batch, with a file",
                             "purpose")
        fid = self.new_id("file")
        self.files[fid] = fields["file"]
        st.count("batch_files")
        return {"id": fid, "object": "file", "purpose": "batch",
                "bytes": len(fields["file"])}

    def create(self, st, req):
        fid = req.get("input_file_id")
        if fid not in self.files or \
                req.get("endpoint") != "/v1/chat/completions" or \
                req.get("completion_window") != "24h":
            raise BadRequest("bad batch request", "input_file_id")
        outcome = st.args.batch_outcome
        data = self.files[fid]
        lines = [x for x in data.decode().split("\n") if x]
        # OpenAI's limits of an input file, as configured.
        if len(lines) > st.args.batch_max_requests:
            raise BadRequest("the input file has %d requests, more than "
                             "%d" % (len(lines), st.args.batch_max_requests),
                             "input_file_id")
        if len(data) > st.args.batch_max_bytes:
            raise BadRequest("the input file has %d bytes, more than %d"
                             % (len(data), st.args.batch_max_bytes),
                             "input_file_id")
        if outcome == "expired":
            lines = lines[:len(lines) // 2]
        out = []
        if outcome != "failed":
            for x in lines:
                line = json.loads(x)
                if line.get("method") != "POST" or \
                        line.get("url") != "/v1/chat/completions":
                    raise BadRequest("bad batch line", "url")
                body = batch_completion(st, line["body"], json.dumps(
                    line["body"]))
                st.count("batch_requests")
                out.append(json.dumps({
                    "id": "batch_req_%d" % len(out),
                    "custom_id": line["custom_id"],
                    "response": {"status_code": 200, "body": body},
                    "error": None}))
        bid = self.new_id("batch")
        ofid = None
        if out:
            ofid = self.new_id("file")
            self.files[ofid] = ("\n".join(out) + "\n").encode()
        self.batches[bid] = {"id": bid, "object": "batch",
                             "endpoint": "/v1/chat/completions",
                             "input_file_id": fid,
                             "completion_window": "24h",
                             "polls": 0, "final": outcome,
                             "final_output": ofid}
        st.count("batches")
        return self.view(bid, count=False)

    def delete(self, fid):
        with self.lock:
            return self.files.pop(fid, None) is not None

    def view(self, bid, count=True):
        b = self.batches[bid]
        if count:
            b["polls"] += 1
        done = b["polls"] > b.get("wait", 0) and count
        v = {k: b[k] for k in ("id", "object", "endpoint", "input_file_id",
                               "completion_window")}
        v["status"] = b["final"] if done else "in_progress"
        v["output_file_id"] = b["final_output"] if done else None
        v["error_file_id"] = None
        return v


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128   # the default 5 drops bursts of connections
    allow_reuse_address = True
    block_on_close = False


def rate(s):
    v = float(s)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("rate must be in [0, 1]")
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--stats-file")
    ap.add_argument("--log-file")
    ap.add_argument("--model", help="the only model accepted (default: any)")
    ap.add_argument("--api-key", help="require 'Authorization: Bearer KEY'")
    ap.add_argument("--p429", type=rate, default=0.0)
    ap.add_argument("--p500", type=rate, default=0.0)
    ap.add_argument("--pbad", type=rate, default=0.0)
    ap.add_argument("--phang", type=rate, default=0.0)
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--hang-ms", type=int, default=5000)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--bad-kinds", default=",".join(BAD_KINDS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--leak", help="text every evidence and rationale ends "
                    "with")
    ap.add_argument("--explain-mode", default="ok", choices=EXPLAIN_MODES,
                    help="how explain requests are answered")
    ap.add_argument("--no-cache", action="store_true",
                    help="report no cached prompt tokens")
    ap.add_argument("--batch-polls", type=int, default=0,
                    help="looks at a batch that say in_progress first")
    ap.add_argument("--batch-outcome", default="completed",
                    choices=("completed", "expired", "failed"),
                    help="how batches end")
    ap.add_argument("--batch-max-requests", type=int, default=50000,
                    help="requests an input file may hold (else 400)")
    ap.add_argument("--batch-max-bytes", type=int, default=200000000,
                    help="bytes an input file may hold (else 400)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    args.bad_kinds = [k for k in args.bad_kinds.split(",") if k]
    for k in args.bad_kinds:
        if k not in BAD_KINDS:
            ap.error("unknown bad kind '%s'" % k)
    if args.p429 + args.p500 + args.pbad + args.phang > 1.0:
        ap.error("fault rates add up to more than 1")

    srv = Server(("127.0.0.1", 0), Handler)
    srv.batches = Batches()
    srv.state = State(args)
    srv.state.batches = srv.batches

    def stop(signum, frame):
        srv.state.write_stats()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    port = srv.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)   # readers never see a partial file
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
