"""Every workload controller on one cache and one writer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from podbay.agent.controllers.base import Controller, Manager
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.cronjob import CronJobController
from podbay.agent.controllers.daemonset import DaemonSetController
from podbay.agent.controllers.deployment import DeploymentController
from podbay.agent.controllers.gc import GarbageCollector
from podbay.agent.controllers.job import JobController, TTLAfterFinishedController
from podbay.agent.controllers.ports import Provisioner, Writer
from podbay.agent.controllers.replicaset import ReplicaSetController, ReplicationControllerController
from podbay.agent.controllers.scheduler import Scheduler
from podbay.agent.controllers.statefulset import StatefulSetController
from podbay.agent.controllers.volumes import PersistentVolumeController
from podbay.core.controllers.gc import Namespaced


def controllers(cache: Cache, writer: Writer, namespaced: Namespaced,
                clock: Callable[[], float] = time.time, provisioner: Provisioner | None = None,
                internal: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext) -> list[Controller]:
    volumes: list[Controller] = [] if provisioner is None else [
        PersistentVolumeController(cache, writer, provisioner, clock, internal)]
    return [
        DeploymentController(cache, writer, clock),
        ReplicaSetController(cache, writer, clock),
        ReplicationControllerController(cache, writer, clock),
        StatefulSetController(cache, writer, clock),
        DaemonSetController(cache, writer, clock),
        JobController(cache, writer, clock),
        TTLAfterFinishedController(cache, writer, clock),
        CronJobController(cache, writer, clock),
        GarbageCollector(cache, writer, namespaced, clock),
        Scheduler(cache, writer, clock, provisioner),
        *volumes,
    ]


def manager(cache: Cache, writer: Writer, namespaced: Namespaced, clock: Callable[[], float] = time.time,
            resync: float = 30.0, provisioner: Provisioner | None = None,
            internal: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext) -> Manager:
    return Manager(cache, controllers(cache, writer, namespaced, clock, provisioner, internal), resync)
