"""The report opened in headless Chromium: every plot renders, and a screenshot is kept."""

from __future__ import annotations

from tests.browser import artifact_path, chromium_page


def test_report_plots_render_in_chromium(trained_run):
    html = trained_run.run_dir / "report.html"
    with chromium_page(width=1200, height=900) as page:
        page.goto(html.as_uri())
        sections = page.eval_on_selector_all("section h2", "els => els.map(e => e.textContent)")
        assert sections[:3] == ["Headline", "Forgetting check", "Per-query view"]
        sizes = page.eval_on_selector_all(
            "figure svg", "els => els.map(e => { const r = e.getBoundingClientRect(); "
                          "return [r.width, r.height, e.querySelectorAll('path').length]; })")
        assert len(sizes) >= 4  # merge curve, delta histogram, training curves, score distributions
        for width, height, paths in sizes:
            assert width > 100 and height > 100 and paths > 5
        assert page.locator("table").first.inner_text().count("ndcg@10") == 1
        shot = artifact_path("report.png")
        page.screenshot(path=str(shot), full_page=True)
        assert not page.console_errors
    assert shot.stat().st_size > 20_000
