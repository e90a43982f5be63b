"""Services, EndpointSlices, the kube-proxy nftables ruleset, cluster DNS records and service env vars (pure)."""
