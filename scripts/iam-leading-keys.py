#!/usr/bin/env python3
"""Least privilege for writes: the partitions each function wrote in a run, by action.

Run the suites with LOCAL_IAM_USAGE_LOG=<file> (every request a function's policy allows is
appended to it, with the kinds of partition it touched: `APP#*#U#*`, `RATE#*`, ...), then:
python3 scripts/iam-leading-keys.py <file>
Prints, per function and write action, the `dynamodb:LeadingKeys` patterns the run used: what
each function's policy should grant and no more (template.yaml; the local IAM refuses the rest)."""
import collections, sys

WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
used = collections.defaultdict(lambda: collections.defaultdict(set))
for line in open(sys.argv[1]):
    fields = line.split()
    if len(fields) < 4 or fields[1] not in WRITES or ":table/" not in fields[2] or "/index/" in fields[2]:
        continue
    used[fields[0]][fields[1]].update(fields[3].split(","))
for function in sorted(used):
    for action in sorted(used[function]):
        print(function, action, " ".join(sorted(used[function][action])))
