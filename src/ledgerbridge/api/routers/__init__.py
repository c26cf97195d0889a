"""One router per resource of ``/api/v1``, plus health checks and webhook receivers."""

from __future__ import annotations
