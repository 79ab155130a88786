"""Users and tokens, driven through the official Python SDK (ncsdk 0.1.2) only.

Contract: the README, "Endpoints" (signing, business codes, users and tokens); our decisions:
docs/API-DECISIONS.md, "Every request" and "Users and tokens". The SDK raises its exception class from the HTTP status alone and exposes the
body's business `code` as `error_code` and `errorMessage` as `error_message`.
"""

import re
import time
import uuid

import pytest

import ncsdk
from ncsdk.exceptions import (
    ApiException,
    BadRequestException,
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from ncsdk.models.access_token_expire_request import AccessTokenExpireRequest
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.user_get_request import UserGetRequest
from ncsdk.models.user_update_request import UserUpdateRequest

CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def issue(api, user_id, name="Alice", avatar_url=None):
    req = AccessTokenIssueRequest(user_id=user_id, name=name, avatar_url=avatar_url)
    return api.issue_access_token(req)


def get(api, user_id):
    return api.get_user(UserGetRequest(user_id=user_id))


def assert_api_error(excinfo, cls, status, code, field=None):
    e = excinfo.value
    assert type(e) is cls, f"expected {cls.__name__}, got {type(e).__name__}: {e}"
    assert e.status == status, str(e)
    assert e.error_code == code, f"expected business code {code}, body {e.body!r}"
    assert e.error_message, f"errorMessage missing, body {e.body!r}"
    if field is not None:
        assert field in e.error_message, f"{field!r} not named in {e.error_message!r}"
    return e


# --- tokens -------------------------------------------------------------------------------------


def test_issue_token(user_api, new_user_id):
    uid = new_user_id()
    resp = issue(user_api, uid, name="Alice")
    assert resp.code == 0
    assert resp.result is not None
    assert resp.result.user_id == uid
    assert isinstance(resp.result.access_token, str) and resp.result.access_token


def test_issue_again_returns_a_different_token(user_api, new_user_id):
    uid = new_user_id()
    first = issue(user_api, uid).result.access_token
    second = issue(user_api, uid).result.access_token
    assert first and second
    assert first != second


def test_issue_again_overwrites_name_and_avatar(user_api, new_user_id):
    uid = new_user_id()
    issue(user_api, uid, name="Before", avatar_url="https://example.com/a.png")
    issue(user_api, uid, name="After", avatar_url="https://example.com/b.png")
    user = get(user_api, uid).result
    assert user.name == "After"
    assert user.avatar_url == "https://example.com/b.png"


def test_issue_accepts_limits_exactly(user_api):
    # userId: 64 bytes; name: 64 characters (here 128 bytes of UTF-8).
    uid = "a" * 64
    name = "é" * 64
    resp = issue(user_api, uid, name=name)
    assert resp.code == 0
    assert resp.result.user_id == uid
    assert get(user_api, uid).result.name == name


def test_expire_access_token(user_api, new_user_id):
    uid = new_user_id()
    issue(user_api, uid)
    req = AccessTokenExpireRequest(user_ids=[uid], expires_at=int(time.time() * 1000))
    resp = user_api.expire_access_token(req)
    assert resp.code == 0
    # Tokens issued afterwards are still issued normally.
    assert issue(user_api, uid).result.access_token


# --- get / update -------------------------------------------------------------------------------


def test_get_user_returns_profile(user_api, new_user_id):
    uid = new_user_id()
    issue(user_api, uid, name="Alice")
    resp = get(user_api, uid)
    assert resp.code == 0
    user = resp.result
    assert user.name == "Alice"
    assert user.avatar_url == ""  # never set
    assert user.created_at is not None and CREATED_AT.match(user.created_at), user.created_at


def test_get_user_returns_avatar_set_at_issue(user_api, new_user_id):
    uid = new_user_id()
    issue(user_api, uid, name="Bob", avatar_url="https://example.com/bob.png")
    user = get(user_api, uid).result
    assert user.name == "Bob"
    assert user.avatar_url == "https://example.com/bob.png"


def test_update_avatar_only_keeps_name(user_api, new_user_id):
    uid = new_user_id()
    issue(user_api, uid, name="Alice")
    created_at = get(user_api, uid).result.created_at
    # name=None is left out of the JSON body by the SDK (exclude_none), i.e. "absent".
    resp = user_api.update_user(UserUpdateRequest(user_id=uid, avatar_url="https://example.com/x.png"))
    assert resp.code == 0
    user = get(user_api, uid).result
    assert user.name == "Alice"
    assert user.avatar_url == "https://example.com/x.png"
    assert user.created_at == created_at


def test_update_name_only_keeps_avatar(user_api, new_user_id):
    uid = new_user_id()
    issue(user_api, uid, name="Alice", avatar_url="https://example.com/keep.png")
    resp = user_api.update_user(UserUpdateRequest(user_id=uid, name="Alicia"))
    assert resp.code == 0
    user = get(user_api, uid).result
    assert user.name == "Alicia"
    assert user.avatar_url == "https://example.com/keep.png"


# --- errors: unknown users ----------------------------------------------------------------------


def test_get_unknown_user_is_not_found(user_api, new_user_id):
    with pytest.raises(NotFoundException) as excinfo:
        get(user_api, new_user_id("ghost"))
    assert_api_error(excinfo, NotFoundException, 404, 400)


def test_update_unknown_user_is_not_found(user_api, new_user_id):
    with pytest.raises(NotFoundException) as excinfo:
        user_api.update_user(UserUpdateRequest(user_id=new_user_id("ghost"), name="Nobody"))
    assert_api_error(excinfo, NotFoundException, 404, 400)


# --- errors: validation -------------------------------------------------------------------------


def test_issue_user_id_of_65_bytes_is_too_long(user_api):
    with pytest.raises(BadRequestException) as excinfo:
        issue(user_api, "a" * 65)
    assert_api_error(excinfo, BadRequestException, 400, 1005, field="userId")


def test_issue_name_of_65_chars_is_too_long(user_api, new_user_id):
    with pytest.raises(BadRequestException) as excinfo:
        issue(user_api, new_user_id(), name="n" * 65)
    assert_api_error(excinfo, BadRequestException, 400, 1005, field="name")


def test_issue_user_id_with_dash_is_invalid(user_api):
    with pytest.raises(BadRequestException) as excinfo:
        issue(user_api, "bad-id")
    assert_api_error(excinfo, BadRequestException, 400, 1002, field="userId")


def test_shape_is_checked_before_lookup(user_api, new_user_id):
    # The user does not exist, but the malformed request is a 400, not a 404.
    with pytest.raises(BadRequestException) as excinfo:
        get(user_api, "b" * 65)
    assert_api_error(excinfo, BadRequestException, 400, 1005, field="userId")
    with pytest.raises(BadRequestException) as excinfo:
        user_api.update_user(UserUpdateRequest(user_id=new_user_id("ghost"), name="n" * 65))
    assert_api_error(excinfo, BadRequestException, 400, 1005, field="name")


# --- errors: authentication and app status ------------------------------------------------------


def test_wrong_app_secret_is_unauthorized(new_app, make_user_api, new_user_id):
    api = make_user_api(new_app["appKey"], "0" * 32)
    with pytest.raises(UnauthorizedException) as excinfo:
        issue(api, new_user_id())
    assert_api_error(excinfo, UnauthorizedException, 401, 1004)


def test_unknown_app_key_is_unauthorized(make_user_api, new_user_id):
    api = make_user_api("nosuchapp" + uuid.uuid4().hex[:8], "0" * 32)
    with pytest.raises(UnauthorizedException) as excinfo:
        issue(api, new_user_id())
    assert_api_error(excinfo, UnauthorizedException, 401, 1001)


def test_offline_app_is_forbidden(new_app, user_api, console, new_user_id):
    uid = new_user_id()
    issue(user_api, uid)
    console("update", {"appKey": new_app["appKey"], "status": "offline"})
    with pytest.raises(ForbiddenException) as excinfo:
        get(user_api, uid)
    assert_api_error(excinfo, ForbiddenException, 403, 1006)
    with pytest.raises(ForbiddenException) as excinfo:
        issue(user_api, new_user_id())
    assert_api_error(excinfo, ForbiddenException, 403, 1006)
    # Back online: the same credentials work again.
    console("update", {"appKey": new_app["appKey"], "status": "enabled"})
    assert get(user_api, uid).result.name == "Alice"


def test_rotated_secret(new_app, user_api, console, make_user_api, new_user_id):
    uid = new_user_id()
    issue(user_api, uid)
    rotated = console("rotate-secret", {"appKey": new_app["appKey"]})
    new_secret = rotated["appSecret"]
    assert new_secret and new_secret != new_app["appSecret"]

    # user_api still signs with the old secret.
    with pytest.raises(UnauthorizedException) as excinfo:
        get(user_api, uid)
    assert_api_error(excinfo, UnauthorizedException, 401, 1004)

    fresh = make_user_api(new_app["appKey"], new_secret)
    assert get(fresh, uid).result.name == "Alice"
    assert issue(fresh, uid).result.access_token


# --- isolation between apps ---------------------------------------------------------------------


def test_apps_do_not_see_each_others_users(make_app, make_user_api, new_user_id):
    app_a, app_b = make_app(), make_app()
    api_a = make_user_api(app_a["appKey"], app_a["appSecret"])
    api_b = make_user_api(app_b["appKey"], app_b["appSecret"])
    uid = new_user_id()
    issue(api_a, uid, name="OnlyInA")
    assert get(api_a, uid).result.name == "OnlyInA"
    with pytest.raises(NotFoundException) as excinfo:
        get(api_b, uid)
    assert_api_error(excinfo, NotFoundException, 404, 400)
    with pytest.raises(NotFoundException):
        user_api_b_update = UserUpdateRequest(user_id=uid, name="Hijack")
        api_b.update_user(user_api_b_update)
    assert get(api_a, uid).result.name == "OnlyInA"


def test_apps_are_isolated_for_the_same_user_id(make_app, make_user_api, new_user_id):
    app_a, app_b = make_app(), make_app()
    api_a = make_user_api(app_a["appKey"], app_a["appSecret"])
    api_b = make_user_api(app_b["appKey"], app_b["appSecret"])
    uid = new_user_id()
    issue(api_a, uid, name="InA")
    issue(api_b, uid, name="InB")
    assert get(api_a, uid).result.name == "InA"
    assert get(api_b, uid).result.name == "InB"


# --- transport details the SDK relies on --------------------------------------------------------


def test_request_id_is_echoed(user_api, new_user_id):
    uid = new_user_id()
    rid = "compat-" + uuid.uuid4().hex[:16]
    resp = user_api.issue_access_token_with_http_info(
        AccessTokenIssueRequest(user_id=uid, name="Alice"), _headers={"X-Request-ID": rid}
    )
    assert resp.status_code == 200
    headers = {k.lower(): v for k, v in resp.headers.items()}
    assert headers.get("x-request-id") == rid
    assert headers.get("content-type", "").startswith("application/json")
    assert resp.data.code == 0


def test_error_is_a_json_body_the_sdk_parses(user_api, new_user_id):
    with pytest.raises(ApiException) as excinfo:
        get(user_api, new_user_id("ghost"))
    e = excinfo.value
    assert e.body and e.body.lstrip().startswith("{")
    headers = {k.lower(): v for k, v in (e.headers or {}).items()}
    assert headers.get("content-type", "").startswith("application/json")
    assert headers.get("x-request-id")
