"""A POST signed exactly as the official SDK signs, for the extension endpoints the SDK does not
know (`/v4/ext/...`)."""

import hashlib
import json
import secrets
import time
import urllib.error
import urllib.request


def signed_post(api_url, app, path, body):
    """(HTTP status, JSON body) of a signed POST for `app` (its appKey and appSecret)."""
    nonce, ts = str(secrets.randbelow(10**17) + 1), str(int(time.time() * 1000))
    headers = {
        "App-Key": app["appKey"], "Nonce": nonce, "Timestamp": ts, "Content-Type": "application/json",
        "Signature": hashlib.sha1(f"{app['appSecret']}{nonce}{ts}".encode()).hexdigest(),
    }
    request = urllib.request.Request(f"{api_url}{path}", json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
