"""What the demo shows: the finance lead's summary, and the console over the demo's data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledgerbridge import store

if TYPE_CHECKING:
    from ledgerbridge.demo import DemoOptions

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "render_summary", "serve_console"]


def render_summary(summary: dict[str, Any]) -> str:
    """The summary as a finance lead reads it."""
    lines = [
        f"Delivery to cash: {summary['months']} month(s) of Acme Consulting, "
        f"{summary['events']} events in {summary['elapsed_seconds']} s "
        f"({summary['events_per_second']} events/s)",
        "",
    ]
    lines.append(f"{'currency':8} {'approved':>16} {'posted':>16} {'invoiced':>16} {'paid':>16}")
    invoices = summary["invoices"].get("by_currency", {})
    for currency, totals in summary["money"].items():
        inv = invoices.get(currency, {})
        lines.append(
            f"{currency:8} {totals.get('approved', '0'):>16} {totals.get('posted', '0'):>16} "
            f"{inv.get('invoiced', '0'):>16} {inv.get('paid', '0'):>16}"
        )
    counts = summary["invoices"].get("counts", {})
    lines += [
        "",
        f"invoices drafted {counts.get('drafted', 0)}: paid {counts.get('paid', 0)}, "
        f"partly paid {counts.get('partially_paid', 0)}, open {counts.get('open', 0)}",
    ]
    latency = summary["approval_to_posting_seconds"]
    lines.append(
        f"approval to ERP posting: median {latency['median']} s, p95 {latency['p95']} s "
        f"over {latency['count']} postings"
    )
    exceptions = summary["exceptions"]
    lines += ["", f"exception queue: {exceptions['open']} open"]
    for reason, n in exceptions["by_reason"].items():
        lines.append(f"  {n:5}  {reason}")
    recon = summary["reconciliation"]
    lines.append("")
    if recon["difference_count"] == 0:
        lines.append(
            f"reconciliation: every project matches ({recon['held_count']} record(s) held "
            "in the exception queue, listed above)"
        )
    else:
        lines.append(
            f"reconciliation: {recon['difference_count']} difference(s): "
            f"{recon['difference_by_currency']}"
        )
    return "\n".join(lines)


DEMO_EMAIL = "ops@northwind.example"
DEMO_PASSWORD = "northwind-demo-2026"


def serve_console(options: DemoOptions, summary: dict[str, Any], *, port: int = 8000) -> None:
    """Serve the console over the demo's database until interrupted, with a printed login."""
    import uvicorn
    from pydantic import SecretStr

    from ledgerbridge import console
    from ledgerbridge.api import Settings, create_app

    key = options.database.with_suffix(".key").read_text().strip()
    db = store.Database(f"sqlite:///{options.database}")
    console.create_demo_login(
        db,
        summary["partner_id"],
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        role="partner_admin",
        display_name="Northwind operator",
    )
    app = create_app(
        Settings(database_url=f"sqlite:///{options.database}", secret_key=SecretStr(key)), db=db
    )
    print(
        f"\nconsole: http://127.0.0.1:{port}/login   user {DEMO_EMAIL}   password {DEMO_PASSWORD}"
    )
    print("(Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
