"""A scripted mix of calls through the official SDK (ncsdk 0.1.2), then the local API's metrics
(`GET /metrics`, Prometheus text): calls by answer, the DynamoDB requests of a call against the
README's budget, the rate-limit refusals, the webhook attempts and the purge backlog back at zero.

Contract and decisions: docs/OBSERVABILITY.md. Figures
accumulate over the suite's run, so every check reads a difference or a lower bound.
"""

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

import ncsdk
from ncsdk.exceptions import NotFoundException, TooManyRequestsException
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.user_get_request import UserGetRequest
from ncsdk.models.user_ids_max100_request import UserIdsMax100Request
from ncsdk.models.user_profile_set_request import UserProfileSetRequest
from ncsdk.models.user_update_request import UserUpdateRequest

from test_lifecycle import wait_until_done
from test_webhooks import read_events, receiver  # noqa: F401 (a fixture)

README = Path(__file__).resolve().parents[2] / "README.md"
SAMPLE = re.compile(r'^(\w+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics(api_url):
    with urllib.request.urlopen(f"{api_url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode("utf-8")


def value(text, name, **labels):
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        have = dict(LABEL.findall(match.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


def readme_budget(function):
    for line in README.read_text().split("## Endpoints", 1)[1].splitlines():
        cells = [c.strip() for c in line.split("|")]
        if line.startswith("| `") and cells[2].strip("`") == function:
            return int(cells[3])
    raise AssertionError(f"README has no budget for {function}")


def invoke(api_url, admin_token, function, event):
    request = urllib.request.Request(
        f"{api_url}/.invoke/{function}", data=json.dumps(event).encode(), method="POST",
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_a_mix_of_sdk_calls_shows_in_the_metrics(
        api_url, admin_token, make_app, console, make_client, receiver, new_user_id):  # noqa: F811
    app = make_app(rateLimits={"/v4/user/update": 1}, webhookEvents=["user:profile_update"])
    process, url = receiver(app)
    console("update", {"appKey": app["appKey"], "webhookUrl": url})
    client = make_client(app["appKey"], app["appSecret"])
    users = ncsdk.UserManagementApi(client)
    alice = new_user_id("m")
    users.issue_access_token(AccessTokenIssueRequest(user_id=alice, name="Alice"))
    before = metrics(api_url)

    for _ in range(3):
        users.get_user(UserGetRequest(user_id=alice))
    with pytest.raises(NotFoundException):
        users.get_user(UserGetRequest(user_id=new_user_id("nobody")))
    refused = 0
    for _ in range(5):
        time.sleep(1 - (time.time() % 1) + 0.02)
        users.update_user(UserUpdateRequest(user_id=alice, name="First"))
        try:
            users.update_user(UserUpdateRequest(user_id=alice, name="Refused"))
        except TooManyRequestsException:
            refused += 1
            break
    assert refused == 1, "a second update within one second is refused"
    ncsdk.UserProfileHostingApi(client).set_user_profile(
        UserProfileSetRequest(user_id=alice, user_profile={"name": "Alice"}))
    assert [kind for kind, _ in read_events(process, 1)] == ["user:profile_update"]

    after = metrics(api_url)
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert delta("chat_users_calls_total", operation="get-user", status="200", code="0") >= 3
    assert delta("chat_users_calls_total", operation="get-user", status="404") >= 1
    assert delta("chat_users_calls_total", operation="update-user", status="429", code="1008") >= 1
    assert delta("chat_users_rate_limited_total", operation="update-user", app=app["appKey"]) == 1
    assert delta("chat_users_webhook_attempts_total", outcome="delivered") >= 1

    # One warm read: its own requests as the README budgets them, and the count against the limit
    # only when its container's lease on the limit has run out (README "Rate limits").
    ahead = metrics(api_url)
    users.get_user(UserGetRequest(user_id=alice))
    behind = metrics(api_url)
    requests = (value(behind, "chat_users_dynamodb_requests_total", operation="get-user")
                - value(ahead, "chat_users_dynamodb_requests_total", operation="get-user"))
    assert readme_budget("get-user") <= requests <= readme_budget("get-user") + 1, behind

    # A soft delete purges; the sweeper's census then finds nothing pending.
    deleted = users.soft_delete_users(UserIdsMax100Request(user_ids=[alice]))
    wait_until_done(api_url, app, deleted.result.operation_id)
    invoke(api_url, admin_token, "sweep-stuck-purges", {})
    final = metrics(api_url)
    assert value(final, "chat_users_purge_users_done_total") >= 1
    assert "chat_users_purge_pending" in final
    assert value(final, "chat_users_purge_pending") == 0
    assert value(final, "chat_users_cold_starts_total", operation="get-user") >= 1
    assert alice not in final, "no label carries a user id"
