"""Fixtures for the ncsdk compatibility suite.

The official Python SDK (ncsdk 0.1.2) drives a running local API.

Environment:
  LOCAL_API_URL      base URL of the local API, e.g. http://127.0.0.1:8788
  LOCAL_ADMIN_TOKEN  admin token the local API was started with (console routes)

Every test creates its own app through the console, so nothing secret lives in the repo
and tests do not share users.
"""

import json
import urllib.error
import urllib.request
import uuid

import pytest

import ncsdk


# The local API's address and admin token: one definition for both suites.
from local_api import admin_token, api_url  # noqa: E402,F401


@pytest.fixture(scope="session")
def console(api_url, admin_token):
    """Calls a console operation (the only HTTP the suite does without the SDK)."""

    def call(op, body=None):
        req = urllib.request.Request(
            f"{api_url}/console/v1/apps/{op}",
            data=json.dumps(body or {}).encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {admin_token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                payload = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            raise AssertionError(
                f"console {op} failed: HTTP {e.code} {e.read().decode('utf-8', 'replace')}"
            ) from None
        assert payload.get("code") == 0, f"console {op} returned {payload}"
        return payload.get("result") or {}

    return call


@pytest.fixture
def make_app(console):
    """Factory: creates a fresh app and returns its console record (appKey, appSecret, ...)."""

    def make(**fields):
        app = console("create", fields)
        assert app["appKey"] and app["appSecret"]
        return app

    return make


@pytest.fixture
def new_app(make_app):
    return make_app()


@pytest.fixture
def make_client(api_url):
    """Factory: an ncsdk ApiClient for (app_key, app_secret) pointed at the local API."""

    clients = []

    def make(app_key, app_secret):
        configuration = ncsdk.Configuration()
        configuration.set_nexconn_credentials(app_key=app_key, app_secret=app_secret)
        configuration.set_primary_backup_domains(api_url, api_url)
        # The SDK never re-sends a request on the backup domain; it only counts 5xx and
        # transport errors and moves later requests to the next domain. Both domains are the
        # local API anyway, but keep every request on the primary so nothing is masked.
        configuration.set_auto_failover_enabled(False)
        # No urllib3 retries: a re-sent request would carry the same Nonce (a replay).
        configuration.retries = 0
        client = ncsdk.ApiClient(configuration)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.rest_client.pool_manager.clear()


@pytest.fixture
def api_client(new_app, make_client):
    return make_client(new_app["appKey"], new_app["appSecret"])


@pytest.fixture
def user_api(api_client):
    return ncsdk.UserManagementApi(api_client)


@pytest.fixture
def make_user_api(make_client):
    def make(app_key, app_secret):
        return ncsdk.UserManagementApi(make_client(app_key, app_secret))

    return make


@pytest.fixture
def new_user_id():
    """Factory for user IDs that satisfy the contract (letters and digits only)."""

    def make(prefix="u"):
        return f"{prefix}{uuid.uuid4().hex[:16]}"

    return make
