"""What the results were measured on: the machine, the version of every tool, the repository state."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .support import REPO_ROOT, servers
from .tools import Tool


def machine() -> dict[str, str]:
    return {
        "cpus": str(os.cpu_count()),
        "cpus usable": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?",
        "cpu model": _cpuinfo("model name"),
        "ram": _meminfo(),
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "os": _os_release(),
        "harness python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def _cpuinfo(key: str) -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _meminfo() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "?"


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"? ({exc})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else f"? (exit {done.returncode})"


def _package_versions(python: Path, names: Sequence[str]) -> str:
    code = (
        "import importlib.metadata as m\n"
        f"for n in {list(names)!r}:\n"
        "    try: print(n, m.version(n))\n"
        "    except m.PackageNotFoundError: pass\n"
    )
    try:
        done = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        return f"? ({exc})"
    return ", ".join(done.stdout.split("\n")).strip(", ") or "?"


def versions(tools: Sequence[Tool]) -> dict[str, str]:
    found: dict[str, str] = {}
    for tool in tools:
        if tool.path is None or tool.key in found or (tool.host and tool.host in found):
            continue
        python = tool.path.parent / "python"
        if tool.host is not None:
            found[tool.host] = _package_versions(python, [tool.host, "publish-plugins", "httpx", "hishel"])
        elif tool.key == "safe-publish":
            found[tool.key] = (
                _first_line([str(tool.path), "--version"])
                + " ("
                + _package_versions(python, ["httpx", "httpcore", "packaging"])
                + f"; {_first_line([str(python), '--version'])})"
            )
        elif tool.key == "curl":
            found[tool.key] = _first_line([str(tool.path), "--version"])
        else:
            found[tool.key] = _first_line([str(tool.path), "--version"])
    server = Path(servers.find_executable("pypi-server"))
    found["pypiserver"] = _package_versions(server.parent / "python", ["pypiserver", "watchdog", "waitress"])
    return found


def git_state() -> dict[str, str]:
    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            return ""
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": commit + (" (with uncommitted changes)" if dirty else "")}
