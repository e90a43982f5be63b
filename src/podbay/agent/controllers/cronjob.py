"""The CronJob controller: Job events wake their CronJob; each sync requeues itself for the next
schedule time; schedules without a ``timeZone`` run in this host's zone (``time.Local``)."""

from __future__ import annotations

import datetime as _dt
import os
import zoneinfo
from typing import Any

from podbay.agent.controllers.base import Controller, split_key
from podbay.core.controllers.cronjob import sync_cron_job

Obj = dict[str, Any]


def host_time_zone() -> _dt.tzinfo:
    """The controller's local zone: ``TZ``, else the zone ``/etc/localtime`` links to, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.path.realpath("/etc/localtime")
        except OSError:
            target = ""
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return _dt.UTC


class CronJobController(Controller):
    name = "cronjob-controller"
    primary = "CronJob"
    watches = ("Job",)

    def __init__(self, *args: Any, local: _dt.tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local = local or host_time_zone()

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        cj = self.cache.get(self.primary, ns, name)
        if cj is None:
            return None
        result = sync_cron_job(cj, self.cache.list("Job", ns), self.clock(), self.local)
        self.run_plan(result)
        return result.requeue_after
