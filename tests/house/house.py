#!/usr/bin/env python3
"""The house rules (README, docs/architecture.md) that a compiler does not
check: no function over 120 lines in core/, api/ or link/, and no source
file over 900 lines anywhere.  Prints each breach and exits 1 if any.

A function is counted from the line that opens its body at column 0 ('{')
to its closing '}' at column 0, plus its signature lines: the layout every
C file here uses."""
import os
import sys

FUNC_MAX, FILE_MAX = 120, 900
FUNC_DIRS = ("core", "api", "link")
SOURCE_EXT = (".c", ".h", ".py", ".sh")
SKIP_DIRS = {".git", "build", "build-asan", "build-fuzz", "corpus", "crashes", "__pycache__"}


def functions(lines):
    """(name, first line, length) of each top-level function body."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            # the signature: back up over the lines that belong to it
            j = i - 1
            while j > 0 and lines[j - 1].strip() and not lines[j - 1].rstrip().endswith((";", "}", "*/")) \
                    and not lines[j - 1].startswith("#"):
                j -= 1
            start = (j, lines[j].split("(")[0].split()[-1] if "(" in lines[j] else lines[j].strip())
        elif line.startswith("}") and start is not None:
            yield start[1], start[0] + 1, i - start[0] + 1
            start = None


def main(root):
    bad = 0
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        rel = os.path.relpath(top, root)
        for f in sorted(files):
            if not f.endswith(SOURCE_EXT):
                continue
            path = os.path.join(top, f)
            name = os.path.normpath(os.path.join(rel, f))
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().split("\n")
            if len(lines) - 1 > FILE_MAX:
                print(f"{name}: {len(lines) - 1} lines (at most {FILE_MAX})")
                bad += 1
            if f.endswith(".c") and name.split(os.sep)[0] in FUNC_DIRS:
                for fn, first, n in functions(lines):
                    if n > FUNC_MAX:
                        print(f"{name}:{first}: {fn}() is {n} lines (at most {FUNC_MAX})")
                        bad += 1
    print(f"house: {bad} breach(es)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
