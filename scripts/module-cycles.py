#!/usr/bin/env python3
"""Import circles between the top-level modules of every crate of the house (shared, the local
API, each function, the tests and the benchmarks; a module's folder counts as one module):
prints each strongly connected group of two or more modules, and how many there are.

Whole files are read. Test code may use anything, so what `#[cfg(test)]` marks is left out by
its extent: the braces of the item it marks (string, character and comment text skipped), the
statement up to `;`, or, for `#[cfg(test)] mod name;`, the module's own file.

    scripts/module-cycles.py [--check] [ROOT]    --check: exit 1 on any circle
"""
import os
import re
import sys

# Folders holding a crate root (lib.rs or main.rs) whose modules are checked.
CRATE_DIRS = ["shared/src", "local-api/src", "bench/src", "tests/src", "tests/integration", "functions/*/src"]


def crate_dirs(root):
    for pattern in CRATE_DIRS:
        if "*" in pattern:
            parent, rest = pattern.split("/*/")
            base = os.path.join(root, parent)
            names = sorted(os.listdir(base)) if os.path.isdir(base) else []
            dirs = [os.path.join(base, name, rest) for name in names]
        else:
            dirs = [os.path.join(root, pattern)]
        for d in dirs:
            if os.path.isfile(os.path.join(d, "lib.rs")) or os.path.isfile(os.path.join(d, "main.rs")):
                yield d


RAW_STRING = re.compile(r'b?r(#*)"')
CHAR_LITERAL = re.compile(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'")


def skip_literal(text, i):
    """The index after the string, character or comment starting at `i`, or None if none does."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        depth, j = 1, i + 2
        while j < len(text) and depth:
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
            else:
                j += 1
        return j
    raw = RAW_STRING.match(text, i) if text[i] in "br" else None
    if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
        close = '"' + raw.group(1)
        end = text.find(close, raw.end())
        return len(text) if end < 0 else end + len(close)
    if text[i] == '"':
        j = i + 1
        while j < len(text) and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        return j + 1
    if text[i] == "'":
        # A character literal ('a', '\n', '\u{1F600}'), not a lifetime ('a).
        char = CHAR_LITERAL.match(text, i)
        if char:
            return char.end()
    return None


def code_only(text):
    """The text with comments and literals blanked (newlines kept), so braces and paths in them
    are not read as code."""
    out, i = [], 0
    while i < len(text):
        end = skip_literal(text, i)
        if end is None:
            out.append(text[i])
            i += 1
        else:
            out.append("".join(c if c == "\n" else " " for c in text[i:end]))
            i = end
    return "".join(out)


CFG_TEST = re.compile(r"#\[cfg\(test\)\]")
TEST_MOD_FILE = re.compile(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")


def without_tests(code):
    """`code` (already `code_only`) without the items `#[cfg(test)]` marks, and the names of the
    test modules kept in files of their own."""
    kept, files, i = [], [], 0
    while True:
        found = CFG_TEST.search(code, i)
        if not found:
            kept.append(code[i:])
            return "".join(kept), files
        kept.append(code[i:found.start()])
        j = found.end()
        declared = TEST_MOD_FILE.match(code, j)
        if declared:
            files.append(declared.group(1))
            i = declared.end()
            continue
        # The marked item ends at its first `;` outside braces, or at the brace closing its body.
        depth = 0
        while j < len(code):
            c = code[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        i = j


def modules_of(src):
    """Top-level modules of the crate in `src`: name -> its files (test-only files left out)."""
    modules = {}
    for entry in sorted(os.listdir(src)):
        path = os.path.join(src, entry)
        if entry.endswith(".rs") and entry not in ("lib.rs", "main.rs"):
            modules[entry[:-3]] = [path]
        elif os.path.isdir(path) and entry != "bin":
            modules[entry] = sorted(
                os.path.join(folder, f)
                for folder, _, names in os.walk(path)
                for f in names
                if f.endswith(".rs")
            )
    return modules


def edges_of(src):
    modules = modules_of(src)
    test_files = set()
    texts = {}
    for module, files in modules.items():
        for path in files:
            with open(path, encoding="utf-8") as f:
                code, tests = without_tests(code_only(f.read()))
            texts[path] = code
            folder = os.path.dirname(path)
            stem = os.path.splitext(os.path.basename(path))[0]
            for name in tests:
                # `mod name;` in a.rs is a/name.rs; in mod.rs (or lib.rs) it is name.rs beside it.
                here = folder if stem in ("mod", "lib", "main") else os.path.join(folder, stem)
                test_files.add(os.path.join(here, name + ".rs"))
                test_files.add(os.path.join(here, name, "mod.rs"))
    edges = {m: set() for m in modules}
    for module, files in modules.items():
        for path in files:
            if path in test_files:
                continue
            code = texts[path]
            targets = re.findall(r"\bcrate::(\w+)", code)
            for group in re.findall(r"\bcrate::\{([^}]*)\}", code):
                targets += re.findall(r"(?:^|,)\s*(\w+)", group)
            # In a top-level file, `super` is the crate root.
            if os.path.dirname(path) == src:
                targets += re.findall(r"\bsuper::(\w+)", code)
            for target in targets:
                if target in modules and target != module:
                    edges[module].add(target)
    return edges


def circles(edges):
    """Tarjan's strongly connected components of two or more modules."""
    index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return groups


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    root = os.path.abspath(args[0]) if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    found, modules, crates = 0, 0, 0
    for src in crate_dirs(root):
        edges = edges_of(src)
        crates += 1
        modules += len(edges)
        for group in circles(edges):
            found += 1
            print(f"circle in {os.path.relpath(src, root)}:", " <-> ".join(group))
    print(f"{found} import circle(s) among {modules} modules of {crates} crates")
    return 1 if found and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
