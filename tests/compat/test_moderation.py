"""Bans, user tags and direct-channel mutes through the official SDK (ncsdk 0.1.2); the
direct-message permission check (an extension the SDK does not know) through a plainly signed
request. Time travel (a ban running out) is tested in Rust, where the clock can be moved.

Contract: the README, "Endpoints"; our decisions: docs/API-DECISIONS.md, "Moderation: bans,
tags, direct-channel mutes, the DM permission check".
"""

import re
import time

import pytest

from signed import signed_post

import ncsdk
from ncsdk.exceptions import BadRequestException, ForbiddenException, NotFoundException
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.channel_type_mute_list_request import ChannelTypeMuteListRequest
from ncsdk.models.channel_type_mute_set_request import ChannelTypeMuteSetRequest
from ncsdk.models.friend_add_request import FriendAddRequest
from ncsdk.models.user_ban_list_request import UserBanListRequest
from ncsdk.models.user_ban_request import UserBanRequest
from ncsdk.models.user_blocklist_add_request import UserBlocklistAddRequest
from ncsdk.models.user_ids_max100_request import UserIdsMax100Request
from ncsdk.models.user_ids_max20_request import UserIdsMax20Request
from ncsdk.models.user_tag_batch_get_request import UserTagBatchGetRequest
from ncsdk.models.user_tag_batch_set_request import UserTagBatchSetRequest

UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def register(api, *user_ids):
    for user_id in user_ids:
        api.issue_access_token(AccessTokenIssueRequest(user_id=user_id, name="N"))


def dm(api_url, app, sender, recipient):
    status, body = signed_post(api_url, app, "/v4/ext/dm/permission/check",
                               {"fromUserId": sender, "toUserId": recipient})
    assert (status, body["code"]) == (200, 0), body
    return body["result"]["allowed"], body["result"]["reason"]


def banned(api, **kwargs):
    users = api.list_banned_users(UserBanListRequest(**kwargs)).result.banned_users or []
    return [(b.user_id, b.ban_expires_at) for b in users]


def mute(api, user_ids, state=1, types=("PERSON",)):
    return api.set_channel_type_mute(
        ChannelTypeMuteSetRequest(user_ids=list(user_ids), mute_state=state, channel_types=list(types)))


def muted(api, **kwargs):
    result = api.list_channel_type_mute(ChannelTypeMuteListRequest(channel_type="PERSON", **kwargs)).result
    return result.total_count, result.muted_user_ids


def assert_error(excinfo, cls, status, code, field):
    e = excinfo.value
    assert type(e) is cls, f"expected {cls.__name__}, got {type(e).__name__}: {e}"
    assert (e.status, e.error_code) == (status, code), e.body
    assert field in (e.error_message or ""), e.body


# --- bans -----------------------------------------------------------------------------------


def test_ban_list_and_unban(user_api, new_user_id):
    alice, bob, carol = new_user_id("alice"), new_user_id("bob"), new_user_id("carol")
    register(user_api, alice, bob, carol)
    before = time.gmtime(time.time() + 30 * 60 - 5)
    assert user_api.ban_users(UserBanRequest(user_ids=[alice], duration_minutes=30)).code == 0
    assert user_api.ban_users(UserBanRequest(user_ids=[bob, carol], duration_minutes=60)).code == 0
    after = time.gmtime(time.time() + 30 * 60 + 5)

    listed = banned(user_api)
    # Latest expiry first: bob and carol (60 minutes) before alice (30).
    assert {u for u, _ in listed[:2]} == {bob, carol} and listed[2][0] == alice
    expiry = listed[2][1]
    assert UTC_TIME.match(expiry), expiry
    assert time.strftime("%Y-%m-%d %H:%M:%S", before) <= expiry <= time.strftime("%Y-%m-%d %H:%M:%S", after)
    assert [u for u, _ in banned(user_api, page=2, page_size=2)] == [alice]
    assert len(banned(user_api, page_size=1)) == 3, "without page: the first 1,000"

    # Banning again replaces the expiry: alice now ends last.
    user_api.ban_users(UserBanRequest(user_ids=[alice], duration_minutes=43200))
    assert banned(user_api)[0][0] == alice

    assert user_api.unban_users(UserIdsMax20Request(user_ids=[alice, bob])).code == 0
    assert [u for u, _ in banned(user_api)] == [carol]


def test_ban_limits_and_unknown_users(user_api, new_user_id):
    alice = new_user_id("alice")
    register(user_api, alice)
    for minutes in (0, 43201):
        with pytest.raises(BadRequestException) as refused:
            user_api.ban_users(UserBanRequest(user_ids=[alice], duration_minutes=minutes))
        assert_error(refused, BadRequestException, 400, 1002, "durationMinutes")
    with pytest.raises(BadRequestException) as refused:
        user_api.ban_users(UserBanRequest(user_ids=[f"u{i}" for i in range(21)], duration_minutes=5))
    assert_error(refused, BadRequestException, 400, 1005, "userIds")
    ghost = new_user_id("ghost")
    with pytest.raises(NotFoundException) as missing:
        user_api.ban_users(UserBanRequest(user_ids=[alice, ghost], duration_minutes=5))
    assert_error(missing, NotFoundException, 404, 400, ghost)
    assert banned(user_api) == [], "nothing was written"
    with pytest.raises(BadRequestException) as refused:
        user_api.list_banned_users(UserBanListRequest(page=1, page_size=1001))
    assert_error(refused, BadRequestException, 400, 1005, "pageSize")


def test_ban_of_a_soft_deleted_user_is_refused(user_api, new_user_id):
    alice = new_user_id("alice")
    register(user_api, alice)
    user_api.soft_delete_users(UserIdsMax100Request(user_ids=[alice]))
    with pytest.raises(ForbiddenException) as refused:
        user_api.ban_users(UserBanRequest(user_ids=[alice], duration_minutes=5))
    assert_error(refused, ForbiddenException, 403, 20101, alice)


# --- tags -----------------------------------------------------------------------------------


def tags_of(api, *user_ids):
    users = api.batch_get_user_tags(UserTagBatchGetRequest(user_ids=list(user_ids))).result.users
    return [(u.user_id, u.tags) for u in users]


def test_tags_replace_clear_and_skip_unknown_users(user_api, new_user_id):
    alice, bob, ghost = new_user_id("alice"), new_user_id("bob"), new_user_id("ghost")
    register(user_api, alice, bob)
    assert user_api.batch_set_user_tags(
        UserTagBatchSetRequest(user_ids=[alice, bob, ghost], tags=["region-us", "vip"])).code == 0
    assert tags_of(user_api, alice, bob, ghost) == [(alice, ["region-us", "vip"]), (bob, ["region-us", "vip"]), (ghost, [])]
    user_api.batch_set_user_tags(UserTagBatchSetRequest(user_ids=[alice], tags=["new"]))
    user_api.batch_set_user_tags(UserTagBatchSetRequest(user_ids=[bob], tags=[]))
    assert tags_of(user_api, alice, bob) == [(alice, ["new"]), (bob, [])]


def test_tag_limits(user_api, new_user_id):
    alice = new_user_id("alice")
    register(user_api, alice)
    cases = [
        (UserTagBatchSetRequest(user_ids=[alice], tags=["t"] * 21), 1005, "tags"),
        (UserTagBatchSetRequest(user_ids=[alice], tags=["x" * 41]), 1005, "tags"),
        (UserTagBatchSetRequest(user_ids=[f"u{i}" for i in range(1001)], tags=["t"]), 1005, "userIds"),
    ]
    for request, code, field in cases:
        with pytest.raises(BadRequestException) as refused:
            user_api.batch_set_user_tags(request)
        assert_error(refused, BadRequestException, 400, code, field)
    with pytest.raises(BadRequestException) as refused:
        user_api.batch_get_user_tags(UserTagBatchGetRequest(user_ids=[f"u{i}" for i in range(51)]))
    assert_error(refused, BadRequestException, 400, 1005, "userIds")
    assert tags_of(user_api, alice) == [(alice, [])]


# --- mutes ----------------------------------------------------------------------------------


def test_mute_list_and_unmute(user_api, new_user_id):
    alice, bob, ghost = new_user_id("alice"), new_user_id("bob"), new_user_id("ghost")
    register(user_api, alice, bob)
    assert mute(user_api, [alice]).code == 0
    assert mute(user_api, [bob, ghost]).code == 0
    assert muted(user_api) == (2, [alice, bob])
    assert muted(user_api, page_size=1, offset=1) == (2, [bob])
    assert mute(user_api, [alice], state=0).code == 0
    assert muted(user_api) == (1, [bob])


def test_mute_accepts_only_direct_channels(user_api, new_user_id):
    alice = new_user_id("alice")
    register(user_api, alice)
    with pytest.raises(BadRequestException) as refused:
        mute(user_api, [alice], types=("GROUP",))
    assert_error(refused, BadRequestException, 400, 1002, "channelTypes")
    with pytest.raises(BadRequestException) as refused:
        mute(user_api, [alice], state=2)
    assert_error(refused, BadRequestException, 400, 1002, "muteState")
    with pytest.raises(BadRequestException) as refused:
        user_api.list_channel_type_mute(ChannelTypeMuteListRequest(channel_type="GROUP"))
    assert_error(refused, BadRequestException, 400, 1002, "channelType")
    with pytest.raises(BadRequestException) as refused:
        user_api.list_channel_type_mute(ChannelTypeMuteListRequest(channel_type="PERSON", page_size=201))
    assert_error(refused, BadRequestException, 400, 1005, "pageSize")
    assert muted(user_api) == (0, [])


def test_mute_under_the_postman_key(api_url, new_app, user_api, new_user_id):
    """The Postman collection sends `channelType` (a list); a number works too."""
    alice, bob = new_user_id("alice"), new_user_id("bob")
    register(user_api, alice, bob)
    status, body = signed_post(api_url, new_app, "/v4/channel-type/mute/set",
                               {"userIds": [alice], "muteState": 1, "channelType": ["PERSON"]})
    assert (status, body) == (200, {"code": 0})
    status, body = signed_post(api_url, new_app, "/v4/channel-type/mute/set",
                               {"userIds": [bob], "muteState": 1, "channelTypes": [1]})
    assert (status, body) == (200, {"code": 0})
    status, body = signed_post(api_url, new_app, "/v4/channel-type/mute/list", {"channelType": 1})
    assert (status, body["result"]) == (200, {"totalCount": 2, "mutedUserIds": [alice, bob]})


# --- direct-message permission --------------------------------------------------------------


def test_dm_check_rules(api_url, make_app, make_client, new_user_id):
    app = make_app(restrictDmToFriends=True)
    client = make_client(app["appKey"], app["appSecret"])
    users, friends, blocklist = (ncsdk.UserManagementApi(client), ncsdk.FriendshipApi(client),
                                 ncsdk.UserBlocklistApi(client))
    alice, bob, carol = new_user_id("alice"), new_user_id("bob"), new_user_id("carol")
    register(users, alice, bob, carol)

    assert dm(api_url, app, alice, bob) == (False, "not-friends")
    friends.add_friend(FriendAddRequest(user_id=alice, target_id=bob, action=2))
    assert dm(api_url, app, alice, bob) == (True, "ok")
    assert dm(api_url, app, bob, alice) == (True, "ok")

    mute(users, [alice])
    assert dm(api_url, app, alice, bob) == (False, "sender-muted")
    blocklist.add_user_blocklist(UserBlocklistAddRequest(user_id=bob, target_user_ids=[alice]))
    assert dm(api_url, app, alice, bob) == (False, "blocked-by-recipient"), "the blocklist wins over friendship"
    users.ban_users(UserBanRequest(user_ids=[alice], duration_minutes=5))
    assert dm(api_url, app, alice, bob) == (False, "sender-banned")
    users.unban_users(UserIdsMax20Request(user_ids=[alice]))
    assert dm(api_url, app, alice, bob) == (False, "blocked-by-recipient")

    users.soft_delete_users(UserIdsMax100Request(user_ids=[carol]))
    assert dm(api_url, app, bob, carol) == (False, "recipient-soft-deleted")
    assert dm(api_url, app, carol, bob) == (False, "sender-soft-deleted")


def test_dm_check_unknown_users_and_bad_input(api_url, new_app, user_api, new_user_id):
    alice, ghost = new_user_id("alice"), new_user_id("ghost")
    register(user_api, alice)
    status, body = signed_post(api_url, new_app, "/v4/ext/dm/permission/check", {"fromUserId": alice, "toUserId": ghost})
    assert (status, body["code"]) == (404, 400) and ghost in body["errorMessage"]
    status, body = signed_post(api_url, new_app, "/v4/ext/dm/permission/check", {"fromUserId": alice})
    assert (status, body["code"]) == (400, 1002) and "toUserId" in body["errorMessage"]
    status, body = signed_post(api_url, new_app, "/v4/ext/dm/permission/check", {"fromUserId": alice, "toUserId": alice})
    assert (status, body["code"]) == (400, 1002) and "toUserId" in body["errorMessage"]
