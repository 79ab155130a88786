#!/usr/bin/env python3
"""Least privilege: the DynamoDB grants of template.yaml that no scenario used.

Run the suites with LOCAL_IAM_USAGE_LOG=<file> (every request a function's policy allows is
appended to it), then: <sam venv>/bin/python scripts/iam-unused.py <file>
(needs PyYAML, which the SAM CLI venv has). Prints one line per (function, action, resource
kind) granted but never used; an empty output means every grant was exercised."""
import sys, yaml, collections, fnmatch
class L(yaml.SafeLoader): pass
def tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode): v = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode): v = loader.construct_sequence(node)
    else: v = loader.construct_mapping(node)
    return {"!"+suffix: v}
L.add_multi_constructor("!", tag)
t = yaml.load(open("template.yaml"), Loader=L)
used = collections.defaultdict(set)
for line in open(sys.argv[1]):
    f, a, r = line.split()[:3]
    kind = "index" if "/index/" in r else "stream" if "/stream/" in r else "table" if ":table/" in r else "other"
    used[f].add((a.lower(), kind))
for name, res in t["Resources"].items():
    if res.get("Type") != "AWS::Serverless::Function": continue
    for pol in res["Properties"].get("Policies", []):
        for st in pol["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            rs = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            kinds = set()
            for r in rs:
                s = str(r)
                kinds.add("index" if "index" in s else "stream" if "StreamArn" in s else "table" if "Table.Arn" in s else "other")
            for a in acts:
                if not a.startswith("dynamodb:"): continue
                for k in kinds:
                    if (a.lower(), k) not in used[name]:
                        print(f"{name}: {a} on {k} never used")
