"""The blueprint language: versioned YAML documents that describe the flows of an integration.

A blueprint is data, not code. It is validated against a published JSON Schema
(:func:`schema`, draft 2020-12), checked for references between its sections, and
built into frozen models whose CEL expressions are compiled once::

    blueprint: delivery-to-cash        # name: lowercase letters, digits and -
    version: 3                         # int >= 1; a deployed version is immutable (see digest)
    schema_version: 1                  # language version; older ones are upgraded by migrations
    description: text
    connections:                       # logical names a deployment binds to real connections
      psa: {role: psa}
      erp: {role: erp}
    system_of_record:                  # object type -> the connection (or role) that owns it
      customer: erp
    lookups:                           # tables; _default answers for keys not in the table
      role_items: {Consultant: "Consulting", _default: "Services"}
    mappings:
      time_activity:
        fields:                        # each field has exactly one of path, lookup, expr, value
          Description: {path: record.notes, default: ""}
          ItemRef: {lookup: role_items, key: record.role}
          Hours: {expr: "record.hours"}
          Source: {value: "ledgerbridge"}
    data_quality:
      - name: hours_range
        applies_to: time_entry         # an object type: the part of an event type before the dot
        rule: "record.hours > 0.0 && record.hours <= 24.0"   # must be true for the record to pass
        field: hours
        message: "hours must be more than 0 and at most 24"
    approvals:
      - name: large_invoice
        when: "record.total > 50000.0" # without when, every record is held
        role: partner_operator
    flows:
      - name: post_time
        trigger:
          event: time_entry.approved   # one of ledgerbridge.model.EVENT_TYPES
          when: "record.billable"      # optional CEL condition
        mode: realtime                 # or batch, or {batch: {every: day, at: "18:00"}}
        modes_allowed: [realtime, batch]   # optional; what a deployment may choose
        quality: [hours_range]
        approval: large_invoice
        steps:
          - name: post
            kind: erp.post_time        # a step kind the engine registers
            connection: erp            # a key of connections
            map: time_activity         # optional
            params: {}                 # optional, free-form

Names of flows, steps, mappings, rules, approvals, lookups and connections are
``[a-z][a-z0-9_]*``. CEL expressions see three variables: ``record``, ``event`` and
``context``; Decimals in records are compared and computed as doubles, and numeric
results come back as Decimals (see :mod:`ledgerbridge.blueprints._cel`).

Schema version 0 wrote a trigger as a plain string (``trigger: time_entry.approved``);
it is upgraded on load. Register further upgrades with :func:`migration`.

Loading reports every problem at once, each with its line, column and dotted path::

    delivery.yaml:14:9: flows.0.steps.0.connection: unknown connection 'ero' (hint: did you mean 'erp'?)
"""

from __future__ import annotations

from ledgerbridge.blueprints._cel import Expression, compile_expression
from ledgerbridge.blueprints._loader import load_file, load_text, validate_file, validate_text
from ledgerbridge.blueprints._mapping import FieldSpec, MappingSpec
from ledgerbridge.blueprints._migrations import SCHEMA_VERSION, migration
from ledgerbridge.blueprints._model import (
    MODE_KINDS,
    ApprovalPolicy,
    Blueprint,
    DataQualityRule,
    Flow,
    Mode,
    StepSpec,
    Trigger,
    Violation,
)
from ledgerbridge.blueprints._problems import Problem
from ledgerbridge.blueprints._schema import schema

__all__ = [
    "MODE_KINDS",
    "SCHEMA_VERSION",
    "ApprovalPolicy",
    "Blueprint",
    "DataQualityRule",
    "Expression",
    "FieldSpec",
    "Flow",
    "MappingSpec",
    "Mode",
    "Problem",
    "StepSpec",
    "Trigger",
    "Violation",
    "compile_expression",
    "load_file",
    "load_text",
    "migration",
    "schema",
    "validate_file",
    "validate_text",
]
