"""The connection settings of a QuickBooks Online company."""

from __future__ import annotations

from typing import Any

import pydantic

from ledgerbridge import errors

__all__ = ["QuickBooksSettings", "parse_settings"]


class QuickBooksSettings(pydantic.BaseModel):
    """Settings of one QuickBooks Online connection.

    Attributes:
        base_url: the service root (the sandbox's URL in tests).
        realm_id: the company id.
        access_token: the OAuth2 bearer token.
        connection_id: the connection these settings belong to (stamped on events).
        minorversion: the API minor version (75 is the minimum the service honours).
        service_item_name: the Service item that time and invoice lines use (made if missing).
        income_account_name: the income account of that item when it has to be made.
        expense_account_name: the expense account of billable expense lines.
        payment_account_name: the bank account expenses are paid from.
        rate_limit_per_second: requests per second per company (0 switches the limit off).
        per_minute: requests per minute per company (0 switches the limit off).
        timeout_seconds: the total time allowed for one request.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    base_url: str = "https://quickbooks.api.intuit.com"
    realm_id: str = pydantic.Field(min_length=1)
    access_token: pydantic.SecretStr
    connection_id: str = ""
    minorversion: int = pydantic.Field(default=75, ge=75)
    service_item_name: str = "Services"
    income_account_name: str = "Services"
    expense_account_name: str = "Travel"
    payment_account_name: str = "Checking"
    rate_limit_per_second: int = pydantic.Field(default=10, ge=0)
    per_minute: int = pydantic.Field(default=500, ge=0)
    timeout_seconds: float = pydantic.Field(default=30.0, gt=0, le=120)

    @pydantic.field_validator("access_token", mode="before")
    @classmethod
    def _unwrap_secret(cls, value: Any) -> Any:
        getter = getattr(value, "get_secret_value", None)
        return getter() if callable(getter) else value

    @pydantic.field_validator("access_token")
    @classmethod
    def _not_empty(cls, value: pydantic.SecretStr) -> pydantic.SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value


def parse_settings(settings: dict[str, Any]) -> QuickBooksSettings:
    """Validate connection settings.

    Raises:
        ConfigError: a setting is missing or invalid (the message names each one).
    """
    try:
        return QuickBooksSettings.model_validate(settings)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise errors.ConfigError(
            f"QuickBooks connection settings are invalid: {problems}", connector="quickbooks"
        ) from None
