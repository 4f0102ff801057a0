"""The search page in real headless Chromium (Debian's, driven by Playwright).

Screenshots are kept in tests/artifacts/serve-page.png and serve-page-compare.png.
"""

from __future__ import annotations

from tests.browser import artifact_path, chromium_page, require_chromium


def test_page_searches_and_compares_two_models(search_server):
    require_chromium()
    base, _ = search_server
    with chromium_page() as page:
        page.goto(base + "/")
        page.wait_for_selector("#status.ready")
        page.fill("#query", "file disk memory")
        page.select_option("#k", "5")
        page.press("#query", "Enter")
        page.wait_for_selector(".column .result")
        columns = page.locator(".column")
        assert columns.count() == 1 and columns.first.get_attribute("data-model") == "base"
        results = page.locator(".column .result")
        assert results.count() == 5
        scores = [float(s) for s in page.locator(".result .score").all_inner_texts()]
        assert scores == sorted(scores, reverse=True)
        marks = [m.lower() for m in page.locator(".result mark").all_inner_texts()]
        assert marks and set(marks) <= {"file", "disk", "memory"}
        shot = artifact_path("serve-page.png")
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")

        page.check("#compare")
        page.press("#query", "Enter")
        page.wait_for_function("document.querySelectorAll('.column').length === 2")
        names = [c.get_attribute("data-model") for c in page.locator(".column").all()]
        assert names == ["base", "tuned"]
        assert page.locator(".column").nth(1).locator(".result").count() == 5
        shot = artifact_path("serve-page-compare.png")
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        assert shot.stat().st_size > 10_000
        assert page.console_errors == []
