"""Per-app rate limits through the official SDK (ncsdk 0.1.2): over the limit the SDK raises
`TooManyRequestsException` with business code 1008, the call changed nothing, and the next second
serves again.

Contract: the README, "Rate limits"; our decisions: docs/API-DECISIONS.md, "Rate limits".
"""

import time

from ncsdk.exceptions import TooManyRequestsException
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.user_get_request import UserGetRequest
from ncsdk.models.user_update_request import UserUpdateRequest


def start_of_next_second():
    time.sleep(1 - (time.time() % 1) + 0.02)


def test_over_the_limit_the_sdk_raises_too_many_requests_with_1008(make_app, make_user_api, new_user_id):
    app = make_app(rateLimits={"/v4/user/update": 1})
    api = make_user_api(app["appKey"], app["appSecret"])
    uid = new_user_id()
    api.issue_access_token(AccessTokenIssueRequest(user_id=uid, name="Before"))
    # Two updates in one second under a limit of 1: the second is refused (retried in a new
    # second should the first have ended one).
    for _ in range(5):
        start_of_next_second()
        api.update_user(UserUpdateRequest(user_id=uid, name="First"))
        try:
            api.update_user(UserUpdateRequest(user_id=uid, name="Refused"))
        except TooManyRequestsException as e:
            refused = e  # `e` is unbound after the block
            break
    else:
        raise AssertionError("a second update within one second was never refused")
    assert refused.status == 429
    assert refused.error_code == 1008, refused.body
    assert "/v4/user/update allows 1 per second" in refused.error_message
    assert api.get_user(UserGetRequest(user_id=uid)).result.name == "First", "the refused update changed nothing"
    start_of_next_second()
    api.update_user(UserUpdateRequest(user_id=uid, name="Later"))
    assert api.get_user(UserGetRequest(user_id=uid)).result.name == "Later"


def test_the_console_shows_the_setting_and_off_admits_everything(make_app, console, make_user_api, new_user_id):
    app = make_app(rateLimits={"default": 1})
    assert console("get", {"appKey": app["appKey"]})["settings"]["rateLimits"] == {"default": 1}
    console("update", {"appKey": app["appKey"], "rateLimits": "off"})
    assert console("get", {"appKey": app["appKey"]})["settings"]["rateLimits"] == "off"
    api = make_user_api(app["appKey"], app["appSecret"])
    uid = new_user_id()
    api.issue_access_token(AccessTokenIssueRequest(user_id=uid, name="N"))
    for _ in range(10):
        assert api.get_user(UserGetRequest(user_id=uid)).result.name == "N"
