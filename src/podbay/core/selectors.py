"""Selectors moved to ``podbay.api.selectors`` (pure, shared by the API server and the CLI)."""

from __future__ import annotations

from podbay.api.selectors import (  # noqa: F401 - re-exported for existing importers
    LabelTest,
    Predicate,
    field_selector,
    label_selector,
    parse_label_selector,
)
