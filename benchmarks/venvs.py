"""The environments the benchmarks need beyond ``make venv hosts``, created here when missing.

- ``.venvs/bench``: the peers (twine, uv), pypiserver with watchdog 2.1.9, the profilers and
  publish-plugins (editable), from ``requirements/bench.txt``; reinstalled when that file or
  ``pyproject.toml`` is newer than its stamp.
- ``.venvs/bench-<host>-bare``: a host from the dependency group ``host-<host>`` (pyproject.toml)
  without publish-plugins, the "without" side of the plugin load cost.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .support import REPO_ROOT

VENVS = REPO_ROOT / ".venvs"
BENCH_VENV = VENVS / "bench"
_BENCH_REQUIREMENTS = REPO_ROOT / "requirements" / "bench.txt"


def find_uv() -> Path | None:
    import shutil

    for candidate in (VENVS / "boot" / "bin" / "uv", BENCH_VENV / "bin" / "uv"):
        if candidate.exists():
            return candidate
    found = shutil.which("uv")
    return Path(found) if found else None


def _run(commands: list[list[str]]) -> str | None:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=1800)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return lines[-1] if lines else f"exit {done.returncode}"
    return None


def ensure_bench_venv(python: str = "python3") -> str | None:
    """Create or refresh .venvs/bench; None when it is ready, else why not (the run goes on without)."""
    stamp = BENCH_VENV / ".stamp"
    inputs = [_BENCH_REQUIREMENTS, REPO_ROOT / "pyproject.toml"]
    if stamp.exists() and all(p.stat().st_mtime <= stamp.stat().st_mtime for p in inputs):
        return None
    uv = find_uv()
    if uv is None:
        return "uv not found (.venvs/boot/bin/uv, PATH): run `make venv` first"
    print(f"preparing {BENCH_VENV} from {_BENCH_REQUIREMENTS.name}", flush=True)
    problem = _run(
        [
            [str(uv), "venv", "-q", "--allow-existing", "--python", python, str(BENCH_VENV)],
            [str(uv), "pip", "install", "-q", "--python", str(BENCH_VENV / "bin" / "python"),
             "-e", str(REPO_ROOT), "-r", str(_BENCH_REQUIREMENTS)],
        ]
    )  # fmt: skip
    if problem is None:
        stamp.touch()
    return problem


def ensure_bare_venv(host: str) -> tuple[Path | None, str | None]:
    """The host without the plugin: (venv, None), or (None, why it cannot be made)."""
    bare = VENVS / f"bench-{host}-bare"
    if (bare / "bin" / host).exists():
        return bare, None
    group = f"host-{host}"
    python = VENVS / host / "bin" / "python"
    uv = find_uv()
    if uv is None or not python.exists():
        return None, f"cannot create {bare.name}: needs uv and .venvs/{host} (`make hosts`)"
    print(f"creating {bare} from the dependency group {group}", flush=True)
    problem = _run(
        [
            # The same interpreter as the host venv with the plugin, so only the plugin differs.
            [str(uv), "venv", "-q", "--python", str(python.resolve()), str(bare)],
            [
                str(uv),
                "pip",
                "install",
                "-q",
                "--python",
                str(bare / "bin" / "python"),
                "--group",
                f"{REPO_ROOT / 'pyproject.toml'}:{group}",
            ],
        ]
    )
    if problem is not None:
        return None, f"creating {bare.name} failed: {problem}"
    return bare, None
