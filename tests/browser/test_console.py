"""The Console driven in headless Chromium as a person drives it: by its labels and buttons, with
the keyboard where a person would type. What each test asserts is what an app owner relies on,
checked through the API as well as on the page (issue 26, "What it must show").

After every test the `console` fixture checks Chromium's network log: the page asked no host
but its own.
"""

import re
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import post_json


def app_route(app_key, page):
    return f"#/app/{app_key}/{page}"


def test_sign_in_then_create_an_app_whose_secret_is_shown_once(console, console_api):
    console.sign_in()
    console.choose("Environment", "development")
    console.press("Create app")
    console.wait_notice(r"App \w+ created\.")
    shown = {e.get_attribute("data-secret"): e.text
             for e in console.driver.find_elements(By.CSS_SELECTOR, "#view code[data-secret]")}
    app_key, secret = shown["App key"], shown["App secret"]
    assert re.fullmatch(r"[0-9a-f]{16}", app_key) and len(secret) >= 32, shown
    console.screenshot("flow-app-created")

    # The secret shown is the app's: a call signed with it is accepted.
    user_id = console_api.register({"appKey": app_key, "appSecret": secret})
    assert user_id
    app = console_api.call("apps/get", {"appKey": app_key})
    assert (app["environment"], app["userCount"]) == ("development", 1)

    # The list shows the new app; once the page is left, the secret is nowhere on it.
    rows = console.table_rows("Apps")
    assert any(row[0] == app_key for row in rows), rows
    console.go(app_route(app_key, "overview"))
    assert console.heading() == f"App {app_key}"
    assert secret not in console.driver.page_source
    console.open("#/apps")
    console.wait_loaded()
    assert secret not in console.driver.page_source


def test_restricting_direct_messages_to_friends_makes_the_dm_check_refuse_a_non_friend(console, console_api):
    app = console_api.new_app()
    alice, bob, carol = (console_api.register(app, p) for p in ("a", "b", "c"))
    status, friends = console_api.signed(app, "/v4/friend/add", {"userId": alice, "targetId": carol, "action": 2})
    assert status == 200 and friends["code"] == 0, friends

    def may_message(sender, recipient):
        status, answer = console_api.signed(app, "/v4/ext/dm/permission/check",
                                            {"fromUserId": sender, "toUserId": recipient})
        assert status == 200 and answer["code"] == 0, answer
        return answer["result"]["allowed"]

    # Not asked before the change: the DM check's container would cache the app with the setting
    # off for APP_CACHE_TTL_SECONDS (settings reach cached copies within that time, by design).
    assert console_api.call("apps/get", {"appKey": app["appKey"]})["settings"]["restrictDmToFriends"] is False

    console.sign_in()
    console.go(app_route(app["appKey"], "chat"))
    restrict = console.control("Restrict direct messaging to friends")
    assert not restrict.is_selected()
    restrict.send_keys(Keys.SPACE)  # the keyboard, as a person without a mouse does it
    console.press("Save chat settings")
    console.wait_notice("Chat settings saved")
    console.screenshot("flow-dm-restricted")

    assert not may_message(alice, bob), "a non-friend is refused once the setting is on"
    assert may_message(alice, carol), "friends still may"
    assert console_api.call("apps/get", {"appKey": app["appKey"]})["settings"]["restrictDmToFriends"] is True
    # The page shows the saved state when it is opened again.
    console.open(app_route(app["appKey"], "chat"))
    console.wait_loaded()
    assert console.control("Restrict direct messaging to friends").is_selected()


def test_a_webhook_delivery_appears_in_the_log_and_is_replayed(console, console_api, receiver):
    app = console_api.new_app()
    alice = console_api.register(app, "a")
    console.sign_in()
    console.go(app_route(app["appKey"], "webhooks"))
    console.fill("Webhook URL", receiver.url)
    console.control("Profile update").click()
    console.press("Save webhook")
    console.wait_notice("Webhook saved")

    status, answer = console_api.signed(app, "/v4/user/profile/set",
                                        {"userId": alice, "userProfile": {"name": "Alice"}})
    assert status == 200 and answer["code"] == 0, answer
    first = receiver.wait_for(1)[0]
    assert first["body"]["type"] == "user:profile_update"
    event_id = first["headers"]["webhook-id"]

    # The delivery is in the log once the sender has recorded its answer.
    deadline = time.monotonic() + 30
    while True:
        console.press("Show deliveries")
        console.wait_loaded()
        rows = console.table_rows("Deliveries")
        row = next((r for r in rows if event_id in r), None)
        if row and "delivered" in row or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert row and "delivered" in row and "user:profile_update" in row, rows
    console.screenshot("flow-webhook-delivered")

    table = next(t for t in console.driver.find_elements(By.CSS_SELECTOR, "#view table")
                 if t.find_element(By.TAG_NAME, "caption").text.startswith("Deliveries"))
    replay = next(r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if event_id in r.text)
    replay.find_element(By.XPATH, ".//button[normalize-space()='Replay']").click()
    console.wait_notice("Replayed 1 event")
    again = receiver.wait_for(2)[1]
    assert again["headers"]["webhook-id"] == event_id, "a replay sends the same event id"
    assert again["body"] == first["body"]


def look_up(console, user_id):
    console.fill("User id", user_id)
    console.press("Look up")
    console.wait_text(f"User {user_id}")


def test_a_banned_user_is_in_the_ban_list(console, console_api):
    app = console_api.new_app()
    bob = console_api.register(app, "b")
    console.sign_in()
    console.go(app_route(app["appKey"], "users"))
    look_up(console, bob)
    console.fill("Ban for (minutes)", "90")
    console.press("Ban")
    console.wait_notice(f"{bob} is banned for 90 minutes")
    console.wait.until(lambda d: console.fact("Banned").startswith("until "))

    console.choose("List", "banned")
    console.press("Show list")
    console.wait_loaded()
    rows = console.table_rows("Banned users")
    assert [row[0] for row in rows] == [bob], rows
    console.screenshot("flow-user-banned")
    status, listed = console_api.signed(app, "/v4/user/ban/list", {})
    assert [u["userId"] for u in listed["result"]["bannedUsers"]] == [bob]


def test_deleting_a_test_user_lowers_the_count(console, console_api):
    app = console_api.new_app(environment="development")
    keep, drop = console_api.register(app, "k"), console_api.register(app, "d")
    console.sign_in()
    console.go(app_route(app["appKey"], "users"))
    console.wait_text("2 / 100 users")
    look_up(console, drop)
    console.press("Delete test user")
    console.press("Yes, delete test user")
    console.wait_notice(f"Test user {drop} deleted")
    console.wait_text("1 / 100 users")
    assert console_api.call("apps/get", {"appKey": app["appKey"]})["userCount"] == 1
    status, answer = console_api.signed(app, "/v4/user/get", {"userId": drop})
    assert answer["code"] != 0, f"{drop} still exists: {answer}"
    status, answer = console_api.signed(app, "/v4/user/get", {"userId": keep})
    assert answer["code"] == 0


def test_every_change_made_in_the_console_is_in_the_audit_log(console, console_api):
    console.sign_in()
    console.press("Create app")
    console.wait_notice(r"App \w+ created\.")
    app = {e.get_attribute("data-secret"): e.text
           for e in console.driver.find_elements(By.CSS_SELECTOR, "#view code[data-secret]")}
    app = {"appKey": app["App key"], "appSecret": app["App secret"]}
    user = console_api.register(app, "u")

    console.go(app_route(app["appKey"], "chat"))
    console.fill("Blocklist limit", "500")
    console.press("Save chat settings")
    console.wait_notice("Chat settings saved")

    console.go(app_route(app["appKey"], "webhooks"))
    console.press("Rotate the webhook secret")
    console.press("Yes, rotate the webhook secret")
    console.wait_notice("Webhook secret rotated")

    console.go(app_route(app["appKey"], "users"))
    look_up(console, user)
    console.press("Ban")
    console.wait_notice("is banned")
    console.press("Delete test user")
    console.press("Yes, delete test user")
    console.wait_notice("deleted")

    console.go(app_route(app["appKey"], "activity"))
    rows = console.table_rows("Console changes")
    actions = [row[2] for row in rows]  # When, Who, What, Target, Before, After
    for action in ("apps/create", "apps/update", "apps/rotate-webhook-secret", "users/ban",
                   "apps/delete-test-user"):
        assert action in actions, f"{action} not in the audit log: {actions}"
    assert all(row[1] for row in rows), "every entry names who acted"
    update = next(row for row in rows if row[2] == "apps/update")
    assert "500" in update[5], f"the change's after shows the new value: {update}"
    assert app["appSecret"] not in console.driver.page_source, "the audit log never shows a secret"
    console.screenshot("flow-audit-log")


def test_after_sign_out_the_session_is_refused_and_a_refused_session_signs_out(console, api_url):
    console.sign_in()
    token = console.session_token()
    assert post_json(f"{api_url}/console/v1/apps/list", {}, token)[0] == 200

    console.press("Sign out", within="#account")
    console.wait.until(lambda d: console.heading() == "Sign in")
    console.wait_notice("Signed out")
    assert console.session_token() is None
    status, answer = post_json(f"{api_url}/console/v1/apps/list", {}, token)
    assert status == 401, (status, answer)

    # A session the server no longer honours (signed out elsewhere, expired): the next call
    # brings the sign-in form back with the reason.
    console.driver.execute_script(
        "sessionStorage.setItem('console.session', JSON.stringify("
        "{token: arguments[0], expiresAt: Date.now() + 3600000, kind: 'token'}))", token)
    console.open("#/apps")
    console.wait.until(lambda d: console.heading() == "Sign in")
    assert "Sign in again" in console.problem()
    # One past its expiry is dropped before any call.
    console.driver.execute_script(
        "sessionStorage.setItem('console.session', JSON.stringify("
        "{token: 'x', expiresAt: Date.now() - 1000, kind: 'token'}))")
    console.open("#/apps")
    console.wait.until(lambda d: console.heading() == "Sign in")
    console.screenshot("flow-signed-out")


def test_activity_draws_the_metrics_as_charts(console, console_api):
    app = console_api.new_app()
    console_api.register(app, "m")  # at least one call in the period
    console.sign_in()
    console.go(app_route(app["appKey"], "activity"))
    console.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#view figure.chart"))
    charts = {figure.find_element(By.TAG_NAME, "h3").text: figure
              for figure in console.driver.find_elements(By.CSS_SELECTOR, "#view figure.chart")}
    calls = charts["Calls and 5xx errors"]
    lines = calls.find_elements(By.CSS_SELECTOR, "svg polyline")
    assert len(lines) == 2, "a line for calls and one for errors"
    # The drawn line reaches above the baseline: the calls this test made are on it.
    heights = [float(p.split(",")[1]) for p in lines[0].get_attribute("points").split()]
    assert min(heights) < max(heights), "the calls line is flat"
    # The same figures as numbers, for those who cannot see the chart.
    calls.find_element(By.TAG_NAME, "summary").click()
    numbers = calls.find_element(By.CSS_SELECTOR, "details table").text
    assert "calls" in numbers and "errors" in numbers
    assert {"Latency of calls, p50 and p99 (seconds)", "Rate-limit refusals (429)"} <= set(charts), list(charts)
    console.screenshot("flow-activity-charts")


def test_every_page_has_no_serious_accessibility_violation(console, console_api):
    """axe-core on each page in a state that shows its content; screenshots of each."""
    app = console_api.new_app(environment="development")
    user = console_api.register(app, "u")
    found = {}
    console.open("#/apps")
    console.wait_loaded()
    found["sign-in"] = console.accessibility_violations()
    console.screenshot("page-01-sign-in")
    console.sign_in()
    console.press("Create app")
    console.wait_notice("created")
    found["apps"] = console.accessibility_violations()
    console.screenshot("page-02-apps")
    for number, page in enumerate(("overview", "chat", "webhooks", "users", "activity"), start=3):
        console.go(app_route(app["appKey"], page))
        if page == "users":
            look_up(console, user)
        found[page] = console.accessibility_violations()
        console.screenshot(f"page-{number:02d}-{page}")
    console.go("#/activity")
    found["stack activity"] = console.accessibility_violations()
    serious = {page: v for page, v in found.items() if v}
    assert not serious, f"serious or critical violations: {serious}"


def test_the_keyboard_alone_reaches_the_page_and_its_controls(console):
    console.open("#/apps")
    console.wait_loaded()
    body = console.driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    active = console.driver.switch_to.active_element
    assert active.text == "Skip to content", "the first Tab reaches the skip link"
    active.send_keys(Keys.ENTER)
    # Past the skip link, Tab goes on into the page itself: the sign-in form.
    console.driver.switch_to.active_element.send_keys(Keys.TAB)
    assert console.driver.switch_to.active_element.get_attribute("id") == "admin-token"
    console.driver.switch_to.active_element.send_keys(console.admin_token, Keys.ENTER)
    console.wait.until(lambda d: console.heading() == "Apps")
