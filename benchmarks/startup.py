"""Start-up costs: plugin load cost per host (with vs without publish-plugins) and tool start-up floors.

"Without" is a venv of the same host from the same dependency group, without publish-plugins
(``.venvs/bench-<host>-bare``, created here when missing). Runs alternate with/without so drift of the
machine hits both alike.
"""

from __future__ import annotations

import os
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
# What any Python tool built on httpx and packaging pays before its first request: the run imports these
# lazily, so IMPORT_RUN_PATH alone no longer includes them.
IMPORT_STACK = "python -c 'import httpx, httpcore, packaging.metadata'"
COMMANDS: tuple[tuple[str, ...], ...] = (("--version",), ("publish", "--help"))


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)  # wall seconds
    cpu: list[float] = field(default_factory=list)  # user+system seconds
    failures: int = 0

    def add(self, measured: tuple[float, float] | None) -> None:
        if measured is None:
            self.failures += 1
        else:
            self.runs.append(measured[0])
            self.cpu.append(measured[1])

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
    # with - without of each alternating pair (wall, CPU): slow drift of a busy machine cancels out.
    paired: list[float] = field(default_factory=list)
    paired_cpu: list[float] = field(default_factory=list)
    # Modules only the venv with the plugin imports (-X importtime, self time, median µs of 5 runs).
    plugin_imports: dict[str, float] = field(default_factory=dict)

    @property
    def added(self) -> float:
        return self.with_plugin.median - self.without_plugin.median

    @property
    def added_paired(self) -> float:
        return statistics.median(self.paired) if self.paired else float("nan")

    @property
    def added_cpu(self) -> float:
        return statistics.median(self.paired_cpu) if self.paired_cpu else float("nan")

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


def time_command(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float] | None:
    """(wall, CPU) seconds of one run, None if it failed; CPU is user+system of the process (wait4)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return None
    return elapsed, usage.ru_utime + usage.ru_stime


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
            cost = LoadCost(host, f"{host} {' '.join(command)}", *pair)
            for index in range(runs):
                # ABBA order: the second run of a pair is measurably slower on this machine, so the
                # order alternates and that bias cancels in the paired differences.
                if index % 2 == 0:
                    mine, other = (time_command(argv, env, cwd) for argv in argvs)
                else:
                    other, mine = (time_command(argv, env, cwd) for argv in reversed(argvs))
                pair[0].add(mine)
                pair[1].add(other)
                if mine is not None and other is not None:
                    cost.paired.append(mine[0] - other[0])
                    cost.paired_cpu.append(mine[1] - other[1])
            cost.plugin_imports = _extra_imports([plugin, bare], host, list(command), env=env, cwd=cwd)
            report.results.append(cost)
            print(
                f"load cost {cost.command:<22} with {cost.with_plugin.median * 1000:7.1f} ms  "
                f"without {cost.without_plugin.median * 1000:7.1f} ms  added {cost.added * 1000:+6.1f} ms "
                f"(paired {cost.added_paired * 1000:+6.1f} ms, CPU {cost.added_cpu * 1000:+6.1f} ms; imports "
                f"{sum(cost.plugin_imports.values()) / 1000:.1f} ms)",
                flush=True,
            )
    return report


def _extra_imports(
    venvs: list[Path], host: str, command: list[str], *, env: dict[str, str], cwd: Path, runs: int = 5
) -> dict[str, float]:
    """Self import time (µs, median) of each module that only the first venv's host imports."""
    per_venv: list[dict[str, list[int]]] = []
    for venv in venvs:
        seen: dict[str, list[int]] = {}
        argv = [str(venv / "bin" / "python"), "-X", "importtime", str(venv / "bin" / host), *command]
        for _ in range(runs):
            done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
            for line in done.stderr.splitlines():
                parts = line.split("|")
                if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
                    continue
                seen.setdefault(parts[2].strip(), []).append(int(parts[0].split(":")[1]))
        per_venv.append(seen)
    mine, other = per_venv
    return {name: statistics.median(times) for name, times in sorted(mine.items()) if name not in other}


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
    commands[IMPORT_STACK] = [str(python), "-c", "import httpx, httpcore, packaging.metadata"]
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
            timing.add(time_command(argv, env, cwd))
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
