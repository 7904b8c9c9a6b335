"""The HTML report opened in headless Chromium: every chart renders, sized, with no errors.

Chromium is Debian's ``chromium`` package at /usr/bin/chromium (``scripts/ensure-chromium.sh``
installs it). Without it the test is skipped with the reason, unless ``CI`` is set, in
which case it fails. The page is measured by a small script added to a copy of the report:
it records script errors from the start and, once the page has loaded, writes each chart's
rendered size and number of marks into the DOM, which ``--dump-dom`` prints.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from e2e_cli import Cli

CHARTS = ("timeline", "away", "participation", "funnel", "mentors", "bridges")
BROWSER_TIMEOUT = 120
WIDTH, HEIGHT = 1280, 3200

CATCH_ERRORS = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
</script>"""

MEASURE = """<script>
window.addEventListener('load', function () {
  var out = {errors: window.__errors, ready: document.documentElement.dataset.ready || null,
             charts: {}};
  document.querySelectorAll('figure.chart').forEach(function (figure) {
    var svg = figure.querySelector('svg');
    var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    var marks = svg ? svg.querySelectorAll('rect.bar, path.area') : [];
    var drawn = 0;
    for (var i = 0; i < marks.length; i++) {
      var size = marks[i].getBoundingClientRect();
      if (size.width > 0 && size.height > 0) { drawn++; }
    }
    out.charts[figure.dataset.chart] = {width: box.width, height: box.height,
                                        marks: marks.length, drawn: drawn};
  });
  var pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    """The Chromium to use, or skip (fail under CI) when there is none."""
    found = shutil.which("chromium", path="/usr/bin") or shutil.which("chromium")
    if found:
        return found
    reason = (
        "headless Chromium is missing: run scripts/ensure-chromium.sh (apt-get install chromium)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {reason}")
    pytest.skip(reason)


def browse(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with the flags that keep it quiet and offline."""
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the demo's year, written by ``rotation report --html``."""
    folder = tmp_path_factory.mktemp("report")
    cli = Cli(f"sqlite:///{folder / 'demo.db'}", folder)
    cli.ok("demo", "--quiet", "--no-report")
    target = folder / "report.html"
    cli.ok("report", "--html", str(target))
    return target


def measured(browser: str, page: Path, tmp_path: Path) -> dict[str, Any]:
    text = page.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(
        text.replace("<head>", "<head>" + CATCH_ERRORS, 1).replace(
            "</body>", MEASURE + "</body>", 1
        ),
        encoding="utf-8",
    )
    done = browse(
        browser, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()
    )
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, (
        f"the page did not report its measures\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def test_every_chart_of_the_report_renders_with_a_size_and_its_marks_and_no_script_error(
    report: Path, tmp_path: Path
) -> None:
    browser = chromium()

    measures = measured(browser, report, tmp_path)

    assert measures["errors"] == []
    assert measures["ready"] == "yes", "the report's own script ran to its end"
    assert sorted(measures["charts"]) == sorted(CHARTS)
    for name, chart in measures["charts"].items():
        assert chart["width"] > 600, f"{name} is {chart['width']} px wide"
        assert chart["height"] > 40, f"{name} is {chart['height']} px high"
        assert chart["marks"] > 0, f"{name} has no marks"
        assert chart["drawn"] == chart["marks"] or name == "funnel", (
            f"{name}: {chart['drawn']} of {chart['marks']} marks have a size"
        )
    assert measures["charts"]["timeline"]["marks"] >= 50  # one bar per rotation


def test_a_script_error_on_the_page_would_be_caught(report: Path, tmp_path: Path) -> None:
    browser = chromium()
    broken = tmp_path / "broken.html"
    broken.write_text(
        report.read_text(encoding="utf-8").replace(
            "</body>", "<script>undefinedFunction();</script></body>", 1
        ),
        encoding="utf-8",
    )

    measures = measured(browser, broken, tmp_path)

    assert any("undefinedFunction" in error for error in measures["errors"])


def test_a_screenshot_of_the_report_is_taken_at_the_window_size(
    report: Path, tmp_path: Path
) -> None:
    browser = chromium()
    shot = tmp_path / "report.png"

    done = browse(browser, tmp_path / "profile", f"--screenshot={shot}", report.as_uri())

    assert shot.exists(), done.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 50_000, "a blank page compresses to almost nothing"
    target = os.environ.get("ROTATION_REPORT_SCREENSHOT")
    if target:  # how docs/report.png is made: ROTATION_REPORT_SCREENSHOT=docs/report.png
        shutil.copyfile(shot, target)
