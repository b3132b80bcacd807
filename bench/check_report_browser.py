"""Open a run's report.html in headless Chromium (Debian's chromium package), save a
screenshot and check that the headline and the charts are there. Prints what it found.

Also: no request the page makes leaves file: and data:, and nothing is written to its console.

Usage: python bench/check_report_browser.py [reports/latest/report.html] [--png out.png]
       python bench/check_report_browser.py reports/latest/00_funnel_audit.html --audit
Needs /usr/bin/chromium (apt-get install chromium). Exit code 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
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


def page_traffic(base: list[str], url: str, folder: str) -> tuple[list[str], list[str]]:
    """What a page asks of the network and writes to its console, in headless Chromium: the
    URLs the page itself requested (initiator set; the browser's own background requests
    have none) that are neither file: nor data:, and its console lines."""
    netlog = Path(folder) / "netlog.json"
    run = subprocess.run(
        [*base, "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    document, _ = json.JSONDecoder().raw_decode(netlog.read_text())  # may lack its closing
    types = {v: k for k, v in document["constants"]["logEventTypes"].items()}
    outside = sorted(
        {
            e["params"]["url"]
            for e in document["events"]
            if types.get(e["type"]) == "URL_REQUEST_START_JOB"
            and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
            and not e["params"]["url"].startswith(("file:", "data:"))
        }
    )
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return outside, console


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report", nargs="?", type=Path, default=Path("reports/latest/report.html"))
    parser.add_argument("--png", type=Path, default=Path("report_screenshot.png"))
    parser.add_argument("--height", type=int, default=4000, help="Screenshot height in pixels.")
    parser.add_argument(
        "--audit",
        action="store_true",
        help="The page is the funnel audit (00_funnel_audit.html or 00_export_audit.html).",
    )
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
        outside, console = page_traffic(base, url, profile)
    headline = re.search(r'id="headline">(.*?)</div>', dom, re.S)
    checks = {
        "headline with a recommended threshold": bool(
            headline and "Recommended MQL threshold" in headline.group(1)
        ),
        "interactive trade-off chart drawn (plotly svg)": 'class="main-svg"' in dom,
        "static charts embedded": len(re.findall(r'<img alt="[^"]+" src="data:image/png', dom))
        >= 4,
        "no external scripts (opens offline)": not re.search(r'<script[^>]+src="https?:', dom),
        f"no request outside file: and data: ({len(outside)})": not outside,
        f"no console messages ({len(console)})": not console,
    }
    if args.audit:
        export = "Not available from a flat export" in dom
        checks = {
            "audit headline": ("leads</strong> in the export" if export else "Data window") in dom,
            (
                "money sections listed as skipped, with why"
                if export
                else "money sections (pipeline velocity, cost per stage, target accounts, recycled)"
            ): (
                "Money sections" in dom and "skipped" in dom
                if export
                else all(
                    words in dom
                    for words in (
                        "Pipeline velocity",
                        "Cost per stage",
                        "Target accounts",
                        "recycled",
                    )
                )
            ),
            "static charts embedded": len(re.findall(r'<img[^>]+src="data:image/png', dom))
            >= (1 if export else 4),
            "no float counts (12,345.0 leads)": not re.search(r"\d,\d{3}\.0 (leads|rows)", dom),
            "no snake_case table headers": not re.search(
                r"<th[^>]*>\s*[a-z]+_[a-z_]+\s*</th>", dom
            ),
            "SLA verdicts in words (no True/False cells)": not re.search(
                r"<td[^>]*>\s*(True|False)\s*</td>", dom
            ),
            **{k: v for k, v in checks.items() if k.startswith("no ")},
        }
    for line in [*outside, *console][:10]:
        print(f"     {line}")
    rules = re.search(r'id="rules-you-can-paste">(.*?)<h2>', dom, re.S)
    if (args.report.parent / "points_rules.json").is_file() and not args.audit:
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
