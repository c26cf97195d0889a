"""The pieces of a chaos run: one PSA/ERP sandbox pair, tenant and deployment per tenant."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ledgerbridge import demo, sample, sandboxes, store, tenancy

__all__ = ["FAULTS", "TenantRig", "new_keyring", "pay_invoices", "start_tenant"]

SHIPPED = Path(demo.__file__).parent / "blueprints" / "shipped" / "delivery-to-cash.yaml"
PSA_TOKEN = "chaos-psa-token"
ERP_TOKEN = "chaos-erp-token"
REALM_BASE = 9_130_000_000
#: the default fault plan of every sandbox: 10% 5xx, 429 bursts, 2% ambiguous writes, drops
FAULTS = sandboxes.FaultPlan(
    error_5xx=0.10,
    throttle_429=0.01,
    throttle_burst=3,
    retry_after_s=1,
    drop_connection=0.01,
    ambiguous=0.02,
    ambiguous_mode="drop",
)
_RETRY = {"max_attempts": 12, "base_delay": 0.05, "max_delay": 2.0}


@dataclass(kw_only=True)
class TenantRig:
    """One tenant of the chaos run: its sandboxes, ids and sample month."""

    index: int
    tenant_id: str
    realm: str
    psa: sandboxes.SandboxServer
    erp: sandboxes.SandboxServer
    dataset: sample.SampleDataset

    def stop(self) -> None:
        """Stop both sandboxes."""
        self.psa.stop()
        self.erp.stop()


def new_keyring() -> tuple[str, tenancy.Keyring]:
    """A fresh sealing key (to hand to worker processes) and its keyring."""
    key = secrets.token_urlsafe(32)
    return key, tenancy.Keyring([key])


def start_tenant(
    db: store.Database,
    keyring: tenancy.Keyring,
    *,
    index: int,
    dataset: sample.SampleDataset,
    plan: sandboxes.FaultPlan,
    shuffle_window: int,
) -> TenantRig:
    """Start the tenant's sandboxes with ``plan`` and set up its partner, connections and deployment."""
    realm = str(REALM_BASE + index)
    seeded = sandboxes.FaultPlan.from_dict({**plan.to_dict(), "seed": (plan.seed or 0) + index})
    psa = sandboxes.start_psa(
        sandboxes.PsaConfig(
            tokens=(PSA_TOKEN,), rate_limit=None, shuffle_window=shuffle_window, seed=index
        ),
        faults=seeded,
    )
    erp = sandboxes.start_erp(
        sandboxes.ErpConfig(tokens=(ERP_TOKEN,), throttle=False), faults=seeded
    )
    partner = tenancy.create_partner(db, name=f"Chaos Partner {index}")
    tenant = tenancy.create_tenant(db, partner_id=partner, name=f"Chaos Tenant {index}")
    psa_settings = {
        "base_url": f"{psa.url}/api/v1",
        "connection_id": "psa",
        "per_page": 200,
        "rate_limit_per_second": 0,
        "retry": _RETRY,
    }
    erp_settings = {
        "base_url": erp.url,
        "realm_id": realm,
        "connection_id": "erp",
        "rate_limit_per_second": 100_000,
        "per_minute": 10_000_000,
        "retry": _RETRY,
    }
    for cid, kind, settings, creds in (
        ("psa", "kantata", psa_settings, {"token": PSA_TOKEN}),
        ("erp", "quickbooks", erp_settings, {"access_token": ERP_TOKEN}),
    ):
        tenancy.add_connection(
            db,
            tenant_id=tenant,
            kind=kind,
            connection_id=cid,
            settings=settings,
            credentials=creds,
            keyring=keyring,
        )
    tenancy.deploy_blueprint(
        db, tenant_id=tenant, document=SHIPPED, bindings={"psa": "psa", "erp": "erp"}
    )
    return TenantRig(index=index, tenant_id=tenant, realm=realm, psa=psa, erp=erp, dataset=dataset)


def pay_invoices(rig: TenantRig) -> int:
    """The client's finance team pays in the ERP: most invoices in full, some in part."""
    state, paid, start = rig.erp.state, 0, 1
    while True:
        found = state.query(
            rig.realm, f"SELECT * FROM Invoice STARTPOSITION {start} MAXRESULTS 1000"
        ).get("Invoice", [])
        for invoice in found:
            share = int(str(invoice["Id"])[-2:] or 0) % 20
            balance = Decimal(str(invoice["Balance"]))
            if balance <= 0 or share >= 17:
                continue
            amount = balance if share < 14 else (balance / 2).quantize(Decimal("0.01"))
            line = {"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            body = {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": amount,
                "CurrencyRef": invoice.get("CurrencyRef"),
                "Line": [line],
            }
            state.create(rig.realm, "Payment", body)
            paid += 1
        if len(found) < 1000:
            return paid
        start += 1000
