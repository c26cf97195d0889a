"""Property-based API checks with schemathesis: no 5xx, and every answer matches the schema.

The app runs under uvicorn on loopback with a seeded two-partner world; the caller holds a
platform key, so every operation reaches real objects as well as generated ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledgerbridge import store, tenancy
from ledgerbridge.api import create_app
from tests.integration.test_api_support import bearer, make_side, serve, settings_for

MAX_EXAMPLES = 20


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, template_db: Path
) -> Iterator[tuple[Any, dict[str, str]]]:
    path = tmp_path_factory.mktemp("schema") / "schema.db"
    path.write_bytes(template_db.read_bytes())
    db = store.Database(f"sqlite:///{path}")
    config = settings_for(path)
    make_side(db, config.keyring(), "Alpha")
    _, key = tenancy.bootstrap_api_key(db, name="platform")
    with serve(create_app(config, db=db)) as url:
        yield schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json"), bearer(key)
    db.dispose()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_schema_no_server_errors_and_conforming_answers(
    api: tuple[Any, dict[str, str]],
) -> None:
    """Generated requests never get a 5xx, and each answer matches its documented schema."""
    schema, headers = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
