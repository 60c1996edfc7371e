"""The Space's own Gradio UI (model_space/app.py) in a real browser: an example photo runs
through the real model and its label shows up in the tables."""

from __future__ import annotations

from playwright.sync_api import Page, expect

DETECTION_TIMEOUT_MS = 60_000


def test_clicking_an_example_shows_its_objects(browser_page: Page, space_url, screenshot_dir):
    page = browser_page
    page.goto(space_url)
    page.locator("button.gallery-item:has(img[src$='chelsea.jpg'])").click()

    objects = page.get_by_role("grid", name="Objects found")
    expect(objects.get_by_role("gridcell", name="cat", exact=True)).to_be_visible(
        timeout=DETECTION_TIMEOUT_MS
    )
    counts = page.get_by_role("grid", name="Count per label")
    expect(counts.get_by_role("row", name="cat 1")).to_be_visible()
    # The annotated image arrived too.
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    page.screenshot(path=screenshot_dir / "space-chelsea.png", full_page=True)
