"""Start-up costs: plugin load cost per host (with vs without publish-plugins) and tool start-up floors.

"Without" is a venv of the same host from the same requirements file, without publish-plugins
(``.venvs/bench-<host>-bare``, created here when missing). Runs alternate with/without so drift of the
machine hits both alike.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .harness import clean_env
from .tools import find_executable
from .venvs import BENCH_VENV, VENVS, ensure_bare_venv

HOSTS = ("hatch", "pdm", "poetry")
IMPORT_RUN_PATH = "python -c 'import publish_plugins.frontends.cli; from publish_plugins import publish'"
COMMANDS: tuple[tuple[str, ...], ...] = (("--version",), ("publish", "--help"))


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def low(self) -> float:
        return min(self.runs) if self.runs else float("nan")

    @property
    def high(self) -> float:
        return max(self.runs) if self.runs else float("nan")


@dataclass
class LoadCost:
    host: str
    command: str
    with_plugin: Timing
    without_plugin: Timing

    @property
    def added(self) -> float:
        return self.with_plugin.median - self.without_plugin.median

    @property
    def added_min(self) -> float:
        return self.with_plugin.low - self.without_plugin.low


@dataclass
class LoadCostReport:
    results: list[LoadCost] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # host -> why it was not measured
    differences: dict[str, list[str]] = field(default_factory=dict)  # host -> packages that differ


def _installed(venv: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )
    import json

    return json.loads(done.stdout) if done.returncode == 0 else {}


def _host_env(host: str, home: Path) -> dict[str, str]:
    extra = {
        "hatch": {
            "HATCH_CONFIG": str(home / "hatch" / "config.toml"),
            "HATCH_DATA_DIR": str(home / "hatch" / "data"),
            "HATCH_CACHE_DIR": str(home / "hatch" / "cache"),
        },
        "pdm": {
            "PDM_HOME": str(home / "pdm" / "home"),
            "PDM_CACHE_DIR": str(home / "pdm" / "cache"),
            "PDM_CONFIG_FILE": str(home / "pdm" / "config.toml"),
            "PDM_CHECK_UPDATE": "false",
        },
        "poetry": {
            "POETRY_CONFIG_DIR": str(home / "poetry" / "config"),
            "POETRY_CACHE_DIR": str(home / "poetry" / "cache"),
            "POETRY_DATA_DIR": str(home / "poetry" / "data"),
        },
    }[host]
    if host == "hatch":  # hatch refuses a HATCH_CONFIG that does not exist
        (home / "hatch").mkdir(parents=True, exist_ok=True)
        (home / "hatch" / "config.toml").touch()
    return clean_env(extra, home)


def time_command(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float | None:
    start = time.perf_counter()
    done = subprocess.run(
        list(argv), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    elapsed = time.perf_counter() - start
    return elapsed if done.returncode == 0 else None


def measure_load_cost(root: Path, runs: int) -> LoadCostReport:
    report = LoadCostReport()
    for host in HOSTS:
        plugin = VENVS / host
        if not (plugin / "bin" / host).exists():
            report.problems[host] = f".venvs/{host} is missing (`make hosts`)"
            continue
        bare, problem = ensure_bare_venv(host)
        if bare is None:
            report.problems[host] = problem or "no bare venv"
            continue
        with_pkgs, bare_pkgs = _installed(plugin), _installed(bare)
        if "publish-plugins" not in with_pkgs:
            report.problems[host] = f"publish-plugins is not installed in .venvs/{host}"
            continue
        report.differences[host] = sorted(
            f"{name} {with_pkgs.get(name, '-')} vs {bare_pkgs.get(name, '-')}"
            for name in set(with_pkgs) | set(bare_pkgs)
            if name != "publish-plugins" and with_pkgs.get(name) != bare_pkgs.get(name)
        )
        home = root / "home" / f"load-{host}"
        env = _host_env(host, home)
        cwd = root / "cwd"
        cwd.mkdir(parents=True, exist_ok=True)
        for command in COMMANDS:
            pair = (Timing(), Timing())
            argvs = [[str(venv / "bin" / host), *command] for venv in (plugin, bare)]
            for argv in argvs:  # warm-up: bytecode caches, first-run config files
                time_command(argv, env, cwd)
            for _ in range(runs):
                for timing, argv in zip(pair, argvs, strict=True):
                    elapsed = time_command(argv, env, cwd)
                    if elapsed is None:
                        timing.failures += 1
                    else:
                        timing.runs.append(elapsed)
            cost = LoadCost(host, f"{host} {' '.join(command)}", *pair)
            report.results.append(cost)
            print(
                f"load cost {cost.command:<22} with {cost.with_plugin.median * 1000:7.1f} ms  "
                f"without {cost.without_plugin.median * 1000:7.1f} ms  added {cost.added * 1000:+6.1f} ms",
                flush=True,
            )
    return report


def measure_startup(root: Path, runs: int, python: Path, safe_publish: Path | None) -> dict[str, Timing]:
    """Start-up floors of the standalone tools, and the import cost of the core."""
    commands: dict[str, list[str]] = {
        "python -c pass": [str(python), "-c", "pass"],
        # The public API, so that a rename inside the core does not break the measurement.
        IMPORT_RUN_PATH: [
            str(python),
            "-c",
            "import publish_plugins.frontends.cli; from publish_plugins import publish",
        ],
    }
    if safe_publish is not None:
        commands["safe-publish --version"] = [str(safe_publish), "--version"]
    for name in ("uv", "twine"):
        found = find_executable(name, BENCH_VENV)
        if found is not None:
            commands[f"{name} --version"] = [str(found), "--version"]
    curl = find_executable("curl", None)
    if curl is not None:
        commands["curl --version"] = [str(curl), "--version"]
    env = clean_env({}, root / "home" / "startup")
    cwd = root / "cwd"
    cwd.mkdir(parents=True, exist_ok=True)
    timings: dict[str, Timing] = {}
    for argv in commands.values():
        time_command(argv, env, cwd)
    for name, argv in commands.items():
        timing = Timing()
        for _ in range(runs):
            elapsed = time_command(argv, env, cwd)
            if elapsed is None:
                timing.failures += 1
            else:
                timing.runs.append(elapsed)
        timings[name] = timing
        print(f"start-up {name:<45} {timing.median * 1000:7.1f} ms", flush=True)
    return timings


def python_of(executable: Path) -> Path:
    """The interpreter of a console script's venv (its shebang), else this one."""
    try:
        first = executable.read_bytes()[:256].split(b"\n", 1)[0]
    except OSError:
        return Path(sys.executable)
    if first.startswith(b"#!"):
        candidate = Path(first[2:].decode().strip().split()[0])
        if candidate.exists():
            return candidate
    return Path(sys.executable)
