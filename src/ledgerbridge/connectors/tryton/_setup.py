"""Set up a freshly initialised Tryton database over JSON-RPC for delivery-to-cash.

The steps mirror what an accountant does in the Tryton client: currencies, the company,
the chart of accounts, fiscal years, a payment term, a cash payment method, the two
products ledgerbridge bills with, and an employee for the admin user.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ledgerbridge.connectors.tryton import _rpc

__all__ = ["COMPANY_NAME", "EXPENSE_PRODUCT", "SERVICE_PRODUCT", "setup_database"]

COMPANY_NAME = "Ledgerbridge Demo Services"
SERVICE_PRODUCT = "Consulting services"
EXPENSE_PRODUCT = "Expenses (rebill)"
_RATES = {"USD": ("$", Decimal(1)), "EUR": ("€", Decimal("0.92")), "GBP": ("£", Decimal("0.79"))}


async def _get_id(client: _rpc.TrytonClient, module: str, xml_id: str) -> int:
    return int(await client.call("model.ir.model.data.get_id", module, xml_id))


async def _currencies(client: _rpc.TrytonClient) -> int:
    currency = client.model("currency.currency")
    ids: dict[str, int] = {}
    for code, (symbol, rate) in _RATES.items():
        (cid,) = await currency.create(
            [
                {
                    "name": code,
                    "code": code,
                    "symbol": symbol,
                    "rounding": Decimal("0.01"),
                    "digits": 2,
                    "rates": [["create", [{"date": dt.date(1970, 1, 1), "rate": rate}]]],
                }
            ]
        )
        ids[code] = cid
    return ids["USD"]


async def _company(client: _rpc.TrytonClient, currency_id: int) -> int:
    (party,) = await client.model("party.party").create(
        [{"name": COMPANY_NAME, "addresses": [["create", [{"street": "1 Main St"}]]]}]
    )
    (company,) = await client.model("company.company").create(
        [{"party": party, "currency": currency_id}]
    )
    uid = client.user_id
    await client.model("res.user").write(
        [uid], {"companies": [["add", [company]]], "company": company}
    )
    await client.refresh_context()
    return company


async def _chart(client: _rpc.TrytonClient, company: int) -> dict[str, int]:
    template = await _get_id(client, "account", "account_template_root_en")
    account = client.model("account.account")
    await client.run_wizard(
        "account.create_chart",
        {
            "start": ("account", {}),
            "account": ("create_account", {"account_template": template, "company": company}),
            "properties": ("end", {}),
        },
    )
    base = [["company", "=", company], ["closed", "!=", True]]
    (receivable,) = await account.search(
        [*base, ["type.receivable", "=", True], ["party_required", "=", True]], limit=1
    )
    (payable,) = await account.search(
        [*base, ["type.payable", "=", True], ["party_required", "=", True]], limit=1
    )
    (revenue,) = await account.search([*base, ["type.revenue", "=", True]], limit=1)
    (expense,) = await account.search([*base, ["type.expense", "=", True]], limit=1)
    (cash,) = await account.search([*base, ["code", "=", "1.1.1"]], limit=1)
    return {
        "receivable": receivable,
        "payable": payable,
        "revenue": revenue,
        "expense": expense,
        "cash": cash,
    }


async def _properties(client: _rpc.TrytonClient, company: int, accounts: dict[str, int]) -> None:
    # The chart wizard's last step picks defaults only when one candidate exists, so the
    # party accounts are set on the party configuration explicitly.
    config = client.model("account.configuration")
    await config.write(
        [1],
        {
            "default_account_receivable": accounts["receivable"],
            "default_account_payable": accounts["payable"],
        },
    )


async def _fiscal_year(client: _rpc.TrytonClient, company: int, year: int) -> None:
    strict = client.model("ir.sequence.strict")
    move_type = await _get_id(client, "account", "sequence_type_account_move")
    invoice_type = await _get_id(client, "account_invoice", "sequence_type_account_invoice")
    names = ["move", "out_invoice", "in_invoice", "out_credit", "in_credit"]
    values = [
        {
            "name": f"{name} {year}",
            "company": company,
            "sequence_type": move_type if name == "move" else invoice_type,
            "prefix": f"{year}/" if name != "move" else "",
        }
        for name in names
    ]
    move_seq, out_inv, in_inv, out_cn, in_cn = await strict.create(values)
    fiscal = client.model("account.fiscalyear")
    (fy,) = await fiscal.create(
        [
            {
                "name": str(year),
                "company": company,
                "start_date": dt.date(year, 1, 1),
                "end_date": dt.date(year, 12, 31),
                "move_sequence": move_seq,
                "invoice_sequences": [
                    [
                        "create",
                        [
                            {
                                "company": company,
                                "out_invoice_sequence": out_inv,
                                "in_invoice_sequence": in_inv,
                                "out_credit_note_sequence": out_cn,
                                "in_credit_note_sequence": in_cn,
                            }
                        ],
                    ]
                ],
            }
        ]
    )
    await fiscal.button("create_period", [fy])


async def _payment(client: _rpc.TrytonClient, company: int, accounts: dict[str, int]) -> None:
    await client.model("account.invoice.payment_term").create(
        [{"name": "Due on receipt", "lines": [["create", [{"type": "remainder"}]]]}]
    )
    (journal,) = await client.model("account.journal").search([["type", "=", "cash"]], limit=1)
    await client.model("account.invoice.payment.method").create(
        [
            {
                "name": "Cash",
                "company": company,
                "journal": journal,
                "credit_account": accounts["cash"],
                "debit_account": accounts["cash"],
            }
        ]
    )


async def _products(client: _rpc.TrytonClient, accounts: dict[str, int]) -> None:
    (category,) = await client.model("product.category").create(
        [
            {
                "name": "Billable services",
                "accounting": True,
                "account_revenue": accounts["revenue"],
                "account_expense": accounts["expense"],
            }
        ]
    )
    hour = await _get_id(client, "product", "uom_hour")
    unit = await _get_id(client, "product", "uom_unit")
    rows: list[dict[str, Any]] = [
        {"name": SERVICE_PRODUCT, "default_uom": hour, "list_price": Decimal(150)},
        {"name": EXPENSE_PRODUCT, "default_uom": unit, "list_price": Decimal(0)},
    ]
    for row in rows:
        row.update(
            {"type": "service", "account_category": category, "products": [["create", [{}]]]}
        )
    await client.model("product.template").create(rows)


async def _employee(client: _rpc.TrytonClient, company: int) -> None:
    (party,) = await client.model("party.party").create([{"name": "Administrator"}])
    (employee,) = await client.model("company.employee").create(
        [{"party": party, "company": company}]
    )
    uid = client.user_id
    await client.model("res.user").write(
        [uid], {"employees": [["add", [employee]]], "employee": employee}
    )
    await client.refresh_context()


async def setup_database(client: _rpc.TrytonClient, *, today: dt.date) -> None:
    """Run every setup step on a logged-in admin client.

    Args:
        client: an admin session on a database with the modules activated.
        today: fiscal years are created for this year and the next.
    """
    await client.login()
    usd = await _currencies(client)
    company = await _company(client, usd)
    accounts = await _chart(client, company)
    await _properties(client, company, accounts)
    for year in (today.year, today.year + 1):
        await _fiscal_year(client, company, year)
    await _payment(client, company, accounts)
    await _products(client, accounts)
    await _employee(client, company)
