"""Local sandboxes of the SaaS systems ledgerbridge talks to, with fault injection.

``erp`` speaks the QuickBooks Online Accounting API v3, ``psa`` the Kantata OX API v1. Start one
with :class:`SandboxServer` (tests, demo) or the ``sandbox`` CLI.
"""

from __future__ import annotations

from ledgerbridge.sandboxes._erp_state import ErpState
from ledgerbridge.sandboxes._erp_webhooks import (
    ChangeNotice,
    build_payload,
    build_signed_payload,
    sign,
    verify,
)
from ledgerbridge.sandboxes._faults import FaultInjector, FaultPlan
from ledgerbridge.sandboxes._psa_rules import PsaError
from ledgerbridge.sandboxes._psa_state import PsaState
from ledgerbridge.sandboxes._qbo_common import QboFault
from ledgerbridge.sandboxes._server import SandboxServer
from ledgerbridge.sandboxes.erp import ErpConfig
from ledgerbridge.sandboxes.psa import PsaConfig

__all__ = [
    "ChangeNotice",
    "ErpConfig",
    "ErpState",
    "FaultInjector",
    "FaultPlan",
    "PsaConfig",
    "PsaError",
    "PsaState",
    "QboFault",
    "SandboxServer",
    "build_payload",
    "build_signed_payload",
    "sign",
    "start_erp",
    "start_psa",
    "verify",
]


def start_erp(
    config: ErpConfig | None = None, *, faults: FaultPlan | None = None, port: int = 0
) -> SandboxServer:
    """Start an ERP sandbox on loopback and return its running server."""
    from ledgerbridge.sandboxes import erp

    app = erp.create_app(config, faults=faults)
    return SandboxServer(app, state=app[erp.STATE_KEY], port=port).start()


def start_psa(
    config: PsaConfig | None = None, *, faults: FaultPlan | None = None, port: int = 0
) -> SandboxServer:
    """Start a PSA sandbox on loopback and return its running server."""
    from ledgerbridge.sandboxes import psa

    app = psa.create_app(config, faults=faults)
    return SandboxServer(app, state=app[psa.STATE_KEY], port=port).start()
