"""Every workload controller on one cache and one writer."""

from __future__ import annotations

import time
from collections.abc import Callable

from podbay.agent.controllers.base import Controller, Manager
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.cronjob import CronJobController
from podbay.agent.controllers.daemonset import DaemonSetController
from podbay.agent.controllers.deployment import DeploymentController
from podbay.agent.controllers.gc import GarbageCollector
from podbay.agent.controllers.job import JobController, TTLAfterFinishedController
from podbay.agent.controllers.ports import Writer
from podbay.agent.controllers.replicaset import ReplicaSetController, ReplicationControllerController
from podbay.agent.controllers.scheduler import Scheduler
from podbay.agent.controllers.statefulset import StatefulSetController
from podbay.core.controllers.gc import Namespaced


def controllers(cache: Cache, writer: Writer, namespaced: Namespaced,
                clock: Callable[[], float] = time.time) -> list[Controller]:
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
        Scheduler(cache, writer, clock),
    ]


def manager(cache: Cache, writer: Writer, namespaced: Namespaced, clock: Callable[[], float] = time.time,
            resync: float = 30.0) -> Manager:
    return Manager(cache, controllers(cache, writer, namespaced, clock), resync)
