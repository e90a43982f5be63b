"""The version podbay's API reports (``/version``, the Node's kubeletVersion): the Kubernetes API
level it serves (the v1.37 schemas) with podbay's own version as a pre-release tag."""

from __future__ import annotations

from podbay import __version__
from podbay.api.schema import KUBERNETES_VERSION

MAJOR, MINOR = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
GIT_VERSION = f"{KUBERNETES_VERSION}-podbay.{__version__}"


def version_info(platform: str = "linux/amd64") -> dict[str, str]:
    return {"major": MAJOR, "minor": MINOR, "gitVersion": GIT_VERSION, "gitCommit": "", "gitTreeState": "",
            "buildDate": "", "goVersion": "", "compiler": "", "platform": platform,
            "emulationMajor": MAJOR, "emulationMinor": MINOR, "minCompatibilityMajor": MAJOR,
            "minCompatibilityMinor": str(max(0, int(MINOR) - 1)), "podbayVersion": __version__}
