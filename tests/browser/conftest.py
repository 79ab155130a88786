"""Fixtures for the Console's browser tier: headless Chromium (Debian's chromium and
chromium-driver) driving the real page served by a running local API.

Environment (scripts/browser-tests sets all of them):
  LOCAL_API_URL      the local API, e.g. http://127.0.0.1:8787
  LOCAL_ADMIN_TOKEN  the admin token it was started with
  CHROMIUM, CHROMEDRIVER   the browser and its WebDriver (default /usr/bin/...)
  AXE_SCRIPT         axe.min.js of the npm package axe-core
  SCREENSHOTS_DIR    where each page's screenshot goes

Every test creates its own apps and users, so tests neither share state nor depend on order.
"""

import base64
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

# The SDK's signing, as the compatibility suite uses it for the /v4/ext/ routes.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))
from signed import signed_post  # noqa: E402

WAIT_SECONDS = 20


# The local API's address and admin token: one definition for both suites.
from local_api import _env, admin_token, api_url  # noqa: E402,F401


@pytest.fixture(scope="session")
def screenshots():
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or "console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def axe_source():
    return Path(_env("AXE_SCRIPT")).read_text()


def post_json(url, body, token=None):
    """(HTTP status, JSON answer) of a POST."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class ConsoleApi:
    """The console API and the Server API called directly (with the admin token, or signed),
    to prepare what a test needs and to check what the page did."""

    def __init__(self, api_url, admin_token):
        self.url = api_url
        self.token = admin_token

    def call(self, op, body=None):
        status, answer = post_json(f"{self.url}/console/v1/{op}", body or {}, self.token)
        assert status == 200 and answer.get("code") == 0, f"console {op}: HTTP {status} {answer}"
        return answer.get("result") or {}

    def new_app(self, **fields):
        return self.call("apps/create", fields)

    def signed(self, app, path, body):
        return signed_post(self.url, app, path, body)

    def register(self, app, prefix="u"):
        user_id = f"{prefix}{uuid.uuid4().hex[:12]}"
        status, answer = self.signed(app, "/v4/auth/access-token/issue", {"userId": user_id, "name": user_id})
        assert status == 200 and answer.get("code") == 0, answer
        return user_id


@pytest.fixture(scope="session")
def console_api(api_url, admin_token):
    return ConsoleApi(api_url, admin_token)


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 200 and keeps every request it gets."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.append({"headers": dict(self.headers), "body": json.loads(body or b"{}")})
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self.received) >= count, f"{len(self.received)} deliveries, expected {count}"
        return self.received

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


class Console:
    """The Console page in the browser, driven as a person would: by labels and button names."""

    def __init__(self, driver, base, admin_token, axe_source, screenshots):
        self.driver = driver
        self.base = base
        self.admin_token = admin_token
        self.axe_source = axe_source
        self.screenshots = screenshots
        # The page replaces what it shows as answers arrive: an element may vanish mid-look.
        self.wait = WebDriverWait(driver, WAIT_SECONDS,
                                  ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

    # navigation and reading

    def open(self, hash_route=""):
        """Loads the page afresh (a new document, as a reload does), at `hash_route`."""
        self.driver.get("about:blank")
        self.driver.get(f"{self.base}/console/{hash_route}")
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def go(self, hash_route):
        """A page by its address (as a link does); waits until it has replaced the one shown."""
        shown = self.driver.find_elements(By.CSS_SELECTOR, "#view > *")
        self.driver.execute_script("window.location.hash = arguments[0]", hash_route)
        if shown:
            self.wait.until(expected_conditions.staleness_of(shown[0]))
        self.wait_loaded()

    def wait_loaded(self):
        self.wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#view [aria-busy='true']")
                        and d.find_elements(By.CSS_SELECTOR, "#view h1"))

    def heading(self):
        return self.driver.find_element(By.CSS_SELECTOR, "#view h1").text

    def notice(self):
        return self.driver.find_element(By.ID, "notice").text

    def problem(self):
        return self.driver.find_element(By.ID, "problem").text

    def wait_notice(self, pattern):
        """The next success message matching `pattern`; fails at once on an error message."""
        def seen(driver):
            if self.problem():
                raise AssertionError(f"the page reported: {self.problem()}")
            return re.search(pattern, self.notice())
        try:
            self.wait.until(seen)
        except TimeoutException:
            raise AssertionError(f"no message matching {pattern!r}; notice {self.notice()!r}") from None
        return self.notice()

    def wait_text(self, text, within="#view"):
        try:
            self.wait.until(lambda d: text in d.find_element(By.CSS_SELECTOR, within).text)
        except TimeoutException:
            raise AssertionError(f"{text!r} never appeared in {within}; problem {self.problem()!r}") from None

    # controls, found as assistive technology finds them

    def control(self, label):
        """The control whose <label> reads `label` (or whose aria-label does)."""
        for element in self.driver.find_elements(By.CSS_SELECTOR, "#view label"):
            if element.text.strip() == label:
                return self.driver.find_element(By.ID, element.get_attribute("for"))
        return self.driver.find_element(By.CSS_SELECTOR, f"#view [aria-label='{label}']")

    def fill(self, label, value):
        control = self.control(label)
        control.clear()
        control.send_keys(value)

    def choose(self, label, value):
        Select(self.control(label)).select_by_value(value)

    def button(self, name, within="#view"):
        for element in self.driver.find_elements(By.CSS_SELECTOR, f"{within} button"):
            if element.text.strip() == name and element.is_displayed():
                return element
        raise AssertionError(f"no button {name!r} in {within}")

    def press(self, name, within="#view"):
        """Clicks the button named `name`; if the page re-rendered it meanwhile, the new one."""
        def clicked(driver):
            try:
                self.button(name, within).click()
            except AssertionError:
                return False  # not (yet) on the page
            return True
        try:
            self.wait.until(clicked)
        except TimeoutException:
            raise AssertionError(f"no button {name!r} in {within}; problem {self.problem()!r}") from None

    def sign_in(self):
        self.open("#/apps")
        self.wait.until(lambda d: d.find_elements(By.ID, "admin-token"))
        self.fill("Admin token", self.admin_token)
        self.press("Sign in")
        self.wait.until(lambda d: self.heading() == "Apps")
        self.wait_loaded()

    def fact(self, term):
        """The value a description list gives for `term` (a user's Banned, State, ...)."""
        return self.driver.find_element(
            By.XPATH, f"//div[@id='view']//dt[normalize-space()='{term}']/following-sibling::dd[1]").text

    def session_token(self):
        saved = self.driver.execute_script("return sessionStorage.getItem('console.session')")
        return json.loads(saved)["token"] if saved else None

    def table_rows(self, caption_start):
        """The body rows of the table whose caption starts with `caption_start`, as cell texts."""
        for table in self.driver.find_elements(By.CSS_SELECTOR, "#view table"):
            caption = table.find_elements(By.TAG_NAME, "caption")
            if caption and caption[0].text.startswith(caption_start):
                self.wait.until(lambda d: table.get_attribute("aria-busy") is None)
                return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
                        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        raise AssertionError(f"no table captioned {caption_start!r}")

    # evidence

    def screenshot(self, name):
        """The whole page, not only the window (DevTools' capture beyond the viewport)."""
        width, height = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        (self.screenshots / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))

    def accessibility_violations(self):
        """axe-core's serious and critical violations on the page as it is now."""
        self.driver.execute_script(self.axe_source)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));")
        assert isinstance(result, list), f"axe-core failed: {result}"
        return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                 "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in result if v["impact"] in ("serious", "critical")]


def requested_urls(driver):
    """Every URL the page asked for since the last call, from Chromium's performance log (the
    DevTools Network domain): documents, scripts, styles, images, fetches and redirects."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.fixture(scope="session")
def driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        # The browser itself stays quiet too (updates, sync, field trials): only the page's
        # requests are under test, and nothing may need the internet.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-default-apps",
        "--metrics-recording-only",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def console(driver, api_url, admin_token, axe_source, screenshots):
    """A signed-out Console in a fresh tab state; after the test, every URL the page requested
    must be on the local API's own origin, and the page must have logged no error."""
    driver.get("about:blank")
    driver.delete_all_cookies()
    driver.execute_cdp_cmd("Network.enable", {})
    requested_urls(driver)  # what earlier tests left in the log
    driver.get_log("browser")
    # Signed out: the tab's session storage emptied on the page's origin, before any page loads.
    driver.get(f"{api_url}/console/config.json")
    driver.execute_script("sessionStorage.clear()")
    yield Console(driver, api_url, admin_token, axe_source, screenshots)
    origin = urllib.parse.urlsplit(api_url)
    foreign = [url for url in requested_urls(driver)
               if urllib.parse.urlsplit(url)[:2] != origin[:2] and not url.startswith(("data:", "about:"))]
    assert not foreign, f"the page asked other hosts: {foreign}"
    # Script errors and Content-Security-Policy refusals; answers the test provoked (a refused
    # session, a refused change) are logged by the browser as failed loads and are not errors.
    errors = [e["message"] for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and "Failed to load resource: the server responded" not in e["message"]]
    assert not errors, f"the browser console logged errors: {errors}"
