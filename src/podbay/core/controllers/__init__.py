"""The workload controllers of kube-controller-manager as pure functions (values and ``now`` in,
plans out): Deployment, ReplicaSet/ReplicationController, StatefulSet, DaemonSet, Job, CronJob,
the garbage collector, TTL-after-finished, and the scheduler's predicates for this one node.

Each module names the upstream function it mirrors; the agent (``podbay.agent.controllers``)
feeds them the objects its informer caches hold and executes the plans they return
(``plan.Result``) through the API registry.
"""
