#!/usr/bin/env python3
"""Import circles between the top-level modules of shared/src (a module's folder counts as one
module): prints each strongly connected group of two or more modules, and how many there are."""
import os, re, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared", "src")
modules = {}
for entry in sorted(os.listdir(root)):
    path = os.path.join(root, entry)
    if entry.endswith(".rs") and entry != "lib.rs":
        modules[entry[:-3]] = [path]
    elif os.path.isdir(path):
        modules[entry] = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".rs")]
edges = {m: set() for m in modules}
for module, files in modules.items():
    for path in files:
        text = open(path).read()
        text = text.split("#[cfg(test)]")[0]  # tests may use anything
        text = "\n".join(line.split("//")[0] for line in text.splitlines())  # not comments
        for target in re.findall(r"crate::(\w+)", text):
            if target in modules and target != module:
                edges[module].add(target)
        for group in re.findall(r"use crate::\{([^}]*)\}", text):
            for target in re.findall(r"\b(\w+)\b", group):
                if target in modules and target != module:
                    edges[module].add(target)

# Tarjan's strongly connected components.
index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        group = []
        while True:
            w = stack.pop(); on.discard(w); group.append(w)
            if w == v: break
        if len(group) > 1: groups.append(sorted(group))
sys.setrecursionlimit(10000)
for v in modules:
    if v not in index: visit(v)
for group in groups:
    print("circle:", " <-> ".join(group))
print(f"{len(groups)} import circle(s) among {len(modules)} modules")
sys.exit(1 if groups and "--check" in sys.argv else 0)
