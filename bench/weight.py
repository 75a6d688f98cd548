"""Page weight in real Chromium: what a phone downloads on the first visit and again on a repeat.

    .venv/bin/python bench/weight.py [--scale 1] [--guide-all]

The site runs as in production (gunicorn, DEBUG off, collected and compressed static files,
PostgreSQL database hcc_bench_pages_<scale>x); Debian's Chromium (Playwright) opens each page
in a fresh phone-sized context (signed in with the reader's session cookie where needed), waits
for the service worker to install, then visits the same page again. Every response is counted,
the service worker's own fetches too, with the bytes that came over the network (headers and
encoded body) and whether they came from a cache.

Budgets (issue 13): the HTML with its render-blocking CSS within 14 KB compressed on the first
visit, JavaScript within 10 KB, and nothing downloaded again on a repeat visit (a 304 or a
cache hit is fine; a 200 with a body is a re-download).
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

HTML_CSS_BUDGET = 14 * 1024
JS_BUDGET = 10 * 1024
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
MODULES = [
    "about-your-treatment",
    "dos-and-donts",
    "dressing-care",
    "for-caregivers",
    "household-safety",
    "medicines-and-pregnancy",
    "side-effects",
    "treatment-schedule",
    "when-to-call",
]
LANGUAGES = ["en", "es", "fr", "de", "it", "pt-br", "zh-hans", "ar"]


class Recorder:
    """Every request of a browser context, with its transfer size and where it came from."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.rows: list[dict[str, Any]] = []
        # Chromium reports no body size for the service worker's own script: measured apart.
        self.known_sizes = sizes

    def on_finished(self, request: Any) -> None:
        response = request.response()
        if response is None:
            return
        sizes = request.sizes()
        if sizes["responseBodySize"] == 0 and request.url in self.known_sizes:
            sizes["responseBodySize"] = self.known_sizes[request.url]
        self.rows.append(
            {
                "url": request.url,
                "type": request.resource_type,
                "status": response.status,
                "by_service_worker": request.service_worker is not None,
                "from_service_worker": response.from_service_worker,
                "body": sizes["responseBodySize"],
                "headers": sizes["responseHeadersSize"],
                "encoding": response.headers.get("content-encoding", ""),
            }
        )

    def take(self) -> list[dict[str, Any]]:
        rows, self.rows = self.rows, []
        return rows


def over_network(row: dict[str, Any]) -> bool:
    """Bytes that crossed the network: not answered by the service worker or a cache."""
    return not row["from_service_worker"] and row["body"] + row["headers"] > 0


def summarize(rows: list[dict[str, Any]], page_url: str, blocking_css: set[str]) -> dict[str, Any]:
    net = [r for r in rows if over_network(r)]
    html = [r for r in net if r["url"] == page_url and not r["by_service_worker"]]
    # The page's HTML when the service worker fetched it for the page (network first).
    html += [r for r in net if r["url"] == page_url and r["by_service_worker"]]
    css = [r for r in net if r["url"] in blocking_css]
    js = [r for r in net if r["type"] == "script" or r["url"].endswith((".js", "/sw.js"))]
    return {
        "requests": len(rows),
        "network_requests": len(net),
        "bytes": sum(r["body"] + r["headers"] for r in net),
        "html_body": sum(r["body"] for r in html),
        "html_encoding": html[0]["encoding"] if html else "",
        "css_body": sum(r["body"] for r in css),
        "js_body": sum(r["body"] for r in js),
        "redownloaded": [
            {"url": r["url"], "status": r["status"], "body": r["body"]}
            for r in net
            if r["status"] == 200 and r["body"] > 0
        ],
        "service_worker_requests": sum(1 for r in rows if r["by_service_worker"]),
    }


def measure(browser: Any, url: str, cookie: str | None, known_sizes: dict[str, int]) -> dict[str, Any]:
    context = browser.new_context(**PHONE)
    context.set_default_timeout(20_000)
    if cookie:  # "name=value; name=value", as a browser sends them
        pairs = [part.split("=", 1) for part in cookie.split("; ")]
        context.add_cookies([{"name": name, "value": value, "url": url} for name, value in pairs])
    recorder = Recorder(known_sizes)
    context.on("requestfinished", recorder.on_finished)
    page = context.new_page()
    page.goto(url, wait_until="load")
    blocking_css = set(
        page.eval_on_selector_all(
            "link[rel=stylesheet]",
            "links => links.filter(l => !l.media || l.media === 'all' || l.media === 'screen').map(l => l.href)",
        )
    )
    # Let the service worker install and precache what it wants: that is part of the first visit.
    page.evaluate(
        "() => 'serviceWorker' in navigator ? Promise.race([navigator.serviceWorker.ready,"
        " new Promise(r => setTimeout(r, 5000))]).then(() => true) : true"
    )
    page.wait_for_timeout(1000)
    first = summarize(recorder.take(), url, blocking_css)
    # A repeat visit: the reader comes back to the page (a navigation, not a forced reload).
    page.goto("about:blank")
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)
    repeat = summarize(recorder.take(), url, blocking_css)
    context.close()
    return {"first": first, "repeat": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--guide-all", action="store_true", help="every module in every language too")
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    args = parser.parse_args()
    # Playwright reports the service worker's own fetches only with this switch.
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    from playwright.sync_api import sync_playwright

    common.require(common.CHROMIUM, "apt-get install chromium")
    database = f"hcc_bench_pages_{args.scale}x"
    machine_before = common.machine()
    info = common.bench_python(
        "data.py", "pages", "--db", database, "--scale", str(args.scale), env=common.env_for(None)
    )
    env = common.env_for(database)
    common.prepare_site(env)
    pages = common.site_pages(info)
    if args.guide_all:
        pages += [
            {
                "name": f"guide-{slug}-{lang}",
                "path": f"/{lang}/guide/{slug}/",
                "who": "anonymous",
                "cookie": None,
            }
            for lang in LANGUAGES
            for slug in MODULES
        ]
        pages += [
            {"name": f"guide-index-{lang}", "path": f"/{lang}/guide/", "who": "anonymous", "cookie": None}
            for lang in LANGUAGES
        ]
    base = f"http://127.0.0.1:{common.WEB_PORT}"
    server = common.start_gunicorn(env)
    results = []
    try:
        # The service worker as Chromium gets it (Chromium's own Accept-Encoding).
        _status, sw_body, _headers = common.fetch(base + "/sw.js", accept_encoding="gzip, deflate, br, zstd")
        known_sizes = {base + "/sw.js": len(sw_body)}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=common.CHROMIUM, args=common.CHROMIUM_ARGS)
            for page in pages:
                if page["path"].endswith("/api/v1/reminders/"):
                    continue  # JSON for the app, not a page; its bytes are in bench/pages.py
                row = {**page, **measure(browser, base + page["path"], page["cookie"], known_sizes)}
                row.pop("cookie")
                first, repeat = row["first"], row["repeat"]
                row["html_css"] = first["html_body"] + first["css_body"]
                row["ok"] = {
                    "html_css": row["html_css"] <= HTML_CSS_BUDGET,
                    "js": first["js_body"] <= JS_BUDGET,
                    "repeat": not repeat["redownloaded"],
                }
                results.append(row)
                print(
                    f"{page['name']:<24} html {first['html_body']:>6} ({first['html_encoding'] or 'identity'}) "
                    f"+ css {first['css_body']:>5} js {first['js_body']:>5}  first {first['network_requests']:>2} req "
                    f"{first['bytes']:>7} B  repeat {repeat['network_requests']:>2} req {repeat['bytes']:>6} B "
                    f"re-downloaded {len(repeat['redownloaded'])}",
                    file=sys.stderr,
                )
            browser.close()
    finally:
        common.stop(server)

    print(
        "\n| page | reader | HTML (encoding) | + blocking CSS | HTML+CSS ≤ 14 KB | JS ≤ 10 KB | first visit: requests, bytes |"
        " repeat: requests, bytes | re-downloaded on repeat |"
    )
    print("|---|---|---:|---:|---|---|---:|---:|---|")
    mark = {True: "yes", False: "**no**"}
    for row in results:
        first, repeat = row["first"], row["repeat"]
        again = ", ".join(
            f"{Path(r['url']).name or r['url']} ({r['body']} B)" for r in repeat["redownloaded"]
        )
        print(
            f"| {row['name']} | {row['who']} | {first['html_body']:,} ({first['html_encoding'] or 'none'}) | "
            f"{first['css_body']:,} | {mark[row['ok']['html_css']]} ({row['html_css']:,}) | "
            f"{mark[row['ok']['js']]} ({first['js_body']:,}) | {first['network_requests']}, {first['bytes']:,} | "
            f"{repeat['network_requests']}, {repeat['bytes']:,} | {again or 'nothing'} |"
        )
    common.save(
        "weight",
        {
            "command": " ".join(sys.argv),
            "args": vars(args),
            "machine_before": machine_before,
            "machine_after": common.machine(),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
