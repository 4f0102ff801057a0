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


def test_with_auth_the_page_asks_for_the_key_in_a_form_and_then_searches(tiny_model, store_a, monkeypatch):
    from tests.serve.conftest import running, serve_cfg, wait_ready

    require_chromium()
    monkeypatch.setenv("DENSEFIT_TEST_PAGE_KEY", "page-key-42")
    cfg = serve_cfg(tiny_model, store=store_a, model_name="base", api_key_env="DENSEFIT_TEST_PAGE_KEY")
    with running(cfg, ready=False) as (base, _), chromium_page() as page:
        wait_ready(base, headers={"Authorization": "Bearer page-key-42"})
        page.goto(base + "/")
        page.wait_for_selector("#key-form:not([hidden])")
        assert page.locator("#search-form").is_hidden()
        body = page.inner_text("body")
        assert "missing or wrong API key" not in body and "Bearer" not in body  # no raw 401 text
        page.fill("#api-key", "wrong")
        page.press("#api-key", "Enter")
        page.wait_for_selector("#key-note:has-text('not accepted')")
        page.fill("#api-key", "page-key-42")
        page.click("#key-form button")
        page.wait_for_selector("#status.ready")
        assert page.locator("#key-form").is_hidden()
        page.fill("#query", "file disk memory")
        page.press("#query", "Enter")
        page.wait_for_selector(".column .result")
        assert page.locator(".column .result").count() == 10
        assert page.console_errors == [] or all("401" in e for e in page.console_errors)
