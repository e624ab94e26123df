"""Which CI this runs on, among those whose OIDC identity trusted publishing can use (standard library only:
front ends ask before they decide whether to prompt for a password)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["SUPPORTED_CIS", "detected_ci"]

# The CIs whose OIDC identity the ``id`` package can take, by the variable each one sets.
_CI_VARIABLES: Mapping[str, str] = {
    "GITHUB_ACTIONS": "GitHub Actions",
    "GITLAB_CI": "GitLab CI",
    "BUILDKITE": "Buildkite",
    "CIRCLECI": "CircleCI",
    "GOOGLE_SERVICE_ACCOUNT_NAME": "Google Cloud",
}
_GOOGLE_PRODUCT_FILE = Path("/sys/class/dmi/id/product_name")  # where ``id`` recognises a Google VM
SUPPORTED_CIS = "GitHub Actions, GitLab CI, Google Cloud, Buildkite or CircleCI"


def detected_ci(environ: Mapping[str, str] | None = None) -> str | None:
    """The CI this runs on, if it is one whose OIDC identity can be had; None elsewhere."""
    environ = os.environ if environ is None else environ
    for variable, name in _CI_VARIABLES.items():
        if environ.get(variable):
            return name
    try:
        product = _GOOGLE_PRODUCT_FILE.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return "Google Cloud" if product in ("Google", "Google Compute Engine") else None
