"""Hosted user profiles through the official SDK (ncsdk 0.1.2): set, batch get, list, delete.

Contract: the Nexconn API, "Hosted user profiles"; our decisions: docs/API-DECISIONS.md,
"Hosted user profiles". Concurrency and walks while profiles are added are tested in Rust
(tests/integration/profiles/).
"""

import json
import time

import pytest

import ncsdk
from ncsdk.exceptions import BadRequestException, NotFoundException
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.user_ids_max20_request import UserIdsMax20Request
from ncsdk.models.user_profile_list_request import UserProfileListRequest
from ncsdk.models.user_profile_set_request import UserProfileSetRequest


@pytest.fixture
def apis(new_app, make_client):
    client = make_client(new_app["appKey"], new_app["appSecret"])
    return ncsdk.UserManagementApi(client), ncsdk.UserProfileHostingApi(client)


def register(user_api, *user_ids):
    for user_id in user_ids:
        user_api.issue_access_token(AccessTokenIssueRequest(user_id=user_id, name=f"token {user_id}"))
        # Distinct registration milliseconds: the list order is the registration order.
        time.sleep(0.003)


def set_profile(profile_api, user_id, user_profile=None, user_ext_profile=None):
    request = UserProfileSetRequest(
        user_id=user_id, user_profile=user_profile, user_ext_profile=user_ext_profile
    )
    return profile_api.set_user_profile(request)


def batch_get(profile_api, *user_ids):
    response = profile_api.batch_get_user_profiles(UserIdsMax20Request(user_ids=list(user_ids)))
    assert response.code == 0
    return response.result.users or []


def list_page(profile_api, page=None, page_size=None, order=None):
    fields = {k: v for k, v in {"page": page, "page_size": page_size, "order": order}.items() if v is not None}
    response = profile_api.list_user_profiles(UserProfileListRequest(**fields))
    assert response.code == 0
    return [u.user_id for u in response.result.users or []]


def test_set_merges_and_batch_get_reads_both_parts(apis, new_user_id):
    user_api, profile_api = apis
    alice, bob, carol = new_user_id("a"), new_user_id("b"), new_user_id("c")
    register(user_api, alice, bob, carol)
    response = set_profile(
        profile_api, alice, {"name": "Alice", "gender": 1, "email": "alice@example.com"}, {"ext_color": "blue"}
    )
    assert response.code == 0 and response.profile_key is None
    (first,) = batch_get(profile_api, alice)
    assert first.user_id == alice
    assert first.user_profile == {"name": "Alice", "gender": 1, "email": "alice@example.com"}
    assert first.user_ext_profile == {"ext_color": "blue"}
    assert isinstance(first.version, int)

    # Keys not sent keep their values; every write bumps the version.
    set_profile(profile_api, alice, {"level": 42})
    (second,) = batch_get(profile_api, alice)
    assert second.user_profile == {"name": "Alice", "gender": 1, "email": "alice@example.com", "level": 42}
    assert second.user_ext_profile == {"ext_color": "blue"}
    assert second.version > first.version

    # An ext-only profile has no userProfile part; users without a profile are left out.
    set_profile(profile_api, bob, user_ext_profile={"ext_team": "red"})
    users = batch_get(profile_api, bob, carol, new_user_id("ghost"), alice)
    assert [u.user_id for u in users] == [bob, alice]
    assert users[0].user_profile is None
    assert users[0].user_ext_profile == {"ext_team": "red"}


def test_list_has_only_profiled_users_by_registration_time(apis, new_user_id):
    user_api, profile_api = apis
    users = [new_user_id(f"l{i}") for i in range(5)]
    register(user_api, *users)
    for user in [users[3], users[0], users[4], users[1]]:  # users[2] has a name, no profile
        set_profile(profile_api, user, {"role": 5})
    expected = [users[0], users[1], users[3], users[4]]
    assert list_page(profile_api) == expected
    assert list_page(profile_api, order=0) == expected
    assert list_page(profile_api, order=1) == expected[::-1]
    # Pages of two, read from the last one (each at its offset), in both orders.
    assert list_page(profile_api, page=3, page_size=2, order=0) == []
    assert list_page(profile_api, page=2, page_size=2, order=0) == expected[2:]
    assert list_page(profile_api, page=1, page_size=2, order=0) == expected[:2]
    assert list_page(profile_api, page=2, page_size=3, order=1) == [users[0]]
    response = profile_api.list_user_profiles(UserProfileListRequest(page=1, page_size=1, order=1))
    (item,) = response.result.users
    assert item.user_id == users[4] and item.user_profile == {"role": 5} and isinstance(item.version, int)


def test_delete_clears_both_parts(apis, new_user_id):
    user_api, profile_api = apis
    alice, bob = new_user_id("a"), new_user_id("b")
    register(user_api, alice, bob)
    set_profile(profile_api, alice, {"name": "A"}, {"ext_a": "1"})
    set_profile(profile_api, bob, {"name": "B"})
    response = profile_api.delete_user_profiles(UserIdsMax20Request(user_ids=[alice, new_user_id("ghost")]))
    assert response.code == 0
    assert [u.user_id for u in batch_get(profile_api, alice, bob)] == [bob]
    assert list_page(profile_api) == [bob]
    set_profile(profile_api, alice, user_ext_profile={"ext_b": "2"})
    (again,) = batch_get(profile_api, alice)
    assert again.user_profile is None and again.user_ext_profile == {"ext_b": "2"}


@pytest.mark.parametrize(
    "user_profile, user_ext_profile, code, key",
    [
        ({"gender": 3}, None, 1002, "gender"),
        ({"level": 101}, None, 1002, "level"),
        ({"name": "n" * 65}, None, 1005, "name"),
        ({"email": "not-an-email"}, None, 1002, "email"),
        ({"nickname": "x"}, None, 1002, "nickname"),
        (None, {"color": "red"}, 1002, "color"),
        (None, {"ext_a": "v" * 257}, 1005, "ext_a"),
    ],
)
def test_a_rejected_key_is_named_in_the_body(apis, new_user_id, user_profile, user_ext_profile, code, key):
    user_api, profile_api = apis
    alice = new_user_id("a")
    register(user_api, alice)
    with pytest.raises(BadRequestException) as excinfo:
        set_profile(profile_api, alice, user_profile, user_ext_profile)
    e = excinfo.value
    assert e.status == 400 and e.error_code == code, e.body
    body = json.loads(e.body)
    assert body["profileKey"] == key, e.body
    assert e.error_message
    assert batch_get(profile_api, alice) == []


def test_ext_pairs_are_limited_in_the_merged_profile(apis, new_user_id):
    user_api, profile_api = apis
    alice = new_user_id("a")
    register(user_api, alice)
    set_profile(profile_api, alice, user_ext_profile={f"ext_k{i:02}": "v" for i in range(20)})
    with pytest.raises(BadRequestException) as excinfo:
        set_profile(profile_api, alice, user_ext_profile={"ext_more": "x"})
    assert excinfo.value.error_code == 1005
    assert json.loads(excinfo.value.body)["profileKey"] == "ext_more"
    (stored,) = batch_get(profile_api, alice)
    assert len(stored.user_ext_profile) == 20 and "ext_more" not in stored.user_ext_profile


def test_declared_ext_keys_refuse_others(console, make_app, make_client, new_user_id):
    app = make_app()
    console("update", {"appKey": app["appKey"], "declaredExtProfileKeys": ["ext_color"]})
    client = make_client(app["appKey"], app["appSecret"])
    user_api, profile_api = ncsdk.UserManagementApi(client), ncsdk.UserProfileHostingApi(client)
    alice = new_user_id("a")
    register(user_api, alice)
    set_profile(profile_api, alice, user_ext_profile={"ext_color": "red"})
    with pytest.raises(BadRequestException) as excinfo:
        set_profile(profile_api, alice, user_ext_profile={"ext_size": "M"})
    assert excinfo.value.error_code == 1002
    assert json.loads(excinfo.value.body)["profileKey"] == "ext_size"


def test_unknown_user_is_not_found(apis, new_user_id):
    _, profile_api = apis
    with pytest.raises(NotFoundException) as excinfo:
        set_profile(profile_api, new_user_id("ghost"), {"name": "G"})
    assert excinfo.value.status == 404 and excinfo.value.error_code == 400


def test_request_limits(apis, new_user_id):
    _, profile_api = apis
    ids = [new_user_id("u") for _ in range(21)]
    for call in (profile_api.batch_get_user_profiles, profile_api.delete_user_profiles):
        with pytest.raises(BadRequestException) as excinfo:
            call(UserIdsMax20Request(user_ids=ids))
        assert excinfo.value.error_code == 1005 and "userIds" in excinfo.value.error_message
    with pytest.raises(BadRequestException) as excinfo:
        profile_api.list_user_profiles(UserProfileListRequest(page_size=101))
    assert excinfo.value.error_code == 1005 and "pageSize" in excinfo.value.error_message
