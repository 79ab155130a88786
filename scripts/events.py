#!/usr/bin/env python3
"""Writes events/<function>.json: real API Gateway HTTP API (v2) payloads, one per function.

    scripts/events.py                 write the events, signed for the placeholder app EVENTSAPPKEY
    scripts/events.py sign KEY SECRET re-sign every event for your app with a fresh timestamp
                                      (for `sam local invoke` / `cargo lambda invoke`; a signature
                                      is only accepted for 5 minutes)
    scripts/events.py sign KEY SECRET --out DIR
                                      the same, written to DIR (events/ stays as it is; stream
                                      events are copied unchanged)

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
    "set-user-profile": ("/v4/user/profile/set", {"userId": "alice", "userProfile": {"name": "Alice", "gender": 2, "level": 3}, "userExtProfile": {"ext_color": "blue"}}, False),
    "batch-get-user-profiles": ("/v4/user/profile/batch/get", {"userIds": ["alice", "bob"]}, False),
    "list-user-profiles": ("/v4/user/profile/list", {"page": 1, "pageSize": 20, "order": 1}, False),
    "delete-user-profiles": ("/v4/user/profile/delete", {"userIds": ["alice"]}, False),
    "expire-access-token": ("/v4/auth/access-token/expire", {"userIds": ["alice"], "expiresAt": 1764000000000}, False),
    "add-friend": ("/v4/friend/add", {"userId": "alice", "targetId": "bob", "action": 2, "extra": "hi from Alice"}, False),
    "remove-friends": ("/v4/friend/remove", {"userId": "alice", "targetIds": ["bob", "carol"]}, False),
    "remove-all-friends": ("/v4/friend/remove-all", {"userId": "alice"}, False),
    "list-friends": ("/v4/friend/list", {"userId": "alice", "pageSize": 50, "order": 1}, False),
    "get-friend-relationships": ("/v4/friend/relationship/get", {"userId": "alice", "targetIds": ["bob", "carol"]}, False),
    "set-friend-permission": ("/v4/friend/permission/set", {"userIds": ["alice", "bob"], "permissionType": 1}, False),
    "get-friend-permission": ("/v4/friend/permission/get", {"userIds": ["alice", "bob"]}, False),
    "set-friend-profile": ("/v4/friend/profile/set", {"userId": "alice", "targetId": "bob", "alias": "Bobby", "friendExtProfile": {"ext_met": "2024"}}, False),
    "list-friend-requests": ("/v4/ext/friend/request/list", {"userId": "bob"}, False),
    "accept-friend-request": ("/v4/ext/friend/request/accept", {"userId": "bob", "requesterId": "alice"}, False),
    "reject-friend-request": ("/v4/ext/friend/request/reject", {"userId": "bob", "requesterId": "alice"}, False),
    "add-user-blocklist": ("/v4/user/blocklist/add", {"userId": "alice", "targetUserIds": ["bob", "carol"]}, False),
    "remove-user-blocklist": ("/v4/user/blocklist/remove", {"userId": "alice", "blockedUserIds": ["bob"]}, False),
    "get-user-blocklist": ("/v4/user/blocklist/get", {"userId": "alice", "pageSize": 1000}, False),
    "create-app": ("/console/v1/apps/create", {"environment": "development", "plan": "free"}, True),
    "get-app": ("/console/v1/apps/get", {"appKey": PLACEHOLDER_KEY}, True),
    "update-app": ("/console/v1/apps/update", {"appKey": PLACEHOLDER_KEY, "restrictDmToFriends": True}, True),
    "rotate-app-secret": ("/console/v1/apps/rotate-secret", {"appKey": PLACEHOLDER_KEY}, True),
    "ban-users": ("/v4/user/ban", {"userIds": ["alice", "bob"], "durationMinutes": 10}, False),
    "unban-users": ("/v4/user/unban", {"userIds": ["alice", "bob"]}, False),
    "list-banned-users": ("/v4/user/ban/list", {"page": 1, "pageSize": 50}, False),
    "batch-set-user-tags": ("/v4/user/tag/batch/set", {"userIds": ["alice", "bob"], "tags": ["region-us", "vip"]}, False),
    "batch-get-user-tags": ("/v4/user/tag/batch/get", {"userIds": ["alice", "bob"]}, False),
    "set-channel-type-mute": ("/v4/channel-type/mute/set", {"userIds": ["alice"], "muteState": 1, "channelTypes": ["PERSON"]}, False),
    "list-channel-type-mute": ("/v4/channel-type/mute/list", {"channelType": "PERSON", "pageSize": 100, "offset": 0}, False),
    "check-dm-permission": ("/v4/ext/dm/permission/check", {"fromUserId": "alice", "toUserId": "bob"}, False),
    "soft-delete-users": ("/v4/user/soft-delete", {"userIds": ["alice", "bob"]}, False),
    "restore-users": ("/v4/user/restore", {"userIds": ["alice"]}, False),
    "list-soft-deleted-users": ("/v4/user/soft-deleted/list", {"page": 1, "pageSize": 50}, False),
    "get-operation": ("/v4/ext/operation/get", {"operationId": "0123456789abcdef0123456789abcdef"}, False),
    "delete-test-user": ("/console/v1/apps/delete-test-user", {"appKey": PLACEHOLDER_KEY, "userId": "carol"}, True),
    "get-user-connection-status": ("/v4/user/connection-status/get", {"userId": "alice"}, False),
    "list-webhook-deliveries": ("/v4/ext/webhook/delivery/list", {"status": "failed", "pageSize": 20}, False),
    "replay-webhooks": ("/v4/ext/webhook/replay", {"since": 1764100000000}, False),
    "rotate-webhook-secret": ("/console/v1/apps/rotate-webhook-secret", {"appKey": PLACEHOLDER_KEY}, True),
    "list-apps": ("/console/v1/apps/list", {"pageSize": 20}, True),
    "list-app-users": ("/console/v1/users/list", {"appKey": PLACEHOLDER_KEY, "pageSize": 50}, True),
    "get-user-details": ("/console/v1/users/get", {"appKey": PLACEHOLDER_KEY, "userId": "alice"}, True),
    "list-audit-entries": ("/console/v1/audit/list", {"appKey": PLACEHOLDER_KEY, "pageSize": 20}, True),
    "get-metrics": ("/console/v1/metrics/get", {"appKey": PLACEHOLDER_KEY, "minutes": 60}, True),
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
        # What API Gateway adds after the console's JWT authorizer accepted a Cognito access token.
        context["authorizer"] = {"jwt": {"claims": {
            "sub": "5f1c6e2a-0b7d-4c39-9a51-2f0e8c7d1a43", "username": "ops@example.com", "client_id": "4example0client0id0web",
            "token_use": "access", "scope": "openid email console/admin", "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE",
            "exp": str(now_ms // 1000 + 3600), "iat": str(now_ms // 1000)}, "scopes": ["openid", "email", "console/admin"]}}
    else:
        sign(headers, PLACEHOLDER_KEY, PLACEHOLDER_SECRET, now_ms)
    return {"version": "2.0", "routeKey": f"ANY {path}", "rawPath": path, "rawQueryString": "", "headers": headers,
            "requestContext": context, "body": json.dumps(body), "isBase64Encoded": False}


# The Console page: a browser's GET of /console/ (no body, no authorizer: the page is public).
PAGE_EVENTS = {"console-page": "/console/"}


def page_event(name, path, now_ms):
    headers = {
        "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "accept-encoding": "gzip, deflate, br",
        "accept-language": "en-US,en;q=0.9",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/148.0 Safari/537.36",
        "x-amzn-trace-id": "Root=1-6745d0a0-0123456789abcdef01234568",
        "x-forwarded-for": "192.0.2.20",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    route = "GET /console/{proxy+}"
    context = {
        "accountId": "123456789012",
        "apiId": "abcdef1234",
        "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abcdef1234",
        "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.20",
                 "userAgent": headers["user-agent"]},
        "requestId": f"{name}-example-request",
        "routeKey": route,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
        "timeEpoch": now_ms,
    }
    return {"version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": "", "headers": headers,
            "requestContext": context,
            "isBase64Encoded": False}


# Functions driven by the table's DynamoDB Stream: a Lambda DynamoDB event with one record.
STREAM_EVENTS = {
    "purge-soft-deleted-users": {
        "Records": [{
            "eventID": "c4ca4238a0b923820dcc509a6f75849b",
            "eventName": "MODIFY",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1764100000,
                "Keys": {"PK": {"S": f"APP#{PLACEHOLDER_KEY}#U#alice"}, "SK": {"S": "USER"}},
                "NewImage": {
                    "PK": {"S": f"APP#{PLACEHOLDER_KEY}#U#alice"}, "SK": {"S": "USER"}, "userId": {"S": "alice"},
                    "state": {"S": "soft-deleted"}, "purgeState": {"S": "pending"},
                    "purgeOperation": {"S": "0123456789abcdef0123456789abcdef"}, "deletedAt": {"N": "1764100000000"},
                },
                "SequenceNumber": "111100000000000000000001",
                "SizeBytes": 220,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/chat-users/stream/2026-11-25T00:00:00.000",
        }]
    },
}


STREAM_EVENTS["produce-webhook-events"] = {
    "Records": [{
        "eventID": "c81e728d9d4c2f636f067f89cc14862c",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1764100000,
            "Keys": {"PK": {"S": f"APP#{PLACEHOLDER_KEY}#U#alice"}, "SK": {"S": "PROFILE"}},
            "NewImage": {
                "PK": {"S": f"APP#{PLACEHOLDER_KEY}#U#alice"}, "SK": {"S": "PROFILE"}, "userId": {"S": "alice"},
                "version": {"N": "1"}, "registeredAt": {"N": "1764099000000"}, "updatedAt": {"N": "1764100000000"},
                "userProfile": {"M": {"name": {"S": "Alice"}}},
                "GSI1PK": {"S": f"APP#{PLACEHOLDER_KEY}#PROFILES"}, "GSI1SK": {"S": "1764099000000#alice"},
            },
            "SequenceNumber": "222200000000000000000001",
            "SizeBytes": 240,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/chat-users/stream/2026-11-25T00:00:00.000",
    }]
}

# Functions driven by the webhook queue (SQS): a Lambda SQS event with one message.
STREAM_EVENTS["send-webhooks"] = {
    "Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": json.dumps({"appKey": PLACEHOLDER_KEY, "eventId": "019ac5a8-2a00-7000-8000-000000000001",
                            "attempt": 0, "retry": 0, "dueAt": 1764100000000}),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764100000000",
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1764100000000"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:chat-users-WebhookQueue",
        "awsRegion": "us-east-1",
    }]
}


# Functions on an EventBridge schedule: the scheduled event EventBridge sends.
SCHEDULE_EVENTS = {
    "sweep-stuck-purges": {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-25T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/chat-users-SweepStuckPurges"],
        "detail": {},
    },
}


# Functions behind the WebSocket API: API Gateway WebSocket (REST-style v1) route events. The
# $connect token is a placeholder the tests replace with a real one.
PLACEHOLDER_TOKEN = "EVENTSACCESSTOKEN"
WS_CONNECTION_ID = "L0SM9cOFvHcCIhw="


def ws_context(route, event_type, extra=None):
    context = {
        "routeKey": route, "eventType": event_type, "extendedRequestId": f"{route}-ext-0001",
        "requestTime": "25/Nov/2026:19:46:40 +0000", "messageDirection": "IN", "stage": "live",
        "connectedAt": 1764100000000, "requestTimeEpoch": 1764100000000,
        "identity": {"sourceIp": "203.0.113.10"}, "requestId": f"{route}-req-0001",
        "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "connectionId": WS_CONNECTION_ID, "apiId": "abcdef1234",
    }
    context.update(extra or {})
    return context


WEBSOCKET_EVENTS = {
    "connect": {
        "headers": {"Host": "abcdef1234.execute-api.us-east-1.amazonaws.com", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                    "Sec-WebSocket-Version": "13", "X-Forwarded-For": "203.0.113.10", "X-Forwarded-Port": "443",
                    "X-Forwarded-Proto": "https"},
        "multiValueHeaders": {"Host": ["abcdef1234.execute-api.us-east-1.amazonaws.com"]},
        "queryStringParameters": {"token": PLACEHOLDER_TOKEN},
        "multiValueQueryStringParameters": {"token": [PLACEHOLDER_TOKEN]},
        "requestContext": ws_context("$connect", "CONNECT"),
        "isBase64Encoded": False,
    },
    "heartbeat": {
        "requestContext": ws_context("heartbeat", "MESSAGE", {"messageId": "Ah7eQd8aIAMCJbQ="}),
        "body": json.dumps({"action": "heartbeat"}),
        "isBase64Encoded": False,
    },
    "disconnect": {
        "headers": {"Host": "abcdef1234.execute-api.us-east-1.amazonaws.com", "x-api-key": "",
                    "X-Forwarded-For": "", "x-restapi": ""},
        "multiValueHeaders": {"Host": ["abcdef1234.execute-api.us-east-1.amazonaws.com"]},
        "requestContext": ws_context("$disconnect", "DISCONNECT", {
            "disconnectStatusCode": 1000, "disconnectReason": "Client-side close frame status not set"}),
        "isBase64Encoded": False,
    },
}


def write_all():
    os.makedirs(EVENTS, exist_ok=True)
    now_ms = 1764100000000
    for name, (path, body, console) in FUNCTIONS.items():
        random.seed(name)  # the same nonce every time: regenerating changes only what changed
        with open(os.path.join(EVENTS, f"{name}.json"), "w") as f:
            json.dump(event(name, path, body, console, now_ms), f, indent=2)
            f.write("\n")
    for name, path in PAGE_EVENTS.items():
        with open(os.path.join(EVENTS, f"{name}.json"), "w") as f:
            json.dump(page_event(name, path, now_ms), f, indent=2)
            f.write("\n")
    for name, payload in list(STREAM_EVENTS.items()) + list(SCHEDULE_EVENTS.items()) + list(WEBSOCKET_EVENTS.items()):
        with open(os.path.join(EVENTS, f"{name}.json"), "w") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")


def resign(key, secret, out_dir=None):
    now_ms = int(time.time() * 1000)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(EVENTS)):
        path = os.path.join(EVENTS, name)
        with open(path) as f:
            ev = json.load(f)
        if out_dir:
            path = os.path.join(out_dir, name)
        if "requestContext" not in ev or "version" not in ev:
            if out_dir:
                with open(path, "w") as f:
                    json.dump(ev, f, indent=2)
                    f.write("\n")
            continue  # a stream or WebSocket event: nothing to sign
        if "app-key" in ev["headers"]:
            sign(ev["headers"], key, secret, now_ms)
        if "body" in ev:  # a page's GET has none
            ev["body"] = ev["body"].replace(PLACEHOLDER_KEY, key)
        ev["requestContext"]["timeEpoch"] = now_ms
        with open(path, "w") as f:
            json.dump(ev, f, indent=2)
            f.write("\n")
    undo = f"in {out_dir}" if out_dir else "(git checkout events/ to undo)"
    print(f"re-signed {len(os.listdir(EVENTS))} events for {key}; valid for 5 minutes {undo}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sign":
        resign(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "sign" and sys.argv[4] == "--out":
        resign(sys.argv[2], sys.argv[3], sys.argv[5])
    elif len(sys.argv) == 1:
        write_all()
    else:
        sys.exit(__doc__)
