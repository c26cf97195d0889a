"""Bad input where it enters: webhook bodies, blueprint files and CLI arguments.

Every refusal names what is wrong (a field, a line) and stores nothing; the receiver keeps
serving the next delivery.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ledgerbridge import cli, sandboxes, store
from ledgerbridge.api import create_app
from ledgerbridge.api._signatures import sign_generic, sign_xero
from tests.integration.test_api_support import http, settings_for, stored_events, webhook_tenant

SECRET = "whsec-bad-input-0123456789"
VERIFIER = "intuit-verifier-bad-input"
XERO_KEY = "xero-key-bad-input"
SHIPPED = Path(cli.__file__).parent / "blueprints" / "shipped" / "delivery-to-cash.yaml"


@pytest.fixture
def hooks(db_path: Path, db: store.Database) -> Iterator[httpx.Client]:
    settings = settings_for(db_path)
    webhook_tenant(db, settings.keyring(), generic=SECRET, verifier=VERIFIER, xero_key=XERO_KEY)
    with http(create_app(settings, db=db)) as client:
        yield client


def _generic(client: httpx.Client, body: bytes) -> httpx.Response:
    signature = sign_generic(body, SECRET, timestamp=int(time.time()))
    return client.post("/hooks/gen", content=body, headers={"X-Ledgerbridge-Signature": signature})


def _qbo(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post(
        "/hooks/qbo", content=body, headers={"intuit-signature": sandboxes.sign(body, VERIFIER)}
    )


def _event(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_type": "time_entry.approved",
        "object_type": "time_entry",
        "external_id": "te-1",
        "source_version": 1,
        "record": {},
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not None}


GENERIC_BAD = [
    pytest.param(b"{not json", "not JSON", id="malformed"),
    pytest.param(b"\xff\xfe\x80\x81", "not JSON", id="non-utf8"),
    pytest.param(b'{"events": {}}', "events", id="events-not-a-list"),
    pytest.param(
        json.dumps({"events": [_event(source_version=None)]}).encode(),
        "events.0.source_version",
        id="missing-field",
    ),
    pytest.param(
        json.dumps({"events": [_event(source_version="soon")]}).encode(),
        "events.0.source_version",
        id="wrong-type",
    ),
    pytest.param(
        json.dumps({"events": [_event(source_version=-1)]}).encode(),
        "events.0.source_version",
        id="negative",
    ),
    pytest.param(
        json.dumps({"events": [_event(record=[1])]}).encode(),
        "events.0.record",
        id="record-not-object",
    ),
    pytest.param(
        json.dumps({"events": [_event(external_id="x" * 500)]}).encode(),
        "events.0.external_id",
        id="too-long",
    ),
]


@pytest.mark.parametrize(("body", "names"), GENERIC_BAD)
def test_bad_generic_webhook_body_is_422_naming_the_field(hooks, db, body, names):
    """A signed but bad generic body is refused with 422 naming the field; nothing is stored."""
    answer = _generic(hooks, body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert names in answer.json()["detail"]
    assert stored_events(db) == 0
    good = _generic(hooks, json.dumps({"events": [_event()]}).encode())
    assert good.status_code == 202, "the receiver still serves the next delivery"


def test_bad_quickbooks_webhook_missing_entities_is_422(hooks, db):
    """A QuickBooks notice without dataChangeEvent.entities is refused with 422, nothing stored."""
    body = json.dumps({"eventNotifications": [{"realmId": "1", "dataChangeEvent": {}}]}).encode()
    answer = _qbo(hooks, body)
    assert answer.status_code == 422, answer.text
    assert "entities" in answer.json()["detail"]
    assert stored_events(db) == 0


QBO_CRASHES = [
    pytest.param(
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [7]}}]},
        id="entity-not-object",
    ),
    pytest.param(
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": ["x"]}]}, id="change-not-object"
    ),
    pytest.param(
        {
            "eventNotifications": [
                {
                    "realmId": "1",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": "1",
                                "operation": "Create",
                                "lastUpdated": "1969-12-31T23:59:59Z",
                            }
                        ]
                    },
                }
            ]
        },
        id="before-1970",
    ),
]


@pytest.mark.parametrize("doc", QBO_CRASHES)
def test_bad_quickbooks_webhook_shapes_are_422_not_500(hooks, db, doc):
    """Wrongly typed QuickBooks notices are refused with 422, not a server error."""
    answer = _qbo(hooks, json.dumps(doc).encode())
    assert answer.status_code == 422, answer.text
    assert stored_events(db) == 0


def test_bad_xero_webhook_event_not_an_object_is_422(hooks, db):
    """A Xero body whose events are not objects is refused with 422, not a server error."""
    body = json.dumps({"events": [1, "two"]}).encode()
    answer = hooks.post(
        "/hooks/xero", content=body, headers={"x-xero-signature": sign_xero(body, XERO_KEY)}
    )
    assert answer.status_code == 422, answer.text


def _validate(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "edited.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli.app, ["blueprint", "validate", str(path)])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("connection: erp}", "connection: ero}", "connection"),
        ("version: 1\n", "version: one\n", "version"),
        ("mode: realtime", "mode: sometimes", "mode"),
        ("{event: customer.upserted}", "{event: customer.exploded}", "trigger"),
    ],
)
def test_bad_blueprint_file_names_line_and_field(tmp_path, old, new, names):
    """`blueprint validate` on a broken file exits 1 and names the line and the field."""
    text = SHIPPED.read_text()
    assert old in text
    code, output = _validate(tmp_path, text.replace(old, new, 1))
    assert code == 1, output
    assert "edited.yaml:" in output and names in output, output


def test_bad_blueprint_file_that_is_not_yaml_names_the_line(tmp_path):
    """A file that is not YAML at all is refused naming where parsing stopped."""
    code, output = _validate(tmp_path, "blueprint: x\n  flows: [\n")
    assert code == 1
    assert "edited.yaml:" in output


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["worker", "--concurrency", "many"], "--concurrency"),
        (["runs", "list", "--limit", "x"], "--limit"),
        (["blueprint", "validate", "/nonexistent/file.yaml"], "file.yaml"),
    ],
)
def test_bad_cli_arguments_exit_nonzero_naming_the_option(args, names, tmp_path):
    """Bad command-line arguments exit non-zero with a message naming the option or file."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    extra = ["--database-url", url] if args[0] in ("worker", "runs") else []
    result = CliRunner().invoke(cli.app, [*args, *extra])
    assert result.exit_code != 0
    text = result.output + (str(result.exception) if result.exception else "")
    assert names in text, text


@pytest.mark.parametrize("option", ["--batch-size", "--concurrency", "--lease-seconds"])
def test_bad_cli_worker_sizes_are_usage_errors_not_tracebacks(option, tmp_path):
    """`worker --batch-size 0` is a usage error naming the option, not an uncaught exception."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(cli.app, ["worker", option, "0", "--database-url", url])
    assert result.exit_code == 2, result.exception
    assert option in result.output
