"""Open a run's report.html in headless Chromium (Debian's chromium package), save a
screenshot and check that the headline and the charts are there. Prints what it found.

Usage: python bench/check_report_browser.py [reports/latest/report.html] [--png out.png]
Needs /usr/bin/chromium (apt-get install chromium). Exit code 1 if a check fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=8000",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report", nargs="?", type=Path, default=Path("reports/latest/report.html"))
    parser.add_argument("--png", type=Path, default=Path("report_screenshot.png"))
    parser.add_argument("--height", type=int, default=4000, help="Screenshot height in pixels.")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found: apt-get install chromium")
        return 1
    url = args.report.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        base = [browser, *FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run(
            [*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
        ).stdout
        subprocess.run(
            [*base, f"--window-size=1280,{args.height}", f"--screenshot={args.png}", url],
            capture_output=True,
            timeout=120,
            check=True,
        )
    headline = re.search(r'id="headline">(.*?)</div>', dom, re.S)
    checks = {
        "headline with a recommended threshold": bool(
            headline and "Recommended MQL threshold" in headline.group(1)
        ),
        "interactive trade-off chart drawn (plotly svg)": 'class="main-svg"' in dom,
        "static charts embedded": len(re.findall(r'<img alt="[^"]+" src="data:image/png', dom))
        >= 4,
        "no external scripts (opens offline)": not re.search(r'<script[^>]+src="https?:', dom),
    }
    rules = re.search(r'id="rules-you-can-paste">(.*?)<h2>', dom, re.S)
    if (args.report.parent / "points_rules.json").is_file():
        section = rules.group(1) if rules else ""
        checks["'Rules you can paste' with its rules and MQL threshold in points"] = (
            "<table" in section and "MQL when fit + behaviour reaches" in section
        )
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(f"screenshot: {args.png} ({args.png.stat().st_size:,} bytes)")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
