"""Pod volumes: emptyDir (disk, tmpfs, hugetlbfs), hostPath and safe subPath binds, kubelet-style."""
