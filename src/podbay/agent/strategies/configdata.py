"""ConfigMaps and Secrets: stringData folded into data, validation, the ``immutable`` rules."""

from __future__ import annotations

from typing import Any

from podbay.agent.strategies import Strategy
from podbay.api.configdata import (
    default_secret,
    validate_configmap,
    validate_immutable_update,
    validate_secret,
)
from podbay.api.fielderror import FieldError
from podbay.api.validation import validate_object_meta_update

Obj = dict[str, Any]


class ConfigMapStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_configmap(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return (validate_object_meta_update(new.get("metadata"), old.get("metadata")) + validate_configmap(new)
                + validate_immutable_update(old, new))


class SecretStrategy(Strategy):
    def prepare_create(self, obj: Obj) -> Obj:
        return default_secret(obj)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        return default_secret(new)

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_secret(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return (validate_object_meta_update(new.get("metadata"), old.get("metadata")) + validate_secret(new)
                + validate_immutable_update(old, new))
