"""The local API both Python suites drive (tests/compat and tests/browser): where it is and its
admin token, from the environment the test scripts set."""

import os

import pytest


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"environment variable {name} must be set (scripts/test and scripts/browser-tests set it)")
    return value


@pytest.fixture(scope="session")
def api_url():
    return _env("LOCAL_API_URL").rstrip("/")


@pytest.fixture(scope="session")
def admin_token():
    return _env("LOCAL_ADMIN_TOKEN")
