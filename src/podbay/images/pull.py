"""One image pull, the way a CRI runtime does it: resolve the reference to a digest, download only
when that digest is new, import the image into the store with both digests recorded.

Recipe (IMAGES.md §5.4): the manifest (or index) of the reference is fetched from the first
endpoint that answers (mirrors, then the registry, per registries.conf); its sha256 is the repo
digest. An index is resolved for this host with containers/image's platform rules. If the store
already holds that digest, the reference is re-pointed and nothing is downloaded (the cheap
``Always`` path). Otherwise the chosen instance is copied *by digest* from the same endpoint
(so neither the tag nor the platform can change in between) into a private OCI layout and
imported under the requested reference. Credentials are tried one at a time in the kubelet's
order; anonymous only when there are none.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.errors import PodbayError
from podbay.images import platform as imgplatform
from podbay.images import reference
from podbay.images.keyring import Credential
from podbay.images.registries_conf import ConfigError, Endpoint, RegistriesConfig
from podbay.images.registry import UNAVAILABLE_PREFIX, CopyProgress, PullError, RegistryClient, Target
from podbay.images.store import Image, ImageStore
from podbay.images.streamunpack import Streamed, StreamUnpacker

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_V1 = ("application/vnd.docker.distribution.manifest.v1+json",
             "application/vnd.docker.distribution.manifest.v1+prettyjws")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int


@dataclass(frozen=True)
class PullPlan:
    """What a pull will fetch, known before any blob is downloaded (for progress)."""

    ref: str                     # normalised reference the image is tagged with
    repo_digest: str             # "<repository>@<digest of what the reference names>"
    instance: str                # manifest digest of the image for this platform
    layers: tuple[Layer, ...]
    present: bool                # the store already has it: no download


@dataclass(frozen=True)
class PullResult:
    image: Image
    repo_digest: str
    downloaded: bool
    seconds: float


ProgressFn = Callable[[PullPlan, CopyProgress], None]


def _digest(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PullError(f"{what}: invalid manifest: {exc}") from exc
    if not isinstance(doc, dict):
        raise PullError(f"{what}: invalid manifest: not an object")
    return doc


def _media_type(doc: dict[str, Any]) -> str:
    mt = str(doc.get("mediaType") or "")
    if not mt and doc.get("schemaVersion") == 1:
        return DOCKER_V1[1]
    if not mt and "manifests" in doc:
        return imgplatform.OCI_INDEX
    return mt or OCI_MANIFEST


def _target_name(endpoint_name: str, digest: str) -> str:
    """``host/path:tag@x`` or ``host/path:tag`` -> ``host/path@digest``."""
    base = endpoint_name.partition("@")[0]
    colon = base.rfind(":")
    if colon > base.rfind("/"):
        base = base[:colon]
    return f"{base}@{digest}"


class Puller:
    """Pulls into an ImageStore through a RegistryClient (skopeo, or a fake in tests)."""

    def __init__(self, store: ImageStore, client: RegistryClient, config: Callable[[], RegistriesConfig],
                 host: imgplatform.Platform, default_certs_dir: str | None = None, *, stream: bool = True,
                 speculate: bool = True) -> None:
        self.store = store
        self.stream = stream
        self.speculate = speculate
        self.client = client
        self.config = config
        self.host = host
        self.default_certs_dir = default_certs_dir

    def _targets(self, parsed: reference.Parsed) -> list[Target]:
        try:
            conf = self.config()
            endpoints: list[Endpoint] = conf.endpoints(str(parsed), digested=parsed.digest is not None)
        except ConfigError as exc:
            raise PullError(str(exc)) from exc
        certs = certs_dir_lookup(conf.certs_dir or self.default_certs_dir)
        return [Target(e.name, e.insecure, certs(e.host)) for e in endpoints]

    def pull(self, ref: str, creds: Sequence[Credential] = (), progress: ProgressFn | None = None,
             cancel: threading.Event | None = None) -> PullResult:
        """Pull ``ref`` (any form the kubelet accepts); raises PullError with the runtime's message
        (one credential's error as is, several as ``[err1, err2]``), ValueError for a bad reference."""
        t0 = time.monotonic()
        parsed = reference.parse(ref)
        targets = self._targets(parsed)
        errors: list[str] = []
        attempts: list[Credential | None] = list(creds) or [None]
        for cred in attempts:
            try:
                image, plan = self._pull_with(parsed, targets, cred, progress, cancel)
                return PullResult(image, plan.repo_digest, not plan.present, time.monotonic() - t0)
            except PullError as exc:
                errors.append(exc.message)
        if len(errors) == 1:
            raise PullError(errors[0])
        raise PullError("[" + ", ".join(errors) + "]")

    def _fetch(self, parsed: reference.Parsed, targets: list[Target],
               cred: Credential | None) -> tuple[Target, bytes]:
        failures: list[tuple[Target, PullError]] = []
        for t in targets:
            try:
                return t, self.client.manifest(t, cred)
            except PullError as exc:
                failures.append((t, exc))
        primary_t, primary = failures[-1]
        if len(failures) == 1:
            raise primary
        # containers/image's wording when mirrors were tried first
        mirrors = ", ".join(f"{t.name}: {e.message}" for t, e in failures[:-1])
        detail = primary.message.removeprefix(UNAVAILABLE_PREFIX + ": ")
        msg = f"(Mirrors also failed: [{mirrors}]): {primary_t.name}: {detail}"
        raise PullError(f"{UNAVAILABLE_PREFIX}: {msg}" if primary.unavailable else msg)

    def plan(self, ref: str, cred: Credential | None = None) -> PullPlan:
        """Resolve without downloading (``podbay image pull`` shows the layers before copying)."""
        parsed = reference.parse(ref)
        return self._plan(parsed, self._targets(parsed), cred)[1]

    def _plan(self, parsed: reference.Parsed, targets: list[Target], cred: Credential | None,
              instance_manifest: bool = True) -> tuple[Target, PullPlan, dict[str, Any]]:
        target, raw = self._fetch(parsed, targets, cred)
        top = _digest(raw)
        if parsed.digest and parsed.digest != top:
            raise PullError(f"manifest digest of {target.name} is {top}, not {parsed.digest}")
        doc = _json(raw, target.name)
        mt = _media_type(doc)
        instance, body = top, doc
        if mt in DOCKER_V1:
            raise PullError(f'media type "{mt}" is no longer supported since containerd v2.1, please rebuild the '
                            "image as \"application/vnd.docker.distribution.manifest.v2+json\" or "
                            "\"application/vnd.oci.image.manifest.v1+json\"")
        if mt in (imgplatform.OCI_INDEX, imgplatform.DOCKER_LIST):
            try:
                chosen = imgplatform.choose(doc.get("manifests") or [], self.host,
                                            oci_index=mt == imgplatform.OCI_INDEX)
            except imgplatform.NoMatchingPlatform as exc:
                raise PullError(f"choosing an image from manifest list docker://{target.name}: {exc}") from exc
            instance = str(chosen.get("digest") or "")
            body = {}
        present = self.store.find_digest(instance) or self.store.find_digest(top)
        layers: tuple[Layer, ...] = ()
        if present is None and not body and instance_manifest:   # its layers, for progress and streaming
            inst_target = Target(_target_name(target.name, instance), target.insecure, target.cert_dir)
            body = _json(self.client.manifest(inst_target, cred), inst_target.name)
        if body:
            layers = tuple(Layer(str(d.get("digest")), int(d.get("size") or 0)) for d in body.get("layers") or [])
        tagged = str(parsed)
        plan = PullPlan(ref=tagged, repo_digest=f"{parsed.repository}@{top}", instance=instance, layers=layers,
                        present=present is not None)
        return target, plan, {"top": top, "present": present}

    def _pull_with(self, parsed: reference.Parsed, targets: list[Target], cred: Credential | None,
                   progress: ProgressFn | None, cancel: threading.Event | None) -> tuple[Image, PullPlan]:
        planned: list[PullPlan] = []
        early: list[CopyProgress] = []   # what a speculative copy reported before the plan was known
        lock = threading.Lock()

        def report(snap: CopyProgress) -> None:
            assert progress is not None
            with lock:
                if not planned:
                    early[:] = [snap]
                    return
            progress(planned[0], snap)

        on_copy = None if progress is None else report
        # First pull of a repository by tag: its digest cannot be here, so the copy (by tag) starts at
        # once, next to the manifest request, and is kept if it fetched the instance the plan chose.
        spec = None
        if self.speculate and len(targets) == 1 and parsed.digest is None and \
                not self.store.knows_repository(parsed.repository):
            spec = _Speculation(self, targets[0], cred, on_copy)
        try:
            target, plan, extra = self._plan(parsed, targets, cred, instance_manifest=spec is None)
        except BaseException:
            if spec is not None:
                spec.abandon()
            raise
        with lock:
            planned.append(plan)
            replay = early[-1:]
        top = str(extra["top"])
        digests = list(dict.fromkeys([top, plan.instance]))
        present: Image | None = extra["present"]
        if present is not None:
            if spec is not None:
                spec.abandon()
            return self.store.tag_pulled(plan.ref, present.id, plan.repo_digest, digests), plan
        if progress is not None and replay:   # a speculative copy that got ahead still shows its layers
            progress(plan, replay[0])
        if spec is not None:
            with spec:
                streamed = spec.wait(cancel)
                if spec.manifest_digest() == plan.instance:
                    return self._import(spec.layout, spec.work, plan, digests, streamed), plan
        copy_target = Target(_target_name(target.name, plan.instance), target.insecure, target.cert_dir)
        with self.store.pull_dir() as work:
            layout = work / "layout"
            # Unpack while downloading, unless every layer is here already (then only the config is new).
            need = not plan.layers or any(not self.store.has_layer_blob(layer.digest) for layer in plan.layers)
            streams = StreamUnpacker(work) if self.stream and need else None
            try:
                self.client.copy(copy_target, layout, cred, on_copy, cancel,
                                 streams.on_blob if streams is not None else None)
            except BaseException:
                if streams is not None:
                    streams.finish(abort=True)
                raise
            streamed = streams.finish() if streams is not None else {}
            return self._import(layout, work, plan, digests, streamed), plan

    def _import(self, layout: Path, work: Path, plan: PullPlan, digests: list[str],
                streamed: dict[str, Streamed]) -> Image:
        try:
            return self.store.import_pulled(layout, work, plan.ref, plan.repo_digest, digests, streamed)
        except PodbayError as exc:
            raise PullError(str(exc)) from exc


class _Speculation:
    """A copy by tag running while the manifest is fetched (see Puller._pull_with)."""

    def __init__(self, puller: Puller, target: Target, cred: Credential | None,
                 on_copy: Callable[[CopyProgress], None] | None) -> None:
        self._stack = contextlib.ExitStack()
        self.work = self._stack.enter_context(puller.store.pull_dir())
        self.layout = self.work / "layout"
        self._streams = StreamUnpacker(self.work) if puller.stream else None
        self._cancel = threading.Event()
        self._error: PullError | None = None

        def run() -> None:
            try:
                puller.client.copy(target, self.layout, cred, on_copy, self._cancel,
                                   self._streams.on_blob if self._streams is not None else None)
            except PullError as exc:
                self._error = exc
            except Exception as exc:
                self._error = PullError(str(exc))

        self._thread = threading.Thread(target=run, name="pull-by-tag", daemon=True)
        self._thread.start()

    def wait(self, cancel: threading.Event | None) -> dict[str, Streamed]:
        while self._thread.is_alive():
            self._thread.join(0.05)
            if cancel is not None and cancel.is_set():
                self._cancel.set()
        streamed = self._streams.finish(abort=self._error is not None) if self._streams is not None else {}
        if self._error is not None:
            raise self._error
        return streamed

    def manifest_digest(self) -> str:
        try:
            index = json.loads((self.layout / "index.json").read_bytes())
            return str(index["manifests"][0]["digest"])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return ""

    def abandon(self) -> None:
        self._cancel.set()
        self._thread.join()
        if self._streams is not None:
            self._streams.finish(abort=True)
        self._stack.close()

    def __enter__(self) -> _Speculation:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()
        self._stack.close()


def certs_dir_lookup(certs_dir: str | None) -> Callable[[str], str | None]:
    """``<certs-dir>/<host[:port]>`` when that directory exists (c/image's certs.d layout)."""

    def lookup(host: str) -> str | None:
        if not certs_dir:
            return None
        d = Path(certs_dir) / host
        return str(d) if d.is_dir() else None

    return lookup


class RegistriesConfFile:
    """podbay's registries.conf on disk, re-parsed when it changes; a missing optional file is empty."""

    def __init__(self, path: Path, *, required: bool = False) -> None:
        self.path = Path(path)
        self.required = required
        self._stamp: tuple[float, int] | None = None
        self._conf = RegistriesConfig(source=str(self.path))

    def load(self) -> RegistriesConfig:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            if self.required:
                raise ConfigError(f"{self.path}: no such file (--registries-conf)") from None
            return RegistriesConfig(source=str(self.path))
        stamp = (st.st_mtime, st.st_size)
        if stamp != self._stamp:
            from podbay.images.registries_conf import parse

            self._conf = parse(self.path.read_text(), str(self.path))
            self._stamp = stamp
        return self._conf
