"""podbay.network: CNI networking, pinned pod namespaces and the per-pod hosts/hostname/resolv files."""
