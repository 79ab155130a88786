"""Soft delete, restore and the soft-deleted list through the official SDK (ncsdk 0.1.2);
the operation record (an extension the SDK does not know) through a plainly signed request."""

import time

import pytest

from signed import signed_post

from ncsdk.exceptions import BadRequestException, ForbiddenException, NotFoundException
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.user_get_request import UserGetRequest
from ncsdk.models.user_ids_max100_request import UserIdsMax100Request
from ncsdk.models.user_soft_deleted_list_request import UserSoftDeletedListRequest


def operation(api_url, app, operation_id):
    """POST /v4/ext/operation/get (an extension: no SDK method)."""
    status, body = signed_post(api_url, app, "/v4/ext/operation/get", {"operationId": operation_id})
    assert status == 200, body
    return body["result"]


def wait_until_done(api_url, app, operation_id):
    for _ in range(200):
        result = operation(api_url, app, operation_id)
        if all(user["status"] != "pending" for user in result["users"]):
            return result
        time.sleep(0.1)
    pytest.fail(f"operation {operation_id} still pending")


def test_soft_delete_is_immediate_and_the_purge_completes(api_url, new_app, user_api, new_user_id):
    alice, bob = new_user_id("alice"), new_user_id("bob")
    for user in (alice, bob):
        user_api.issue_access_token(AccessTokenIssueRequest(user_id=user, name="N"))

    response = user_api.soft_delete_users(UserIdsMax100Request(user_ids=[alice]))
    assert response.code == 0 and response.result.operation_id

    with pytest.raises(NotFoundException) as missing:
        user_api.get_user(UserGetRequest(user_id=alice))
    assert missing.value.error_code == 400
    with pytest.raises(ForbiddenException) as refused:
        user_api.issue_access_token(AccessTokenIssueRequest(user_id=alice, name="again"))
    assert refused.value.error_code == 20101
    listed = user_api.list_soft_deleted_users(UserSoftDeletedListRequest(page=1, page_size=50))
    assert listed.result.user_ids == [alice]
    assert user_api.get_user(UserGetRequest(user_id=bob)).result.name == "N"

    done = wait_until_done(api_url, new_app, response.result.operation_id)
    assert done["type"] == "soft-delete"
    assert done["users"] == [{"userId": alice, "status": "done"}]


def test_restore_within_the_hour_is_refused_per_user(api_url, new_app, user_api, new_user_id):
    alice, never = new_user_id("alice"), new_user_id("never")
    user_api.issue_access_token(AccessTokenIssueRequest(user_id=alice, name="N"))
    deleted = user_api.soft_delete_users(UserIdsMax100Request(user_ids=[alice]))
    wait_until_done(api_url, new_app, deleted.result.operation_id)

    restored = user_api.restore_users(UserIdsMax100Request(user_ids=[alice, never]))
    assert restored.code == 0
    result = operation(api_url, new_app, restored.result.operation_id)
    assert result["type"] == "restore"
    assert result["users"] == [
        {"userId": alice, "status": "refused", "code": 20102},
        {"userId": never, "status": "refused", "code": 20103},
    ]


def test_limits(user_api):
    too_many = [f"u{i}" for i in range(101)]
    with pytest.raises(BadRequestException) as soft:
        user_api.soft_delete_users(UserIdsMax100Request(user_ids=too_many))
    assert soft.value.error_code == 1005
    with pytest.raises(BadRequestException) as restore:
        user_api.restore_users(UserIdsMax100Request(user_ids=too_many))
    assert restore.value.error_code == 1005
    with pytest.raises(BadRequestException) as page:
        user_api.list_soft_deleted_users(UserSoftDeletedListRequest(page=1, page_size=51))
    assert page.value.error_code == 1005
