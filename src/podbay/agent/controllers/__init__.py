"""kube-controller-manager's workload controllers in the agent: one reconcile queue each, fed by
the store's watch events (through ``cache.Cache``) and a periodic resync, independent of the pod
workers. Each controller's decisions are the pure functions of ``podbay.core.controllers``; what
they return is executed (``executor``) through the same registry path a client's request takes.
"""
