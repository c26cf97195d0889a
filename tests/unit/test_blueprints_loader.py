"""Loading blueprint documents: every malformed case is reported with its line, path and message."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerbridge import blueprints
from ledgerbridge.errors import BlueprintError, ConfigError

CASES = Path(__file__).parent / "blueprint_cases"

#: case file -> (line, path, message) of the one problem it holds
MALFORMED = {
    "yaml_syntax": (
        8,
        "",
        "YAML syntax error: expected ',' or '}', but got '<stream end>'"
        " (while parsing a flow mapping that starts on line 7)",
    ),
    "top_level_list": (1, "", "a blueprint must be a mapping, got a list"),
    "missing_flows": (1, "", "missing required key 'flows'"),
    "unknown_key": (6, "descripton", "unknown key 'descripton'"),
    "wrong_type": (4, "connections", "expected a mapping, got a list"),
    "bad_version": (2, "version", "must be at least 1, got 0"),
    "duplicate_flow": (
        11,
        "flows.1.name",
        "duplicate flow name 'post_time' (first used on line 7)",
    ),
    "duplicate_step": (
        11,
        "flows.0.steps.1.name",
        "duplicate step name 'post' (first used on line 10)",
    ),
    "duplicate_yaml_key": (
        9,
        "mappings.time_activity",
        "duplicate key 'time_activity' (first defined on line 7)",
    ),
    "unknown_event": (8, "flows.0.trigger.event", "unknown event type 'time_entry.aproved'"),
    "undeclared_connection": (10, "flows.0.steps.0.connection", "unknown connection 'ero'"),
    "unknown_map": (10, "flows.0.steps.0.map", "unknown mapping 'time_activty'"),
    "unknown_quality": (9, "flows.0.quality.0", "unknown data-quality rule 'hours_range'"),
    "unknown_approval": (11, "flows.0.approval", "unknown approval 'large_invoce'"),
    "unknown_lookup": (
        11,
        "mappings.time_activity.fields.ItemRef.lookup",
        "unknown lookup 'role_item'",
    ),
    "bad_cel": (
        10,
        "flows.0.trigger.when",
        "invalid CEL expression: Syntax error: mismatched input '<EOF>' (at 1:19 of the expression)",
    ),
    "bad_cel_block": (
        12,
        "data_quality.0.rule",
        "invalid CEL expression: Syntax error: mismatched input ')' (at 3:1 of the expression)",
    ),
    "bad_mode": (9, "flows.0.mode.batch.every", "'weekly' is not one of hour, day, week, month"),
    "mode_not_allowed": (
        10,
        "flows.0.modes_allowed",
        "mode 'batch' is not in modes_allowed (realtime)",
    ),
    "schema_too_new": (
        3,
        "schema_version",
        "schema_version 7 is newer than this ledgerbridge reads (up to 1)",
    ),
    "bad_field_spec": (
        9,
        "mappings.time_activity.fields.Hours",
        "a field needs exactly one of path, lookup (with key), expr or value",
    ),
}

#: case file -> the hint its problem carries
HINTS = {
    "unknown_key": "did you mean 'description'?",
    "unknown_event": "did you mean 'time_entry.approved' or 'time_entry.unapproved' or 'time_entry.changed'?",
    "undeclared_connection": "did you mean 'erp'?",
    "unknown_approval": "did you mean 'large_invoice'?",
    "unknown_lookup": "did you mean 'role_items'?",
    "bad_mode": "did you mean 'week'?",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_blueprints_malformed_case_reports_line_path_and_message(case):
    """Each malformed document yields its one problem at the offending line and path."""
    path = CASES / f"{case}.yaml"
    line, dotted, message = MALFORMED[case]
    problems = blueprints.validate_file(path)
    assert [(p.line, p.path, p.message) for p in problems] == [(line, dotted, message)]
    assert problems[0].source == str(path)
    if case in HINTS:
        assert problems[0].hint == HINTS[case]


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_blueprints_load_file_raises_blueprint_error_with_all_problems(case):
    """load_file raises BlueprintError, a ConfigError, carrying the same problems as validate_file."""
    path = CASES / f"{case}.yaml"
    with pytest.raises(BlueprintError) as caught:
        blueprints.load_file(path)
    assert isinstance(caught.value, ConfigError)
    assert caught.value.problems == blueprints.validate_file(path)
    assert caught.value.source == str(path)


def test_blueprints_several_problems_are_all_reported():
    """A document with eight different mistakes gets eight problems, in line order."""
    problems = blueprints.validate_file(CASES / "several_problems.yaml")
    assert [(p.line, p.path, p.message) for p in problems] == [
        (8, "flows.0.trigger.event", "unknown event type 'time_entry.aproved'"),
        (
            8,
            "flows.0.trigger.when",
            "invalid CEL expression: Syntax error: mismatched input '<EOF>' (at 1:19 of the expression)",
        ),
        (9, "flows.0.quality.0", "unknown data-quality rule 'hours_range'"),
        (11, "flows.0.steps.0.connection", "unknown connection 'ero'"),
        (11, "flows.0.steps.0.mapp", "unknown key 'mapp'"),
        (12, "flows.0.steps.1.name", "duplicate step name 'post' (first used on line 11)"),
        (13, "flows.1.name", "duplicate flow name 'post_time' (first used on line 7)"),
        (
            14,
            "flows.1.mode",
            'mode must be realtime, batch, or {batch: {every: hour|day|week|month, at: "HH:MM"}}',
        ),
    ]


def test_blueprints_problem_str_reads_source_line_column_path_message_hint():
    """str(Problem) is `source:line:column: path: message (hint: ...)`."""
    (problem,) = blueprints.validate_file(CASES / "undeclared_connection.yaml")
    assert str(problem) == (
        f"{CASES / 'undeclared_connection.yaml'}:10:55: flows.0.steps.0.connection: "
        "unknown connection 'ero' (hint: did you mean 'erp'?)"
    )


def test_blueprints_unreadable_file_is_a_problem(tmp_path):
    """A file that does not exist is reported as a problem, not an OSError."""
    missing = tmp_path / "nope.yaml"
    (problem,) = blueprints.validate_file(missing)
    assert problem.message.startswith("cannot read the file")
    with pytest.raises(BlueprintError):
        blueprints.load_file(missing)


def test_blueprints_empty_text_is_a_problem():
    """An empty document is reported as not being a mapping."""
    (problem,) = blueprints.validate_text("", source="empty.yaml")
    assert (problem.source, problem.line, problem.message) == (
        "empty.yaml",
        1,
        "a blueprint must be a mapping, got an empty document",
    )


def test_blueprints_schema_version_0_trigger_string_is_upgraded():
    """A schema_version 0 document with `trigger: "event"` loads as the mapping form."""
    blueprint = blueprints.load_file(CASES / "v0_trigger_string.yaml")
    assert blueprint.schema_version == 1
    assert blueprint.flow("post_time").trigger.event == "time_entry.approved"
    assert blueprint.document["flows"][0]["trigger"] == {"event": "time_entry.approved"}


def test_blueprints_migration_refuses_a_second_registration_for_a_version():
    """Registering two migrations from the same schema version is a programming error."""
    with pytest.raises(ValueError, match="already exists"):

        @blueprints.migration(from_version=0)
        def again(document):
            return document


def test_blueprints_schema_is_a_valid_draft_2020_12_schema():
    """The shipped JSON Schema is itself valid and accepts the example blueprint's shape."""
    import jsonschema

    schema = blueprints.schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    document = blueprints.load_file(CASES / "valid_delivery.yaml").document
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document)) == []
