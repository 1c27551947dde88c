#!/usr/bin/env python3
"""Container health check: every URL given must answer 2xx (redirects followed), else exit 1.

Standard library only, so it runs in both images (Pulse's and Superset's) without curl. Several URLs let one
check cover a service whose cheap health endpoint can be fine while its pages fail (Superset's `/health`
answers OK even when `/login/` is a 500).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 10.0


def check(url: str) -> str | None:
    """None if the URL answers 2xx, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - fixed local URLs
            status = int(response.status)
    except urllib.error.HTTPError as err:
        return f"{url}: HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return f"{url}: {err}"
    return None if 200 <= status < 300 else f"{url}: HTTP {status}"


def main(urls: list[str]) -> int:
    if not urls:
        print("usage: http_check.py URL [URL ...]", file=sys.stderr)
        return 2
    failures = [problem for problem in map(check, urls) if problem]
    for problem in failures:
        print(problem, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
