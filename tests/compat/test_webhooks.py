"""Webhooks while the official SDK (ncsdk 0.1.2) drives the API: the receiver is the README's
own example ("Receiving webhooks"), run as it is written, so the documented verification of both
signatures is what accepts the events, and a forged request is refused by it.

Contract: the README, "Receiving webhooks"; our decisions: docs/API-DECISIONS.md, "Webhooks". The
Rust tests (tests/integration/webhooks/) cover every event, retries, the log and replay.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import ncsdk
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.friend_add_request import FriendAddRequest
from ncsdk.models.user_profile_set_request import UserProfileSetRequest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_receiver():
    text = README.read_text()
    section = text.split("## Receiving webhooks", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Receiving webhooks section has a python receiver"
    return match.group(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(tmp_path):
    """Starts the README receiver for an app once it exists; yields a starter."""
    processes = []

    def start(app):
        script = tmp_path / "receiver.py"
        script.write_text(readme_receiver())
        port = free_port()
        env = dict(os.environ, APP_KEY=app["appKey"], APP_SECRET=app["appSecret"],
                   WEBHOOK_SECRET=app["settings"]["webhookSecret"], PORT=str(port))
        process = subprocess.Popen([sys.executable, "-u", str(script)], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        processes.append(process)
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return process, f"http://127.0.0.1:{port}/hooks"
            time.sleep(0.05)
        pytest.fail("the README receiver did not start")

    yield start
    for process in processes:
        process.kill()


def read_events(process, count, timeout=30):
    """The first `count` lines the receiver prints: `<type> <data json>`."""
    events, deadline = [], time.monotonic() + timeout
    os.set_blocking(process.stdout.fileno(), False)
    while len(events) < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            kind, data = line.rstrip("\n").split(" ", 1)
            events.append((kind, json.loads(data)))
        else:
            time.sleep(0.05)
    return events


def test_the_readme_receiver_verifies_and_gets_events_while_the_sdk_drives_the_api(
        make_app, console, make_client, receiver, new_user_id):
    app = make_app(webhookEvents=["user:profile_update", "user:friendship"])
    process, url = receiver(app)
    console("update", {"appKey": app["appKey"], "webhookUrl": url})
    client = make_client(app["appKey"], app["appSecret"])
    users = ncsdk.UserManagementApi(client)
    alice, bob = new_user_id("a"), new_user_id("b")
    for user in (alice, bob):
        users.issue_access_token(AccessTokenIssueRequest(user_id=user, name=user))
    ncsdk.UserProfileHostingApi(client).set_user_profile(
        UserProfileSetRequest(user_id=alice, user_profile={"name": "Alice"}))
    ncsdk.FriendshipApi(client).add_friend(FriendAddRequest(user_id=alice, target_id=bob, action=2))

    events = sorted(read_events(process, 2), key=lambda e: e[0])
    assert [kind for kind, _ in events] == ["user:friendship", "user:profile_update"], events
    friendship, profile = events[0][1], events[1][1]
    assert (friendship["operationType"], friendship["userId"], friendship["toUserId"]) == (5, alice, bob)
    assert (profile["operationType"], profile["operatorId"], profile["userProfile"]) == (1, alice, {"name": "Alice"})

    # A request with no valid signatures is refused by the same code.
    forged = urllib.request.Request(
        f"{url}?appKey={app['appKey']}&nonce=1&timestamp=1&signTimestamp=1&signature=00",
        data=b'{"type":"user:friendship","id":"x","time":1,"data":[{}]}', method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "webhook-id": "x",
                 "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=5)
    assert refused.value.code == 401
    assert read_events(process, 1, timeout=1) == []
