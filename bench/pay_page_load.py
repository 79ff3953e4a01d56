"""Time a page under concurrent load and report latency percentiles.

Usage: python bench/pay_page_load.py URL [URL ...] [--requests 200] [--concurrency 1]
       [--server-log PATH]

Each URL gets ``--requests`` GETs (after 5 warm-up requests) from ``--concurrency`` threads,
in the same run, so pages can be compared on the same server. With ``--server-log`` (an Odoo
log at level info), the SQL query count per request is read from the request log lines.
"""

import argparse
import re
import statistics
import threading
import time
import urllib.request
from urllib.parse import urlsplit


def _get(url):
    start = time.perf_counter()
    with urllib.request.urlopen(url) as response:  # noqa: S310 - loopback benchmark
        response.read()
        status = response.status
    return time.perf_counter() - start, status


def percentile(values, pct):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def run(url, requests, concurrency):
    for _ in range(5):
        _get(url)
    timings, statuses, lock = [], [], threading.Lock()
    remaining = iter(range(requests))

    def worker():
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            elapsed, status = _get(url)
            with lock:
                timings.append(elapsed)
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    return timings, statuses, wall


def queries(log_path, path, since_line):
    pattern = re.compile(r'"GET ' + re.escape(path) + r'(?:\?\S*)? HTTP/1\.1" \d+ - (\d+) ')
    with open(log_path, encoding="utf-8", errors="replace") as log:
        lines = log.readlines()[since_line:]
    return [int(m.group(1)) for m in map(pattern.search, lines) if m]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--server-log")
    args = parser.parse_args()
    for url in args.urls:
        start_line = 0
        if args.server_log:
            with open(args.server_log, encoding="utf-8", errors="replace") as log:
                start_line = sum(1 for _ in log)
        timings, statuses, wall = run(url, args.requests, args.concurrency)
        ms = [t * 1000 for t in timings]
        line = (
            f"{urlsplit(url).path[:40]:40}  n={len(ms)} c={args.concurrency} "
            f"p50={percentile(ms, 50):.1f}ms p95={percentile(ms, 95):.1f}ms "
            f"p99={percentile(ms, 99):.1f}ms mean={statistics.mean(ms):.1f}ms "
            f"rps={len(ms) / wall:.1f} status={sorted(set(statuses))}"
        )
        if args.server_log:
            time.sleep(0.5)
            counts = queries(args.server_log, urlsplit(url).path, start_line)
            if counts:
                line += f" queries/request median={statistics.median(counts):.0f}"
        print(line)


if __name__ == "__main__":
    main()
