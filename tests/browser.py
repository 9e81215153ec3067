"""Browser fixtures: real headless Chromium (Debian's package) driven by Playwright,
and a second web server that plays the advertiser's site on another origin."""

import json
import os
import shutil
import subprocess

import pytest
from werkzeug.wrappers import Request, Response

from tests.conftest import LiveServer, require

CHROMIUM = os.environ.get("CLOSELOOP_TEST_CHROMIUM") or shutil.which("chromium") or ""
# Hosts of the advertiser's site. co.uk is a public suffix, so the capture script must
# settle on example.co.uk as the highest domain it can set a cookie on.
SITE_HOSTS = ("www.shop.example.co.uk", "shop.example.co.uk")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=" + ", ".join(f"MAP {h} 127.0.0.1" for h in SITE_HOSTS),
]


class Site:
    """The advertiser's pages: HTML by path, and /echo, which shows what a form posted."""

    def __init__(self):
        self.pages: dict[str, str] = {}
        self.posts: list[dict] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/echo":
            self.posts.append(request.form.to_dict(flat=False))
            response = Response(json.dumps(self.posts[-1]), mimetype="application/json")
        elif request.path in self.pages:
            kind = "text/javascript" if request.path.endswith(".js") else "text/html"
            response = Response(self.pages[request.path], mimetype=kind)
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)


@pytest.fixture(scope="session")
def browser():
    """Start headless Chromium once for the session."""
    require(bool(CHROMIUM) and os.path.exists(CHROMIUM), "Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    """Give each test a fresh profile: no cookies, no storage."""
    context = browser.new_context(ignore_https_errors=True)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """Open a tab and fail the test if the page throws anything."""
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"errors thrown into the page: {errors}"


@pytest.fixture
def site():
    """Serve the advertiser's site at http://localhost:<port> (and the SITE_HOSTS)."""
    site = Site()
    server = LiveServer(site)
    site.port = server.port
    site.url = f"http://localhost:{server.port}"
    yield site
    server.stop()


@pytest.fixture
def https_site(app, tmp_path):
    """Serve the site and the script over https at https://localhost:<port>."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    site = Site()
    site.pages["/capture.js"] = app.test_client().get("/capture.js").get_data(as_text=True)
    server = LiveServer(site, ssl_context=(str(cert), str(key)))
    site.url = f"https://localhost:{server.port}"
    yield site
    server.stop()
