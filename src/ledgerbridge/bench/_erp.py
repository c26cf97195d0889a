"""The ERP sandbox as a process: prints its URL, serves until its stdin closes.

Usage: ``python -m ledgerbridge.bench._erp TOKEN``.
"""

from __future__ import annotations

import sys

from ledgerbridge import sandboxes


def main(token: str) -> None:
    """Serve the ERP sandbox (no throttling) until stdin reaches its end."""
    server = sandboxes.start_erp(sandboxes.ErpConfig(tokens=(token,), throttle=False))
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1])
