"""The scenarios (issue 5's S1-S6, under issue 15's names) and the loop that measures every tool on them.

Names: S1 fresh release; S2 re-publish, all identical; S2e re-publish, all rebuilt (equivalent archives);
S3b one conflicting file in the middle (issue 5's S3); S4 half new; B1/B2 one large wheel, fresh then
again (issue 5's S5 fresh/again); S6 preflight of many small files over many projects.

Each measured run: a fresh pypiserver (fresh package folder) holding the scenario's "already published"
files, warmed, a fresh relay (with the condition's round trips and TLS), then the tool. Each scenario is
measured under each condition in turn; repeats are interleaved across tools (repeat 1 of every tool, then
repeat 2 …), so slow drift of the machine spreads over all tools alike.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import fixtures
from .config import Config
from .fixtures import KIB, MIB, DistFile, FileSet
from .harness import Condition, RunResult, ServerPool, TestCA, fill_result, run_invocations
from .tools import Context, Tool

# Issue 5's names, still taken on the command line.
ALIASES = {"S3": "S3b", "S5": "B", "B1": "B", "B2": "B"}
ORDER = ("S1", "S2", "S2e", "S3b", "S4", "B", "S6")


@dataclass
class Scenario:
    key: str
    title: str
    local: FileSet
    preload: list[Path]
    repeats: int
    phases: tuple[str, ...] = ("",)  # B: "B1" (fresh) then "B2" (again) on the same server
    only: frozenset[str] | None = None  # restrict to these tools (the S6 scaling variants)
    per_project_repeats: int | None = None  # fewer runs for tools that run once per project (S6)
    # Runs under the remote conditions when not the run's --remote-repeats: B1 is within 10 % of the curl
    # floor there, closer than three runs of a 512 MiB upload to pypiserver can tell apart.
    remote_repeats: int | None = None

    def rows(self) -> list[str]:
        return [phase or self.key for phase in self.phases]

    def describe(self) -> dict[str, object]:
        return {
            "title": self.title,
            "files": len(self.local.files),
            "bytes": self.local.total_bytes,
            "projects": len(self.local.projects),
            "preloaded": len(self.preload),
            "repeats": self.repeats,
            "only": sorted(self.only) if self.only else None,
        }


def build_scenarios(config: Config, root: Path, wanted: Sequence[str]) -> list[Scenario]:
    """Generate the distributions and lay out the scenarios (only those in ``wanted``)."""
    made = root / "dists"
    projects = root / "projects"
    scenarios: list[Scenario] = []
    need_release = any(key in wanted for key in ("S1", "S2", "S2e", "S3b", "S4"))
    if need_release:
        _log(f"generating the release: {config.release_wheels} wheels of {config.wheel_mib:g} MiB + an sdist")
        release = fixtures.release(
            made / "release", "bench-release", config.release_wheels, int(config.wheel_mib * MIB), seed=1
        )
        release_set = fixtures.project_dirs(projects, "release", release)
        paths = [f.path for f in release]
        if "S1" in wanted:
            scenarios.append(Scenario("S1", "fresh upload of the release", release_set, [], config.repeats))
        if "S2" in wanted:
            scenarios.append(
                Scenario(
                    "S2", "re-publish, every file identical on the index", release_set, paths, config.repeats
                )
            )
        if "S2e" in wanted:
            _log("rebuilding the release: same files inside, other bytes (times)")
            rebuilt = [fixtures.rebuilt(item, made / "rebuilt") for item in release]
            title = (
                "re-publish, every file on the index rebuilt (same files inside, other bytes): "
                "the equivalent-archive verdict, one download per file"
            )
            scenarios.append(
                Scenario("S2e", title, release_set, [item.path for item in rebuilt], config.repeats)
            )
        if "S3b" in wanted:
            conflict = _conflicting(made / "conflict", release, config)
            title = (
                f"one file with the same name, different content (upload position "
                f"{config.conflict_index + 1} of {len(release)}), the rest new"
            )
            scenarios.append(Scenario("S3b", title, release_set, [conflict.path], config.repeats))
        if "S4" in wanted:
            half = paths[::2]
            title = f"half new, half present ({len(half)} of {len(paths)} identical on the index)"
            scenarios.append(Scenario("S4", title, release_set, half, config.repeats))
    if "B" in wanted:
        _log(f"generating the large wheel: {config.big_mib:g} MiB")
        big = fixtures.wheel(
            made / "big", "bench-big", "1.0.0", tag="py3-none-any", size=int(config.big_mib * MIB), seed=7
        )
        big_set = fixtures.project_dirs(projects, "big", [big])
        title = f"one wheel of {config.big_mib:g} MiB: fresh (B1), then again on the same index (B2)"
        scenarios.append(
            Scenario(
                "B", title, big_set, [], config.big_repeats, ("B1", "B2"), remote_repeats=config.big_repeats
            )
        )
    if "S6" in wanted:
        base = _many(made, projects, "S6", files=config.s6_files, count=config.s6_projects, config=config)
        title = f"preflight: {config.s6_files} small files over {config.s6_projects} projects, all present"
        preload = [f.path for f in base.files]
        scenarios.append(
            Scenario(
                "S6", title, base, preload, config.repeats, per_project_repeats=config.per_project_repeats
            )
        )
        if config.scaling:
            only = frozenset({"safe-publish", "uv"})
            for key, files, count in (
                ("S6 x2 files", config.s6_files * 2, config.s6_projects),
                ("S6 x2 projects", config.s6_files, config.s6_projects * 2),
            ):
                folder = key.replace(" ", "-")
                fileset = _many(made, projects, folder, files=files, count=count, config=config)
                title = f"scaling: {files} small files over {count} projects, all present"
                preload = [f.path for f in fileset.files]
                scenarios.append(Scenario(key, title, fileset, preload, config.repeats, only=only))
    return scenarios


def _conflicting(folder: Path, release: list[DistFile], config: Config) -> DistFile:
    wheels = [f for f in release if f.filetype == "bdist_wheel"]
    if not 0 <= config.conflict_index < len(wheels):
        raise SystemExit(f"--conflict-index must be between 0 and {len(wheels) - 1}")
    original = wheels[config.conflict_index]
    tag = "-".join(original.filename[:-4].split("-")[-3:])
    size = int(config.wheel_mib * MIB)
    return fixtures.wheel(folder, original.name, original.version, tag=tag, size=size, seed=10_000)


def _many(made: Path, projects: Path, key: str, *, files: int, count: int, config: Config) -> FileSet:
    if count < 1 or files < count * 2:
        raise SystemExit("S6 needs at least two files per project")
    per_project = files // count
    if per_project - 1 > len(fixtures.WHEEL_TAGS):
        raise SystemExit(f"S6: at most {len(fixtures.WHEEL_TAGS) + 1} files per project")
    _log(f"generating {key}: {per_project * count} files over {count} projects")
    built: list[DistFile] = []
    for index in range(count):
        name = f"bench-many-{index:03d}"
        built += fixtures.release(
            made / key / name, name, per_project - 1, int(config.small_kib * KIB), seed=index * 100
        )
    built.sort(key=lambda f: (f.filetype == "sdist", f.filename))
    return fixtures.project_dirs(projects, key, built)


@dataclass
class RunLog:
    """Every measured run, by row (scenario, phase) and tool."""

    runs: dict[str, dict[str, dict[str, list[RunResult]]]] = field(default_factory=dict)  # condition, row

    def add(self, condition: str, row: str, tool: str, result: RunResult) -> None:
        self.runs.setdefault(condition, {}).setdefault(row, {}).setdefault(tool, []).append(result)

    def count(self, condition: str, row: str, tool: str) -> int:
        return len(self.runs.get(condition, {}).get(row, {}).get(tool, []))


def run_all(
    scenarios: Sequence[Scenario],
    tools: Sequence[Tool],
    root: Path,
    runlog: RunLog,
    *,
    conditions: Sequence[Condition],
    ca: TestCA | None,
    remote_repeats: int,
) -> None:
    pool = ServerPool(root / "servers")
    try:
        for scenario in scenarios:
            chosen = [
                t for t in tools if t.unavailable is None and (not scenario.only or t.key in scenario.only)
            ]
            for condition in conditions:
                repeats = scenario.repeats
                if condition.rtt > 0:
                    repeats = scenario.remote_repeats or min(scenario.repeats, remote_repeats)
                for repeat in range(repeats):
                    for tool in chosen:
                        limit = scenario.per_project_repeats if tool.per_project else None
                        if limit is not None and repeat >= limit:
                            continue
                        _run_one(scenario, tool, repeat, condition, ca, pool=pool, root=root, runlog=runlog)
    finally:
        pool.close()


def _run_one(
    scenario: Scenario,
    tool: Tool,
    repeat: int,
    condition: Condition,
    ca: TestCA | None,
    *,
    pool: ServerPool,
    root: Path,
    runlog: RunLog,
) -> None:
    rows = scenario.rows()
    try:
        with pool.run(scenario.preload, scenario.local.project_names, condition, ca) as server:
            for index, row in enumerate(rows):
                if index:
                    server.fresh_proxy()
                ctx = Context(
                    server.upload_url,
                    server.simple_url,
                    scenario.local,
                    root / "home" / tool.key,
                    root / "cwd",
                    ca.ca_cert if condition.tls and ca is not None else None,
                )
                ctx.workdir.mkdir(parents=True, exist_ok=True)
                name = f"{condition.key}-{row.replace(' ', '_')}-{tool.key}-{repeat + 1}.log"
                log = root / "logs" / name
                result = run_invocations(tool.invocations(ctx), log)
                fill_result(result, server)
                result.log = str(log)
                runlog.add(condition.key, row, tool.key, result)
                _log(
                    f"{condition.label:<12} {row:<15} {tool.key:<14} #{repeat + 1}: {result.wall:7.3f} s  "
                    f"exit {result.exit_code}  sent {result.upload_bytes / MIB:8.1f} MiB  "
                    f"{result.uploads:3d} POST {result.index_requests:3d} index GET  "
                    f"cpu {result.cpu:5.2f} s  rss {result.max_rss_kib / 1024:6.1f} MiB"
                )
    except Exception as exc:  # a broken run is recorded, the benchmark goes on
        message = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        for row in rows:
            if runlog.count(condition.key, row, tool.key) <= repeat:
                runlog.add(condition.key, row, tool.key, RunResult(exit_code=-1, error=message))


def _log(text: str) -> None:
    print(text, flush=True)
