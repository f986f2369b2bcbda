"""axe-core (from node_modules) run in a test's page, with the page's content security policy on.

The script goes in through `page.evaluate`, which the browser runs for the test driver outside
the page's policy, so the page keeps the very policy a participant's browser enforces."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

AXE_SCRIPT = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA; and axe's best practices, which hold what WCAG
# leaves to judgement and the pages mean to keep: one main landmark, headings in order.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TAGS = [*WCAG_TAGS, "best-practice"]

RUN = """async (tags) => {
  const found = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return found.violations.map((rule) => ({
    id: rule.id,
    impact: rule.impact,
    help: rule.help,
    nodes: rule.nodes.map((node) => ({
      target: node.target.map(String).join(" "),
      summary: node.failureSummary || "",
    })),
  }));
}"""


@functools.cache
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        pytest.fail("axe-core is not installed: run `npm ci` (it is in package-lock.json)")
    return AXE_SCRIPT.read_text(encoding="utf-8")


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA violations and best-practice findings on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        source = await asyncio.to_thread(axe_source)
        await page.evaluate(source)
    found: list[dict[str, Any]] = await page.evaluate(RUN, TAGS)
    return found


def describe(found: list[dict[str, Any]]) -> str:
    """One readable block per rule: id, impact, what it asks, and each element with its summary."""
    lines = []
    for rule in found:
        lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']}")
        for node in rule["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


class Audit:
    """axe-core run on page after page, state after state; fails at the end listing them all."""

    def __init__(self) -> None:
        self.reports: list[str] = []
        self.checked: list[str] = []

    async def check(self, page: Page, where: str) -> None:
        found = await violations(page)
        self.checked.append(where)
        if found:
            self.reports.append(f"-- {where} ({page.url}):\n{describe(found)}")

    def assert_clean(self) -> None:
        if self.reports:
            pytest.fail("axe-core found violations:\n" + "\n".join(self.reports), pytrace=False)
