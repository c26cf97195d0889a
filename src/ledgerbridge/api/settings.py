"""The settings of the API server: one pydantic-settings class that validates itself.

Build it in :func:`ledgerbridge.api.create_app` callers or the CLI, never at import time.
Environment variables carry the ``LEDGERBRIDGE_`` prefix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledgerbridge import store, tenancy

MIN_SECRET_LENGTH = 32
#: values people paste from examples; refused as secret keys
PLACEHOLDERS = frozenset({"changeme", "changethis", "secret", "password", "example", "placeholder"})
MIB = 1024 * 1024


class Settings(BaseSettings):
    """Where the data lives, how credentials are sealed, and webhook limits."""

    model_config = SettingsConfigDict(env_prefix="LEDGERBRIDGE_", extra="ignore")

    database_url: str = Field(default_factory=store.default_url)
    #: the key that seals connection credentials (at least 32 characters)
    secret_key: SecretStr | None = None
    #: a file holding the secret key, for deployments that mount secrets as files
    secret_key_file: Path | None = None
    #: older secret keys, comma-separated, still accepted while ``secrets rotate`` runs
    old_secret_keys: SecretStr = SecretStr("")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    webhook_max_bytes: int = Field(default=MIB, ge=1024)
    webhook_tolerance_seconds: int = Field(default=300, ge=1)

    @model_validator(mode="after")
    def _check_secret_key(self) -> Settings:
        if self.secret_key is None and self.secret_key_file is not None:
            try:
                text = self.secret_key_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"secret_key_file {self.secret_key_file} cannot be read") from exc
            self.secret_key = SecretStr(text)
        if self.secret_key is None:
            raise ValueError(
                "set LEDGERBRIDGE_SECRET_KEY or LEDGERBRIDGE_SECRET_KEY_FILE to a random "
                f"string of at least {MIN_SECRET_LENGTH} characters"
            )
        for key in [self.secret_key.get_secret_value(), *self.old_keys()]:
            _check_key(key)
        return self

    def old_keys(self) -> list[str]:
        """Return the older secret keys, in order."""
        raw = self.old_secret_keys.get_secret_value()
        return [k.strip() for k in raw.split(",") if k.strip()]

    def keyring(self) -> tenancy.Keyring:
        """Return the keyring: the current secret key, then the older ones."""
        assert self.secret_key is not None  # the validator guarantees it
        return tenancy.Keyring([self.secret_key.get_secret_value(), *self.old_keys()])


def _check_key(key: str) -> None:
    lowered = key.lower()
    if any(word in lowered for word in PLACEHOLDERS):
        raise ValueError(
            "the secret key is a placeholder; generate one with `openssl rand -hex 32`"
        )
    if len(key) < MIN_SECRET_LENGTH:
        raise ValueError(f"the secret key must have at least {MIN_SECRET_LENGTH} characters")
    if len(set(key)) < 8:
        raise ValueError("the secret key repeats too few characters to be random")
