"""How fast the 2-D page draws big networks: animation frames per second, frames of the run
drawn per second, and long tasks (over 50 ms, from a PerformanceObserver) while the net trains,
in headless Chromium against a real `netplay serve` on 127.0.0.1.

Nets: the default, 32 × 4 and the biggest the limits allow (8 layers of 64, relu, He init).
Each is played for `--seconds` after a warm-up; then Pause is pressed and the time until the
page shows it paused is measured. Prints one JSON object.

    python benchmarks/bench_page_drawing.py [--seconds 5] [--width 1440]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from bench_fairness import ROOT, served

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
NETS = {
    "default_4_2": "/?seed=1",
    "32x4": "/?seed=1&networkShape=32,32,32,32",
    "64x8_biggest": "/?seed=1&networkShape=64,64,64,64,64,64,64,64&activation=relu&init=he",
}
# Counts animation frames, frames of the run drawn (a new epoch on screen) and long tasks.
WATCH = """
window.bench = { raf: 0, long: [] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.bench.long.push(e.duration);
}).observe({ type: 'longtask', buffered: true });
(function tick() { window.bench.raf++; requestAnimationFrame(tick); })();
"""


def measure(page, base: str, link: str, seconds: float) -> dict:
    page.goto(base + link)
    deadline = time.monotonic() + 60
    while not page.evaluate("window.netplay && window.netplay.ready"):
        if time.monotonic() > deadline:
            raise TimeoutError(link)
        page.wait_for_timeout(50)
    page.click("#play")
    page.wait_for_timeout(1500)  # warm-up: the first frames, the JIT
    page.evaluate("window.bench.raf = 0; window.bench.long = [];"
                  "window.bench.t0 = performance.now(); window.bench.seq0 = netplay.frame.seq;")
    page.wait_for_timeout(int(seconds * 1000))
    got = page.evaluate("({ raf: bench.raf, long: bench.long, seq: netplay.frame.seq - bench.seq0,"
                        " ms: performance.now() - bench.t0 })")
    t_pause = page.evaluate("performance.now()")
    page.click("#play")
    while page.evaluate("netplay.runState") != "paused":
        page.wait_for_timeout(5)
    secs = got["ms"] / 1000
    return {
        "animation_fps": round(got["raf"] / secs, 1),
        "frames_drawn_per_s": round(got["seq"] / secs, 1),
        "long_tasks": len(got["long"]),
        "longest_task_ms": round(max(got["long"] or [0])),
        "pause_ms": round(page.evaluate("performance.now()") - t_pause),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--root", default=str(ROOT), help="the netplay tree to serve (compare commits)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out: dict = {"machine": f"{os.cpu_count()} CPUs", "width": args.width}
    with served(args.root) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, link in NETS.items():
            context = browser.new_context(viewport={"width": args.width, "height": 900})
            page = context.new_page()
            page.add_init_script(WATCH)
            out[name] = measure(page, base, link, args.seconds)
            context.close()
        browser.close()
    out["load_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
