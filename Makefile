.PHONY: local test events bench soak large-lists cost rate-load build sam-build invoke

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

# 32 clients for 10 minutes, every operation and bad input; zero 5xx and the invariants hold.
soak:
	scripts/soak

large-lists:
	scripts/large-lists

cost:
	scripts/cost

# Rate limits under load: 1,500 calls/s offered to a limit of 1,000/s, admitted and refused.
rate-load:
	scripts/rate-load

# Every function as an arm64 Lambda artifact (cargo lambda build --release --arm64), with sizes.
build:
	scripts/build

# The same, then `sam build` from template.yaml into .aws-sam/build.
sam-build:
	scripts/build --sam

# Each function's real release binary invoked with its event, without Docker.
invoke:
	scripts/invoke-functions
