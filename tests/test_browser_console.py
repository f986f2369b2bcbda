"""The organiser in Chromium: signs in to the console, makes a forum with the agenda form (a
mistake shown beside its field and corrected on the page), opens its host screen, and a phone
joins it by the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser import LAPTOP, PHONE
from tests.conftest import serve_forums

pytestmark = pytest.mark.browser


async def test_an_organiser_makes_a_forum_with_the_form_and_a_phone_joins_it(
    browser: Browser, tmp_path: Path
) -> None:
    async with serve_forums([], tmp_path) as (server, url):
        assert server.organiser_key is not None
        errors: list[str] = []
        context = await browser.new_context(viewport=LAPTOP, locale="en-GB")
        organiser = await context.new_page()
        organiser.on("pageerror", lambda e: errors.append(f"console: {e}"))
        await organiser.goto(f"{url}/admin")
        await organiser.get_by_label("Organiser key").fill("not the key")
        await organiser.get_by_role("button", name="Sign in").click()
        await expect(organiser.locator(".error")).to_be_visible()
        await organiser.get_by_label("Organiser key").fill(server.organiser_key)
        await organiser.get_by_role("button", name="Sign in").click()
        await expect(organiser.locator("h1")).to_be_visible()

        await organiser.goto(f"{url}/admin/new/agenda")
        await organiser.locator("#f-forum-title").fill("Branch library forum")
        await organiser.locator("#f-forum-id").fill("branch-forum")
        await organiser.locator("#f-items-0-title").fill("Welcome")
        await organiser.get_by_role("button", name="+ Poll").click()
        await organiser.locator("#f-items-1-title").fill("Opening hours")
        await organiser.locator("#f-items-1-question").fill("Which opening hours suit you?")
        # The mistake: the poll's second option left empty.
        await organiser.locator("#f-items-1-options-0-label").fill("Evenings")
        await organiser.get_by_role("button", name="Make the forum").click()
        label = organiser.locator("#f-items-1-options-1-label")
        await expect(label).to_have_attribute("aria-invalid", "true")
        beside = organiser.locator("#f-items-1-options-1 .field-error")
        await expect(beside).to_contain_text("must not be empty")
        await expect(organiser.locator("#f-forum-title")).to_have_value("Branch library forum")
        await expect(organiser.locator("#f-items-1-options-0-label")).to_have_value("Evenings")
        assert "branch-forum" not in server.forums.runtimes

        await label.fill("Weekends")
        await organiser.get_by_role("button", name="Make the forum").click()
        await expect(organiser).to_have_url(f"{url}/admin/forums/branch-forum")
        code = server.forums.runtimes["branch-forum"].code
        await expect(organiser.get_by_text(code, exact=True).first).to_be_visible()

        host_link = server.forums.runtimes["branch-forum"].addresses.host
        host = await context.new_page()
        host.on("pageerror", lambda e: errors.append(f"host: {e}"))
        await host.goto(host_link.replace(host_link.split("/host/")[0], url))
        await expect(host.locator("#current-title")).to_have_text("Welcome")

        phone_context = await browser.new_context(viewport=PHONE, locale="en-GB")
        phone = await phone_context.new_page()
        phone.on("pageerror", lambda e: errors.append(f"phone: {e}"))
        await phone.goto(url)
        await phone.get_by_label("Forum code").fill(code.lower())
        await phone.get_by_role("button", name="Join").click()
        await expect(phone).to_have_url(f"{url}/j/{code}")
        await expect(phone.locator("#item-title")).to_have_text("Welcome")
        await expect(host.locator("#presence")).to_contain_text("1")
        await phone_context.close()
        await context.close()
        assert errors == []
