"""Friendships and the blocklist, driven through the official Python SDK (ncsdk 0.1.2).

Contract: the README, "Endpoints"; our decisions: docs/API-DECISIONS.md, "Friendships and the
blocklist".
Every operation the SDK has is called through the SDK (FriendshipApi, UserBlocklistApi); the
pending-request extensions (/v4/ext/friend/request/...), which the SDK lacks, are plain HTTP
requests signed exactly as the SDK signs.
"""

import time

import pytest

from signed import signed_post

import ncsdk
from ncsdk.exceptions import BadRequestException, ForbiddenException, NotFoundException
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.friend_add_request import FriendAddRequest
from ncsdk.models.friend_clean_request import FriendCleanRequest
from ncsdk.models.friend_delete_request import FriendDeleteRequest
from ncsdk.models.friend_list_request import FriendListRequest
from ncsdk.models.friend_permission_get_request import FriendPermissionGetRequest
from ncsdk.models.friend_permission_set_request import FriendPermissionSetRequest
from ncsdk.models.friend_profile_set_request import FriendProfileSetRequest
from ncsdk.models.friend_relationship_get_request import FriendRelationshipGetRequest
from ncsdk.models.user_blocklist_add_request import UserBlocklistAddRequest
from ncsdk.models.user_blocklist_get_request import UserBlocklistGetRequest
from ncsdk.models.user_blocklist_remove_request import UserBlocklistRemoveRequest

REQUEST_PENDING = 25461


@pytest.fixture
def apis(new_app, make_client):
    """(app, users API, friendship API, blocklist API) of a fresh app."""
    client = make_client(new_app["appKey"], new_app["appSecret"])
    return (new_app, ncsdk.UserManagementApi(client), ncsdk.FriendshipApi(client),
            ncsdk.UserBlocklistApi(client))


@pytest.fixture
def users(apis, new_user_id):
    """Factory: registers n users and returns their IDs."""
    _, user_api, _, _ = apis

    def make(n):
        ids = [new_user_id("f") for _ in range(n)]
        for user_id in ids:
            user_api.issue_access_token(AccessTokenIssueRequest(user_id=user_id, name=f"name {user_id}"))
        return ids

    return make


def relation(friends, user, target):
    result = friends.get_friend_relationships(FriendRelationshipGetRequest(user_id=user, target_ids=[target]))
    return result.result.friendships[0].result


def assert_error(excinfo, cls, status, code, field=None):
    e = excinfo.value
    assert type(e) is cls, f"expected {cls.__name__}, got {type(e).__name__}: {e}"
    assert (e.status, e.error_code) == (status, code), e.body
    if field is not None:
        assert field in e.error_message, e.error_message


def test_add_directly_list_and_remove(apis, users):
    _, _, friends, _ = apis
    alice, bob, carol = users(3)
    assert friends.add_friend(FriendAddRequest(user_id=alice, target_id=bob, action=2, extra="hi")).code == 0
    assert friends.add_friend(FriendAddRequest(user_id=alice, target_id=carol, action=2)).code == 0
    assert relation(friends, bob, alice) == 4
    assert relation(friends, bob, carol) == 1

    page = friends.list_friends(FriendListRequest(user_id=alice, page_size=1, order=0)).result
    assert page.total_count == 2
    assert [f.user_id for f in page.friends] == [bob]
    assert page.friends[0].name == f"name {bob}"
    assert isinstance(page.friends[0].added_at, int) and page.friends[0].added_at > 1_700_000_000_000
    assert page.page_token
    rest = friends.list_friends(FriendListRequest(user_id=alice, page_size=1, page_token=page.page_token)).result
    assert [f.user_id for f in rest.friends] == [carol]
    assert not rest.page_token

    assert friends.remove_friends(FriendDeleteRequest(user_id=alice, target_ids=[bob])).code == 0
    assert relation(friends, bob, alice) == 1
    assert friends.remove_all_friends(FriendCleanRequest(user_id=carol)).code == 0
    empty = friends.list_friends(FriendListRequest(user_id=alice)).result
    assert empty.total_count == 0 and empty.friends == [] and not empty.page_token


def test_permissions_decide_requests(api_url, apis, users):
    app, _, friends, _ = apis
    alice, open_, careful, closed = users(4)
    got = friends.get_friend_permission(FriendPermissionGetRequest(user_ids=[alice])).result.permissions
    assert [(p.user_id, p.permission_type) for p in got] == [(alice, 2)]
    friends.set_friend_permission(FriendPermissionSetRequest(user_ids=[open_], permission_type=1))
    friends.set_friend_permission(FriendPermissionSetRequest(user_ids=[closed], permission_type=3))
    got = friends.get_friend_permission(FriendPermissionGetRequest(user_ids=[open_, careful, closed]))
    assert [p.permission_type for p in got.result.permissions] == [1, 2, 3]

    assert friends.add_friend(FriendAddRequest(user_id=alice, target_id=open_)).code == 0
    assert relation(friends, alice, open_) == 4
    # A pending request: HTTP 200 with code 25461, which the SDK returns rather than raises.
    assert friends.add_friend(FriendAddRequest(user_id=alice, target_id=careful, action=1, extra="hey")).code \
        == REQUEST_PENDING
    assert relation(friends, alice, careful) == 1
    with pytest.raises(ForbiddenException) as excinfo:
        friends.add_friend(FriendAddRequest(user_id=alice, target_id=closed))
    assert_error(excinfo, ForbiddenException, 403, 20104)

    status, body = signed_post(api_url, app, "/v4/ext/friend/request/list", {"userId": careful})
    assert (status, body["code"]) == (200, 0), body
    [request] = body["result"]["requests"]
    assert (request["requesterId"], request["extra"]) == (alice, "hey")
    status, body = signed_post(api_url, app, "/v4/ext/friend/request/accept",
                               {"userId": careful, "requesterId": alice})
    assert (status, body) == (200, {"code": 0})
    assert relation(friends, careful, alice) == 4
    status, body = signed_post(api_url, app, "/v4/ext/friend/request/accept",
                               {"userId": careful, "requesterId": alice})
    assert (status, body["code"]) == (404, 1015)

    # Reject: the request disappears, no friendship.
    assert friends.add_friend(FriendAddRequest(user_id=open_, target_id=careful)).code == REQUEST_PENDING
    status, body = signed_post(api_url, app, "/v4/ext/friend/request/reject",
                               {"userId": careful, "requesterId": open_})
    assert (status, body) == (200, {"code": 0})
    assert relation(friends, careful, open_) == 1
    status, body = signed_post(api_url, app, "/v4/ext/friend/request/list", {"userId": careful})
    assert body["result"]["requests"] == []


def test_friend_profile(apis, users):
    _, _, friends, _ = apis
    alice, bob, carol = users(3)
    friends.add_friend(FriendAddRequest(user_id=alice, target_id=bob, action=2))
    friends.set_friend_profile(FriendProfileSetRequest(
        user_id=alice, target_id=bob, alias="Bobby", friend_ext_profile={"ext_met": "2024"}))
    [friend] = friends.list_friends(FriendListRequest(user_id=alice)).result.friends
    assert (friend.alias, friend.friend_ext_profile) == ("Bobby", {"ext_met": "2024"})
    # Omitting the alias clears it.
    friends.set_friend_profile(FriendProfileSetRequest(user_id=alice, target_id=bob))
    [friend] = friends.list_friends(FriendListRequest(user_id=alice)).result.friends
    assert friend.alias == "" and friend.friend_ext_profile == {"ext_met": "2024"}
    with pytest.raises(NotFoundException) as excinfo:
        friends.set_friend_profile(FriendProfileSetRequest(user_id=alice, target_id=carol, alias="C"))
    assert_error(excinfo, NotFoundException, 404, 20105)
    with pytest.raises(BadRequestException) as excinfo:
        friends.set_friend_profile(FriendProfileSetRequest(user_id=alice, target_id=bob, alias="a" * 65))
    assert_error(excinfo, BadRequestException, 400, 1005, "alias")


def test_refusals_map_to_sdk_exceptions(apis, users):
    _, _, friends, blocklist = apis
    alice, bob = users(2)
    with pytest.raises(BadRequestException) as excinfo:
        friends.add_friend(FriendAddRequest(user_id=alice, target_id=alice))
    assert_error(excinfo, BadRequestException, 400, 1002, "targetId")
    with pytest.raises(NotFoundException) as excinfo:
        friends.add_friend(FriendAddRequest(user_id=alice, target_id="nobody1", action=2))
    assert_error(excinfo, NotFoundException, 404, 400)
    with pytest.raises(BadRequestException) as excinfo:
        friends.add_friend(FriendAddRequest(user_id=alice, target_id=bob, extra="x" * 129))
    assert_error(excinfo, BadRequestException, 400, 1005, "extra")
    with pytest.raises(BadRequestException) as excinfo:
        friends.remove_friends(FriendDeleteRequest(user_id=alice, target_ids=[f"u{i}" for i in range(101)]))
    assert_error(excinfo, BadRequestException, 400, 1005, "targetIds")
    with pytest.raises(BadRequestException) as excinfo:
        friends.list_friends(FriendListRequest(user_id=alice, page_token="forged.token"))
    assert_error(excinfo, BadRequestException, 400, 1002, "pageToken")
    with pytest.raises(BadRequestException) as excinfo:
        blocklist.add_user_blocklist(UserBlocklistAddRequest(user_id=alice, target_user_ids=[alice]))
    assert_error(excinfo, BadRequestException, 400, 1002, "targetUserIds")
    with pytest.raises(NotFoundException) as excinfo:
        blocklist.get_user_blocklist(UserBlocklistGetRequest(user_id="nobody1"))
    assert_error(excinfo, NotFoundException, 404, 400)


def test_blocklist(apis, users):
    _, _, _, blocklist = apis
    alice, *targets = users(6)
    assert blocklist.add_user_blocklist(UserBlocklistAddRequest(user_id=alice, target_user_ids=targets[:3])).code == 0
    time.sleep(0.01)
    blocklist.add_user_blocklist(UserBlocklistAddRequest(user_id=alice, target_user_ids=targets[3:]))
    everything = blocklist.get_user_blocklist(UserBlocklistGetRequest(user_id=alice)).result
    assert set(everything.blocked_user_ids[:2]) == set(targets[3:]), "newest first"
    assert set(everything.blocked_user_ids) == set(targets)
    assert not everything.page_token

    seen, token = [], None
    while True:
        page = blocklist.get_user_blocklist(
            UserBlocklistGetRequest(user_id=alice, page_size=2, page_token=token)).result
        seen += page.blocked_user_ids
        token = page.page_token
        if not token:
            break
    assert seen == everything.blocked_user_ids

    blocklist.remove_user_blocklist(UserBlocklistRemoveRequest(user_id=alice, blocked_user_ids=targets[:2]))
    left = blocklist.get_user_blocklist(UserBlocklistGetRequest(user_id=alice)).result.blocked_user_ids
    assert set(left) == set(targets[2:])


def test_blocklist_limit(make_app, make_client, new_user_id):
    app = make_app(blocklistLimit=2)
    client = make_client(app["appKey"], app["appSecret"])
    user_api, blocklist = ncsdk.UserManagementApi(client), ncsdk.UserBlocklistApi(client)
    ids = [new_user_id("b") for _ in range(4)]
    for user_id in ids:
        user_api.issue_access_token(AccessTokenIssueRequest(user_id=user_id, name="N"))
    blocklist.add_user_blocklist(UserBlocklistAddRequest(user_id=ids[0], target_user_ids=ids[1:3]))
    with pytest.raises(ForbiddenException) as excinfo:
        blocklist.add_user_blocklist(UserBlocklistAddRequest(user_id=ids[0], target_user_ids=[ids[3]]))
    assert_error(excinfo, ForbiddenException, 403, 20106)
