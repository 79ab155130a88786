.PHONY: local test events bench

# Run the Server API locally on 127.0.0.1:8787 (DynamoDB Local included). Ctrl-C stops it.
local:
	scripts/local-api

# Every test tier (what CI runs).
test:
	scripts/test

# Regenerate events/*.json (API Gateway v2 payloads, one per function).
events:
	scripts/events.py

# Benchmarks (not tests) into BENCHMARKS.md.
bench:
	scripts/bench
