#!/usr/bin/python3
"""seeds.py - the seed corpus of a fuzz target, from the tests' data.

    /usr/bin/python3 tests/fuzz/seeds.py KIND OUTDIR PATH...

PATHs are globs under the current directory (the source tree). KIND is
"lines" (each non-blank line of each file is one input), "files" (each
file is one), "member:KEY" (the JSON member KEY of each file, compact) or
"sets" (the *.json of each folder, four at a time, joined with
"\\n----\\n" as fuzz_rubric splits them). Each input is written as
OUTDIR/<sha1 of it>, as libFuzzer names its corpus files, so running it
again adds nothing twice. Prints how many inputs OUTDIR received.
"""

import glob
import hashlib
import json
import os
import sys


def put(outdir, data, seen):
    name = hashlib.sha1(data).hexdigest()
    if name not in seen:
        seen.add(name)
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


def main():
    kind, outdir, patterns = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(outdir, exist_ok=True)
    paths = sorted({p for pat in patterns for p in glob.glob(pat)})
    if not paths:
        sys.exit("seeds.py: no file matches %s" % " ".join(patterns))
    seen = set()
    for path in paths:
        if kind == "lines":
            with open(path, "rb") as f:
                for line in f:
                    line = line.rstrip(b"\n")
                    if line.strip():
                        put(outdir, line, seen)
        elif kind == "files":
            with open(path, "rb") as f:
                put(outdir, f.read(), seen)
        elif kind.startswith("member:"):
            with open(path, "rb") as f:
                doc = json.load(f)
            if kind[7:] in doc:
                put(outdir, json.dumps(doc[kind[7:]]).encode(), seen)
        elif kind == "sets":
            files = sorted(glob.glob(os.path.join(path, "*.json")))
            for i in range(0, len(files), 4):
                parts = []
                for name in files[i:i + 4]:
                    with open(name, "rb") as f:
                        parts.append(f.read())
                put(outdir, b"\n----\n".join(parts), seen)
        else:
            sys.exit("seeds.py: unknown kind %r" % kind)
    print(len(seen))


if __name__ == "__main__":
    main()
