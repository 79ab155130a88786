#!/usr/bin/env python3
"""Writes events/<function>.json: real API Gateway HTTP API (v2) payloads, one per function.

    scripts/events.py                 write the events, signed for the placeholder app EVENTSAPPKEY
    scripts/events.py sign KEY SECRET re-sign every event for your app with a fresh timestamp
                                      (for `sam local invoke` / `cargo lambda invoke`; a signature
                                      is only accepted for 5 minutes)

The handler tests replace the placeholder signature with one of their own test app.
"""
import hashlib, json, os, random, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = os.path.join(ROOT, "events")
PLACEHOLDER_KEY, PLACEHOLDER_SECRET = "EVENTSAPPKEY", "placeholder-secret-not-an-app"

# function -> (path, body, console?)
FUNCTIONS = {
    "issue-access-token": ("/v4/auth/access-token/issue", {"userId": "alice", "name": "Alice", "avatarUrl": "https://example.com/alice.png"}, False),
    "get-user": ("/v4/user/get", {"userId": "alice"}, False),
    "update-user": ("/v4/user/update", {"userId": "alice", "name": "Alice Liddell"}, False),
    "expire-access-token": ("/v4/auth/access-token/expire", {"userIds": ["alice"], "expiresAt": 1764000000000}, False),
    "create-app": ("/console/v1/apps/create", {"environment": "development", "plan": "free"}, True),
    "get-app": ("/console/v1/apps/get", {"appKey": PLACEHOLDER_KEY}, True),
    "update-app": ("/console/v1/apps/update", {"appKey": PLACEHOLDER_KEY, "restrictDmToFriends": True}, True),
    "rotate-app-secret": ("/console/v1/apps/rotate-secret", {"appKey": PLACEHOLDER_KEY}, True),
}


def sign(headers, key, secret, now_ms):
    nonce, ts = str(random.randint(1, 10**17)), str(now_ms)
    headers.update({"app-key": key, "nonce": nonce, "timestamp": ts,
                    "signature": hashlib.sha1(f"{secret}{nonce}{ts}".encode()).hexdigest()})


def event(name, path, body, console, now_ms):
    request_id = f"{name}-example-request"
    headers = {
        "accept": "*/*",
        "content-length": str(len(json.dumps(body))),
        "content-type": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "ncsdk-python/0.1.2",
        "x-amzn-trace-id": "Root=1-6745d0a0-0123456789abcdef01234567",
        "x-forwarded-for": "192.0.2.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        "x-request-id": request_id,
    }
    context = {
        "accountId": "123456789012",
        "apiId": "abcdef1234",
        "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abcdef1234",
        "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "ncsdk-python/0.1.2"},
        "requestId": "Cx8BSj0WoAMEMbQ=",
        "routeKey": f"ANY {path}",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
        "timeEpoch": now_ms,
    }
    if console:
        # What API Gateway adds after an AWS_IAM authorizer accepted the caller.
        context["authorizer"] = {"iam": {"accessKey": "AKIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE",
                                         "principalOrgId": None, "userArn": "arn:aws:iam::123456789012:user/console-admin",
                                         "userId": "AIDAEXAMPLE"}}
    else:
        sign(headers, PLACEHOLDER_KEY, PLACEHOLDER_SECRET, now_ms)
    return {"version": "2.0", "routeKey": f"ANY {path}", "rawPath": path, "rawQueryString": "", "headers": headers,
            "requestContext": context, "body": json.dumps(body), "isBase64Encoded": False}


def write_all():
    os.makedirs(EVENTS, exist_ok=True)
    now_ms = 1764100000000
    for name, (path, body, console) in FUNCTIONS.items():
        with open(os.path.join(EVENTS, f"{name}.json"), "w") as f:
            json.dump(event(name, path, body, console, now_ms), f, indent=2)
            f.write("\n")


def resign(key, secret):
    now_ms = int(time.time() * 1000)
    for name in sorted(os.listdir(EVENTS)):
        path = os.path.join(EVENTS, name)
        with open(path) as f:
            ev = json.load(f)
        if "app-key" in ev["headers"]:
            sign(ev["headers"], key, secret, now_ms)
        ev["body"] = ev["body"].replace(PLACEHOLDER_KEY, key)
        ev["requestContext"]["timeEpoch"] = now_ms
        with open(path, "w") as f:
            json.dump(ev, f, indent=2)
            f.write("\n")
    print(f"re-signed {len(os.listdir(EVENTS))} events for {key}; valid for 5 minutes (git checkout events/ to undo)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sign":
        resign(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 1:
        write_all()
    else:
        sys.exit(__doc__)
