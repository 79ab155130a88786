"""Connection status, driven through the official Python SDK (ncsdk 0.1.2); the connection itself
is a raw WebSocket handshake against the local API's `/ws` endpoint (the SDK has no client side).

Contract: the README, "Endpoints" (`/v4/user/connection-status/get`); our decisions:
docs/API-DECISIONS.md, "Connections and presence".
"""

import base64
import os
import socket
import time
from urllib.parse import urlparse

import pytest

from ncsdk.exceptions import BadRequestException
from ncsdk.models.access_token_issue_request import AccessTokenIssueRequest
from ncsdk.models.user_connection_status_request import UserConnectionStatusRequest


def status(api, user_id):
    resp = api.get_user_connection_status(UserConnectionStatusRequest(user_id=user_id))
    assert resp.code == 0
    return resp.result.status


def open_socket(api_url, token):
    """A WebSocket handshake; returns (HTTP status, socket)."""
    url = urlparse(api_url)
    sock = socket.create_connection((url.hostname, url.port or 80), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws?token={token} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1]), sock


def test_status_follows_the_connection(user_api, api_url, new_user_id):
    uid = new_user_id()
    token = user_api.issue_access_token(AccessTokenIssueRequest(user_id=uid, name="Alice")).result.access_token
    assert status(user_api, uid) == "0"
    code, sock = open_socket(api_url, token)
    try:
        assert code == 101
        assert status(user_api, uid) == "1"
    finally:
        sock.close()
    for _ in range(40):
        if status(user_api, uid) == "0":
            break
        time.sleep(0.05)
    assert status(user_api, uid) == "0"


def test_a_bad_token_is_refused_and_nobody_is_online(user_api, api_url, new_user_id):
    uid = new_user_id()
    code, sock = open_socket(api_url, "not-a-token")
    sock.close()
    assert code == 401
    assert status(user_api, uid) == "0"


def test_a_malformed_user_id_is_refused(user_api):
    with pytest.raises(BadRequestException) as excinfo:
        user_api.get_user_connection_status(UserConnectionStatusRequest(user_id="a#b"))
    assert excinfo.value.error_code == 1002
