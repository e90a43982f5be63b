"""Lifecycle hook handlers (kubelet ``pkg/kubelet/lifecycle/handlers.go`` ``handlerRunner.Run``).

* exec: in the container with its own process spec, **no timeout**, no ``$(VAR)`` expansion;
  a non-zero exit is a failure;
* httpGet: from the host to ``host`` or the pod IP, ``kube-lifecycle/<maj.min>`` user agent, TLS
  never verified, same-host redirects only, and the status code is **never** checked (only transport
  errors fail); an HTTPS request answered in plain HTTP is retried once over HTTP
  (``LifecycleHTTPFallback``);
* sleep: waits ``seconds``; cancelled first -> ``container terminated before sleep hook finished``;
* tcpSocket (valid in the API, not implemented upstream) and anything else fail the hook.

Each returns None on success or the handler's failure message in upstream's wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podbay.core import probes
from podbay.core.records import ContainerRecord
from podbay.ports import Clock, ProbeTransport, Runtime

Obj = Mapping[str, Any]
HTTP_FALLBACK_ERROR = "server gave HTTP response to HTTPS client"


def pod_full_name(pod: Obj) -> str:
    md = pod["metadata"]
    return f"{md['name']}_{md['namespace']}({md.get('uid', '')})"


def go_list(items: Any) -> str:
    return "[" + " ".join(str(i) for i in items) + "]"


class HookRunner:
    def __init__(self, runtime: Runtime, transport: ProbeTransport, clock: Clock) -> None:
        self.runtime = runtime
        self.transport = transport
        self.clock = clock

    async def run(self, pod: Obj, container: Obj, rec: ContainerRecord, handler: Obj, pod_ip: str,
                  on_fallback: Callable[[str], None] | None = None) -> str | None:
        name = str(container.get("name", ""))
        if handler.get("exec") is not None:
            cmd = [str(c) for c in (handler["exec"] or {}).get("command") or []]
            res = await self.runtime.exec_sync(rec, cmd, None)
            if res.error:
                err = res.error
            elif res.exit_code != 0:
                err = f"command '{' '.join(cmd)}' exited with {res.exit_code}: " + \
                    res.output.decode("utf-8", "replace")
            else:
                return None
            output = res.output.decode("utf-8", "replace")
            return (f'Exec lifecycle hook ({go_list(cmd)}) for Container "{name}" in Pod "{pod_full_name(pod)}" '
                    f'failed - error: {err}, message: "{output}"')
        if handler.get("httpGet") is not None:
            action = handler["httpGet"] or {}
            try:
                target = probes.http_target(action, container, pod_ip, probes.LIFECYCLE_USER_AGENT)
            except ValueError as exc:
                err = str(exc)
            else:
                out = await self.transport.http_get(target, None, check_status=False)
                if out.result != "success" and target.scheme == "https" and HTTP_FALLBACK_ERROR in out.output:
                    plain = probes.without_authorization(target, scheme="http")
                    out = await self.transport.http_get(plain, None, check_status=False)
                    if out.result == "success" and on_fallback is not None:
                        on_fallback(f"request to HTTPS lifecycle hook {target.host}:{target.port} got HTTP response, "
                                    "retry with HTTP succeeded")
                if out.result == "success":
                    return None
                err = out.output or out.error
            path = str(action.get("path", ""))
            return f'HTTP lifecycle hook ({path}) for Container "{name}" in Pod "{pod_full_name(pod)}" failed - error: {err}'
        if handler.get("sleep") is not None:
            seconds = (handler["sleep"] or {}).get("seconds") or 0
            try:
                await self.clock.sleep(float(seconds))
            except BaseException:
                raise
            return None
        return f"Cannot run handler: invalid handler: {dict(handler)}"
