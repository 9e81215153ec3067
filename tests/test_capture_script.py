"""The capture script in real headless Chromium, on an advertiser's page of another origin."""

import time

import pytest

from capture.models import Click
from database import db

pytestmark = pytest.mark.browser

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
MSCLKID_2 = "0123456789abcdef0123456789ABCDEF"
GCLID = "-Cj0KCQjw_AbC-123"
DAY = 86400


def html(service, body="", attrs="", head=""):
    """Return an advertiser's page that includes the script as the README says."""
    return (
        "<!doctype html><html><head>"
        f'<script src="{service.url}/capture.js" defer {attrs}></script>{head}'
        f"</head><body>{body}</body></html>"
    )


LEAD_FORM = '<form id="lead" method="post" action="{service}/leads"><input name="email"></form>'
MARKED_FORM = (
    '<form id="lead" method="post" action="/echo" data-closeloop>'
    '<input name="email" value="a@example.com"><button>Send</button></form>'
)


def values(page):
    return page.evaluate("window.closeloop.get()")


def hidden(page, form="#lead"):
    """Return {name: value} of the inputs inside a form."""
    return page.evaluate(
        "f => Object.fromEntries([...document.querySelector(f).elements]"
        ".filter(e => e.name).map(e => [e.name, e.value]))",
        form,
    )


def our_cookie(context):
    cookies = [c for c in context.cookies() if c["name"] == "_closeloop"]
    assert len(cookies) <= 1, cookies
    return cookies[0] if cookies else None


def open_landing(page, site, service, query, **page_args):
    site.pages["/landing"] = html(service, **page_args)
    page.goto(f"{site.url}/landing{query}")
    page.wait_for_function("window.closeloop")


def test_second_page_form_gets_the_exact_ids(page, site, live_server):
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}&gclid={GCLID}")
    site.pages["/form"] = html(live_server, LEAD_FORM.format(service=live_server.url))
    page.goto(f"{site.url}/form")
    page.wait_for_selector("#lead input[name=submission_id]", state="attached")
    fields = hidden(page)
    assert fields["msclkid"] == MSCLKID
    assert fields["gclid"] == GCLID
    assert fields["landing_url"] == f"{site.url}/landing?msclkid={MSCLKID}&gclid={GCLID}"
    assert fields["referrer"] == ""
    assert len(fields["submission_id"]) >= 16


def test_cookie_is_first_party_on_the_highest_domain_for_90_days(page, context, site, live_server):
    site.pages["/landing"] = html(live_server)
    before = time.time()
    page.goto(f"http://www.shop.example.co.uk:{site.port}/landing?msclkid={MSCLKID}")
    page.wait_for_function("window.closeloop")
    cookie = our_cookie(context)
    assert cookie["domain"] == ".example.co.uk"
    assert cookie["path"] == "/"
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False
    assert before + 90 * DAY - 5 <= cookie["expires"] <= time.time() + 90 * DAY + 5


def test_named_cookie_domain_is_used(page, context, site, live_server):
    site.pages["/landing"] = html(live_server, attrs='data-cookie-domain="shop.example.co.uk"')
    page.goto(f"http://www.shop.example.co.uk:{site.port}/landing?msclkid={MSCLKID}")
    page.wait_for_function("window.closeloop")
    assert our_cookie(context)["domain"] == ".shop.example.co.uk"


def test_later_visits_do_not_extend_the_expiry(page, context, site, live_server):
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}")
    first = our_cookie(context)["expires"]
    time.sleep(2.2)
    page.reload()
    page.wait_for_function("window.closeloop")
    page.goto(f"{site.url}/landing")
    page.wait_for_function("window.closeloop")
    assert abs(our_cookie(context)["expires"] - first) < 1.5


def test_https_page_gets_a_secure_cookie(page, context, https_site, live_server):
    https_site.pages["/landing"] = (
        f'<!doctype html><script src="/capture.js"></script><p>{https_site.url}</p>'
    )
    page.goto(f"{https_site.url}/landing?msclkid={MSCLKID}")
    page.wait_for_function("window.closeloop")
    assert our_cookie(context)["secure"] is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"?MSCLKID={MSCLKID}", {"msclkid": MSCLKID}),
        (f"?msclkid={MSCLKID_2}", {"msclkid": MSCLKID_2}),
        (f"?gclid={GCLID}", {"gclid": GCLID}),
        (f"?msclkid=%20{MSCLKID}%20", {"msclkid": MSCLKID}),
        ("?sccid=abc&ScCid=Def", {"ScCid": "Def"}),
        ("?utm_source=spring+sale&utm_campaign=A%26B", {"utm_source": "spring sale"}),
        (f"?gclid=one&gclid={GCLID}", {"gclid": GCLID}),
        (f"#/offer?gclid={GCLID}", {"gclid": GCLID}),
        (f"#gclid={GCLID}", {"gclid": GCLID}),
        ("?gbraid=0AAAAA-b_c&wbraid=CjkK-x_Y", {"gbraid": "0AAAAA-b_c", "wbraid": "CjkK-x_Y"}),
    ],
)
def test_parameters_are_read_as_the_spec_says(page, site, live_server, query, expected):
    open_landing(page, site, live_server, query)
    got = values(page)
    for name, value in expected.items():
        assert got[name] == value


@pytest.mark.parametrize(
    "query",
    [
        "?msclkid=not-a-guid",
        f"?msclkid={MSCLKID}0",
        "?gclid=" + "a" * 256,
        "?gclid=abc+def",
        "?gclid=null",
        "?msclkid=undefined",
        "?gclid=",
        "?utm_source=" + "x" * 501,
    ],
)
def test_invalid_values_are_not_filled(page, site, live_server, query):
    site.pages["/landing"] = html(
        live_server,
        '<form id="lead" data-closeloop><input name="msclkid"><input name="gclid">'
        '<input name="utm_source"></form>',
    )
    page.goto(f"{site.url}/landing{query}")
    page.wait_for_selector("#lead input[name=submission_id]", state="attached")
    got = values(page)
    assert not {"msclkid", "gclid", "utm_source"} & set(got)
    fields = hidden(page)
    assert fields["msclkid"] == fields["gclid"] == fields["utm_source"] == ""


def test_inputs_are_matched_by_name_id_and_data_attribute(page, site, live_server):
    body = (
        '<input name="MSCLKID" id="a"><input id="gclid"><input id="c" data-closeloop="msclkid">'
        '<textarea name="landing_url"></textarea>'
    )
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}&gclid={GCLID}", body=body)
    page.wait_for_function("document.getElementById('c').value")
    assert page.input_value("#a") == MSCLKID
    assert page.input_value("#gclid") == GCLID
    assert page.input_value("#c") == MSCLKID
    assert page.input_value("textarea").endswith(f"/landing?msclkid={MSCLKID}&gclid={GCLID}")


def test_inputs_named_like_object_properties_are_left_alone(page, site, live_server):
    body = '<input name="constructor" id="a"><input name="toString" id="b"><input id="msclkid">'
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}", body=body)
    page.wait_for_function("document.getElementById('msclkid').value")
    assert page.input_value("#a") == ""
    assert page.input_value("#b") == ""


# Imitates React's value tracker: an input event counts as a change only when the value
# was set past the instance's own setter, as a user's typing would be.
VALUE_TRACKER = """<script>
window.changes = [];
const input = document.getElementById('g');
const proto = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value');
let tracked = input.value;
Object.defineProperty(input, 'value', {configurable: true,
  get() { return proto.get.call(this); }, set(v) { tracked = v; proto.set.call(this, v); }});
input.addEventListener('input', () => {
  const now = proto.get.call(input);
  if (now !== tracked) { tracked = now; changes.push(now); }
});
</script>"""


def test_framework_controlled_input_registers_the_change(page, site, live_server):
    site.pages["/landing"] = (
        f'<!doctype html><html><body><input name="gclid" id="g">{VALUE_TRACKER}'
        f'<script src="{live_server.url}/capture.js"></script></body></html>'
    )
    page.goto(f"{site.url}/landing?gclid={GCLID}")
    page.wait_for_function("window.changes.length > 0")
    assert page.evaluate("window.changes") == [GCLID]


def test_form_added_later_is_filled(page, site, live_server):
    head = (
        "<script>setTimeout(() => { document.body.insertAdjacentHTML('beforeend', "
        f"'{LEAD_FORM.format(service=live_server.url)}'); }}, 300);</script>"
    )
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}", head=head)
    page.wait_for_selector("#lead input[name=msclkid]", state="attached")
    assert hidden(page)["msclkid"] == MSCLKID


def test_values_are_applied_again_at_submit(page, site, live_server):
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}", body=MARKED_FORM)
    page.wait_for_selector("#lead input[name=msclkid]", state="attached")
    page.evaluate("document.querySelector('#lead [name=msclkid]').value = 'tampered'")
    page.click("#lead button")
    page.wait_for_url("**/echo")
    posted = site.posts[-1]
    assert posted["msclkid"] == [MSCLKID]
    assert posted["email"] == ["a@example.com"]
    assert len(posted["submission_id"][0]) >= 16


def test_forms_elsewhere_are_left_alone(page, site, live_server):
    body = '<form id="lead" action="/search"><input name="q"></form>'
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}", body=body)
    page.wait_for_timeout(200)
    assert hidden(page) == {"q": ""}


def test_local_storage_restores_a_lost_cookie(page, context, site, live_server):
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}")
    expires = our_cookie(context)["expires"]
    context.clear_cookies()
    site.pages["/form"] = html(live_server, LEAD_FORM.format(service=live_server.url))
    page.goto(f"{site.url}/form")
    page.wait_for_selector("#lead input[name=msclkid]", state="attached")
    assert hidden(page)["msclkid"] == MSCLKID
    assert abs(our_cookie(context)["expires"] - expires) < 1.5


def test_last_click_per_platform_wins_and_first_touch_is_kept(page, site, live_server):
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}&gclid={GCLID}&utm_source=bing")
    page.goto(f"{site.url}/landing?msclkid={MSCLKID_2}")
    page.wait_for_function("window.closeloop")
    got = values(page)
    assert got["msclkid"] == MSCLKID_2
    assert got["gclid"] == GCLID
    assert got["utm_source"] == "bing"
    assert got["landing_url"].endswith(f"?msclkid={MSCLKID_2}")
    first = got["first_touch"]
    assert first["v"] == {"msclkid": MSCLKID, "gclid": GCLID, "utm_source": "bing"}
    assert first["l"].endswith(f"?msclkid={MSCLKID}&gclid={GCLID}&utm_source=bing")


def test_clicks_older_than_90_days_are_forgotten(page, site, live_server):
    open_landing(page, site, live_server, "")
    old = int(time.time() * 1000) - 91 * DAY * 1000
    page.evaluate(
        "([t, msclkid]) => { document.cookie = '_closeloop=; max-age=0; path=/';"
        "const state = {c: {microsoft: {t, v: {msclkid}}}};"
        "localStorage.setItem('_closeloop', JSON.stringify(state)); }",
        [old, MSCLKID],
    )
    page.reload()
    page.wait_for_function("window.closeloop")
    assert "msclkid" not in values(page)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("msclkid", MSCLKID, {"msclkid": MSCLKID}),
        ("_uetmsclkid", "_uet" + MSCLKID, {"msclkid": MSCLKID}),
        ("_gcl_aw", "GCL.{now}." + GCLID, {"gclid": GCLID}),
        ("_uetmsclkid", "_uetnot-valid", {}),
    ],
)
def test_ids_stored_by_other_snippets_are_read(
    page, context, site, live_server, name, value, expected
):
    value = value.format(now=int(time.time()) - 3600)
    context.add_cookies([{"name": name, "value": value, "url": site.url}])
    open_landing(page, site, live_server, "")
    got = values(page)
    assert {k: got.get(k) for k in ("msclkid", "gclid") if k in got} == expected


def test_single_page_app_route_change_is_captured(page, site, live_server):
    open_landing(page, site, live_server, "")
    page.evaluate(f"history.pushState(null, '', '/landing?gclid={GCLID}')")
    assert values(page)["gclid"] == GCLID
    page.evaluate(f"location.hash = '#/next?msclkid={MSCLKID}'")
    page.wait_for_function(f"window.closeloop.get().msclkid === '{MSCLKID}'")


def test_script_included_twice_runs_once(page, site, live_server):
    tag = f'<script src="{live_server.url}/capture.js"></script>'
    keep = "<script>window.first = window.closeloop;</script>"
    body = tag + keep + LEAD_FORM.format(service=live_server.url) + tag
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}", body=body)
    assert page.evaluate("window.closeloop === window.first")
    page.wait_for_selector("#lead input[name=msclkid]", state="attached")
    page.wait_for_timeout(200)
    names = page.evaluate("[...document.querySelectorAll('#lead input')].map(e => e.name)")
    assert names.count("msclkid") == 1
    assert names.count("submission_id") == 1


@pytest.mark.parametrize("placement", ["head-async", "body-end", "head-sync"])
def test_works_with_async_sync_and_at_the_end_of_body(page, site, live_server, placement):
    tag = '<script src="%s/capture.js"%s></script>'
    form = LEAD_FORM.format(service=live_server.url)
    pages = {
        "head-async": f"<head>{tag % (live_server.url, ' async')}</head><body>{form}</body>",
        "body-end": f"<body>{form}{tag % (live_server.url, '')}</body>",
        "head-sync": f"<head>{tag % (live_server.url, '')}</head><body>{form}</body>",
    }
    site.pages["/p"] = "<!doctype html><html>" + pages[placement] + "</html>"
    page.goto(f"{site.url}/p?gclid={GCLID}")
    page.wait_for_selector("#lead input[name=gclid]", state="attached")
    assert hidden(page)["gclid"] == GCLID


def wait_for_clicks(app, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            clicks = db.session.execute(db.select(Click).order_by(Click.param)).scalars().all()
            if len(clicks) >= count or time.monotonic() > deadline:
                return clicks
        time.sleep(0.05)


def test_new_click_is_registered_once_with_the_server_time(page, app, site, live_server):
    before = time.time()
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}&gclid={GCLID}")
    clicks = wait_for_clicks(app, 2)
    assert [(c.param, c.click_id, c.platform) for c in clicks] == [
        ("gclid", GCLID, "google"),
        ("msclkid", MSCLKID, "microsoft"),
    ]
    assert all(before - 1 <= c.first_seen.timestamp() <= time.time() + 1 for c in clicks)
    assert clicks[0].landing_url.endswith(f"/landing?msclkid={MSCLKID}&gclid={GCLID}")
    page.reload()
    page.wait_for_function("window.closeloop")
    page.wait_for_timeout(300)
    assert len(wait_for_clicks(app, 3, timeout=0.3)) == 2


def test_consent_required_keeps_the_click_in_memory_only(page, context, app, site, live_server):
    open_landing(
        page,
        site,
        live_server,
        f"?msclkid={MSCLKID}",
        attrs='data-consent="required"',
        body=LEAD_FORM.format(service=live_server.url),
    )
    page.wait_for_selector("#lead input[name=msclkid]", state="attached")
    assert hidden(page)["msclkid"] == MSCLKID
    page.wait_for_timeout(300)
    assert our_cookie(context) is None
    assert page.evaluate("localStorage.getItem('_closeloop')") is None
    assert wait_for_clicks(app, 1, timeout=0.3) == []

    page.evaluate("window.closeloop.consent(true)")
    assert our_cookie(context) is not None
    assert MSCLKID in page.evaluate("localStorage.getItem('_closeloop')")
    assert [c.click_id for c in wait_for_clicks(app, 1)] == [MSCLKID]

    page.evaluate("window.closeloop.consent(false)")
    assert our_cookie(context) is None
    assert page.evaluate("localStorage.getItem('_closeloop')") is None


def test_fill_api_fills_a_form_in_a_shadow_root(page, site, live_server):
    open_landing(page, site, live_server, f"?msclkid={MSCLKID}")
    page.evaluate(
        "() => { const host = document.body.appendChild(document.createElement('div'));"
        "host.attachShadow({mode: 'open'}).innerHTML = "
        "'<form data-closeloop><input name=email></form>';"
        "window.closeloop.fill(host.shadowRoot); }"
    )
    names = page.evaluate(
        "[...document.querySelector('div').shadowRoot.querySelector('form').elements]"
        ".map(e => e.name + '=' + e.value)"
    )
    assert f"msclkid={MSCLKID}" in names


def test_blocked_storage_does_not_break_the_page(page, site, live_server):
    head = (
        "<script>Object.defineProperty(window, 'localStorage', "
        "{get() { throw new DOMException('blocked', 'SecurityError'); }});</script>"
    )
    site.pages["/landing"] = (
        f'<!doctype html><html><head>{head}<script src="{live_server.url}/capture.js">'
        f"</script></head><body>{LEAD_FORM.format(service=live_server.url)}</body></html>"
    )
    page.goto(f"{site.url}/landing?msclkid={MSCLKID}")
    page.wait_for_selector("#lead input[name=msclkid]", state="attached")
    assert hidden(page)["msclkid"] == MSCLKID


def test_demo_landing_then_form_shows_the_ids(page, live_server):
    page.goto(f"{live_server.url}/demo/")
    page.click("#try-link")
    page.click("#form-link")
    page.wait_for_function("document.querySelector('[name=msclkid]').value")
    assert page.input_value("[name=msclkid]") == "f894f652ea334e739002f7167ab8f8e3"
    assert page.input_value("[name=gclid]") == "Cj0KCQjw-demo_gclid"
    assert page.input_value("[name=landing_url]", strict=False).endswith(
        "/demo/?msclkid=f894f652ea334e739002f7167ab8f8e3&gclid=Cj0KCQjw-demo_gclid"
    )
