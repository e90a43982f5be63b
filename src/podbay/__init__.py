"""podbay: run Kubernetes v1 pods on one Linux host, the way a kubelet does."""

__version__ = "0.1.0"
