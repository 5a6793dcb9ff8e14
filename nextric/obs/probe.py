"""``python -m nextric.obs.probe``: a container health check without curl in the image.

GETs ``http://<host>:<port><path>`` (default the O-RAN SC liveness path on 127.0.0.1) and exits 0 on a 2xx
answer, 1 otherwise, printing why. Used by the ``HEALTHCHECK`` of every image under ``deploy/docker/``.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from nextric.obs.health import ALIVE_PATH


def probe(url: str, timeout_s: float) -> tuple[bool, str]:
    """(healthy, what was seen) for one GET of ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {exc}"
    return 200 <= status < 300, f"{url}: HTTP {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nextric.obs.probe", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default=ALIVE_PATH)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds")
    args = parser.parse_args(argv)
    path = args.path if args.path.startswith("/") else "/" + args.path
    ok, seen = probe(f"http://{args.host}:{args.port}{path}", args.timeout)
    print(seen, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
