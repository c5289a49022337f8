"""The recap's HTML as a phone and a laptop show it: headless Chromium (Debian's, driven by Playwright) opens
the email received from the SMTP server at 375 and 1280 pixels wide, saves screenshots (var/screenshots/,
not committed) and checks that no element reaches past the viewport's right edge."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import time_machine

from ledgerlink.cashflow.models import Customer
from ledgerlink.notices.schedule import run_recaps

from .world import at_local, bodies, issue, make_shop, push

pytestmark = pytest.mark.django_db
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LONDON = "Europe/London"
DAY = dt.date(2027, 6, 1)

# Every element whose box ends right of the viewport, with what it is, so a failure names the culprit.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    const what = el.tagName + ' ' + (el.textContent || '').slice(0, 40);
    if (box.width && box.right > width + 0.5) out.push(what);
  }
  if (document.documentElement.scrollWidth > width) out.push('page scrolls sideways');
  return out;
}"""


def _open(html: str, width: int, height: int, screenshot: Path) -> tuple[list[str], int, bool]:
    """Lay the HTML out in Chromium: (overflowing elements, invoice rows, first fix button visible).
    Playwright's sync API runs an event loop in this thread, so it starts only after the database work is
    done (Django refuses ORM calls inside a running loop)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_content(html)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            button = page.get_by_text("Fix this setting").first.is_visible()
            return page.evaluate(OVERFLOWING), page.locator(".invoice").count(), button
        finally:
            browser.close()


def _recap_html(smtp_outbox) -> str:
    with time_machine.travel(at_local(LONDON, DAY - dt.timedelta(days=1), 12), tick=False):
        shop = make_shop("Brightwater Renewable Energy Installations and Maintenance", "GB", LONDON)
        # A long unbroken customer name: the kind of text that pushes a layout sideways.
        Customer.objects.filter(pk=shop.customer.pk).update(name="Wolfeschlegelsteinhausenbergerdorff" * 2)
        for n in range(60):
            issue(shop, f"{12_000 + n}.00", shop.free)
        issue(shop, "99.00", shop.gst, line_type="fee")
        push(shop)
    assert run_recaps(at_local(LONDON, DAY, 8)) == 1
    (message,) = smtp_outbox
    return bodies(message)[1]


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 375, 812), ("laptop", 1280, 800)])
def test_the_recap_email_fits_a_phone_and_a_laptop(smtp_outbox, name, width, height):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    html = _recap_html(smtp_outbox)
    overflowing, rows, button = _open(html, width, height, SCREENSHOTS / f"recap-{name}.png")
    assert overflowing == []
    assert rows == 50 and button
