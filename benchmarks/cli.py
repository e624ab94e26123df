"""``python -m benchmarks``: measure, then write benchmarks/RESULTS.md (and the raw figures as JSON)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import environment, profiling, report, startup, venvs
from .config import Config
from .fixtures import MIB
from .harness import Condition, ServerPool, TestCA, conditions
from .scenarios import ALIASES, ORDER, RunLog, build_scenarios, run_all
from .support import REPO_ROOT, dists, tls
from .tools import CA_HOW, Tool, all_tools, display_command

SCENARIOS = ORDER
CONDITIONS = ("loopback", "rtt", "tls")
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "RESULTS.md"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark publish-plugins against twine, uv, the hosts' own publish and a curl floor, "
        "on loopback and against a remote index with and without TLS (issues 5 and 15); writes "
        "benchmarks/RESULTS.md.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, single runs: a smoke test")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {', '.join(SCENARIOS)} (S3 = S3b, S5 = B1/B2 = B)",
    )
    parser.add_argument(
        "--conditions",
        default=",".join(CONDITIONS),
        help="comma-separated subset of loopback, rtt (a round trip of --rtt-ms per connection and "
        "request), tls (the same over TLS); default: all three",
    )
    parser.add_argument("--tools", help="comma-separated tool keys (default: all); see --list-tools")
    parser.add_argument("--list-tools", action="store_true", help="print the tool keys and exit")
    sizes = parser.add_argument_group("sizes and repeats (defaults: the issue's; --quick lowers them)")
    for field in fields(Config):
        if field.type in ("bool",):
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = float if field.type == "float" else int
        sizes.add_argument(flag, type=kind, default=None, metavar="N", help=f"default {field.default}")
    parts = parser.add_argument_group("parts")
    parts.add_argument(
        "--no-setup", action="store_true", help="do not create or refresh .venvs/bench (use what is there)"
    )
    parts.add_argument("--no-scaling", action="store_true", help="skip the S6 x2 files / x2 projects rows")
    parts.add_argument("--no-load-cost", action="store_true", help="skip the plugin load cost")
    parts.add_argument("--no-startup", action="store_true", help="skip the start-up floors")
    parts.add_argument("--no-hashing", action="store_true", help="skip the hashing micro-benchmark")
    parts.add_argument("--no-profile", action="store_true", help="skip py-spy / import-time profiles")
    out = parser.add_argument_group("output")
    out.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results file (default %(default)s)")
    out.add_argument("--json", type=Path, help="also write the raw figures here")
    out.add_argument(
        "--render", type=Path, metavar="JSON", help="only re-render the results from saved figures"
    )
    out.add_argument(
        "--workdir", type=Path, help="work folder (default: a new temporary folder, removed after)"
    )
    out.add_argument("--keep", action="store_true", help="keep the work folder (logs, profiles)")
    return parser


def _config(args: argparse.Namespace) -> Config:
    config = Config().quick() if args.quick else Config()
    overrides = {
        f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name, None) is not None
    }
    overrides["scaling"] = config.scaling and not args.no_scaling
    overrides["profile"] = config.profile and not args.no_profile
    return Config(**{**asdict(config), **overrides})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tools = all_tools()
    if args.list_tools:
        for tool in tools:
            print(f"{tool.key:<14} {tool.label}")
        return 0
    if args.render:
        data = json.loads(args.render.read_text())
        args.output.write_text(report.render(data))
        print(f"wrote {args.output}")
        return 0
    config = _config(args)
    wanted = [ALIASES.get(s.strip(), s.strip()) for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SCENARIOS]
    if unknown:
        print(
            f"error: unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}",
            file=sys.stderr,
        )
        return 2
    every = conditions(config.rtt_ms)
    chosen = [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in every]
    if unknown or not chosen:
        print(
            f"error: unknown condition(s) {', '.join(unknown)}; choose from {', '.join(every)}",
            file=sys.stderr,
        )
        return 2
    picked = [every[key] for key in CONDITIONS if key in chosen]
    if args.tools:
        keys = {t.strip() for t in args.tools.split(",")}
        unknown = sorted(keys - {t.key for t in tools})
        if unknown:
            print(f"error: unknown tool(s) {', '.join(unknown)}; see --list-tools", file=sys.stderr)
            return 2
        tools = [t for t in tools if t.key in keys]
    root = args.workdir or Path(tempfile.mkdtemp(prefix="pp-bench-", dir=_scratch_dir()))
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    try:
        data = _measure(args, config, wanted, tools, root=root, picked=picked)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
        elif args.keep:
            print(f"work folder kept: {root}")
    text = json.dumps(data, indent=1, default=str)
    if args.json:
        args.json.write_text(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report.render(data))
    print(f"wrote {args.output}")
    return 0


def _measure(
    args: argparse.Namespace,
    config: Config,
    wanted: list[str],
    tools: list[Tool],
    *,
    root: Path,
    picked: list[Condition],
) -> dict[str, Any]:
    started = time.time()
    load_start = _loadavg()
    if not args.no_setup:
        problem = venvs.ensure_bench_venv()
        if problem is not None:
            print(f"warning: .venvs/bench not ready ({problem}); tools missing there are not measured")
    print(f"work folder {root}; config {asdict(config)}", flush=True)
    for tool in tools:
        tool.locate()
        if tool.unavailable is None and tool.probe is not None:
            tool.unavailable = tool.probe(tool, root / "home" / f"probe-{tool.key}")
        state = "ok" if tool.unavailable is None else f"UNAVAILABLE: {tool.unavailable}"
        print(f"tool {tool.key:<14} {tool.path or ''}  {state}", flush=True)
    ca = tls.make_ca(root / "tls") if any(c.tls for c in picked) else None
    if ca is not None:
        print(f"test CA made with {ca.made_with}: {ca.ca_cert}", flush=True)
    scenarios = build_scenarios(config, root, wanted)
    runlog = RunLog()
    run_all(scenarios, tools, root, runlog, conditions=picked, ca=ca, remote_repeats=config.remote_repeats)
    data: dict[str, Any] = {
        "command": _command_line(),
        "started": datetime.fromtimestamp(started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "git": environment.git_state(),
        "config": asdict(config),
        "machine": environment.machine(),
        "versions": environment.versions(tools),
        "tools": {
            t.key: {
                "label": t.label,
                "family": t.family,
                "host": t.host,
                "path": str(t.path) if t.path else None,
                "unavailable": t.unavailable,
                "command": display_command(t, scenarios[0].local, root / "display")
                if t.path and scenarios
                else "",
            }
            for t in tools
        },
        "scenarios": {row: {**s.describe(), "row": row} for s in scenarios for row in s.rows()},
        "conditions": {c.key: c.describe() for c in picked},
        "ca": {"made_with": ca.made_with, "how": CA_HOW} if ca is not None else None,
        "runs": {
            condition: {
                row: {tool: [asdict(r) for r in results] for tool, results in by_tool.items()}
                for row, by_tool in by_row.items()
            }
            for condition, by_row in runlog.runs.items()
        },
    }
    _fix_logs(data, root, keep=args.keep or args.workdir is not None)
    safe_publish = next((t for t in tools if t.key == "safe-publish" and t.path), None)
    python = (
        startup.python_of(safe_publish.path) if safe_publish and safe_publish.path else Path(sys.executable)
    )
    if not args.no_load_cost:
        data["load_cost"] = asdict(startup.measure_load_cost(root, config.load_runs))
    if not args.no_startup:
        timings = startup.measure_startup(
            root, config.startup_runs, python, safe_publish.path if safe_publish else None
        )
        data["startup"] = {name: asdict(t) for name, t in timings.items()}
    if not args.no_hashing:
        data["hashing"] = _hashing(root, config, python)
    if config.profile and safe_publish is not None and safe_publish.unavailable is None:
        data["profiles"] = _profiles(scenarios, safe_publish, python, root, picked=picked, ca=ca)
    data["duration_s"] = time.time() - started
    data["workdir"] = str(root)
    data["load_average"] = {"start": load_start, "end": _loadavg()}
    return data


def _fix_logs(data: dict[str, Any], root: Path, *, keep: bool) -> None:
    # Log files vanish with a temporary work folder: keep the note now, while they exist.
    for by_row in data["runs"].values():
        for by_tool in by_row.values():
            for results in by_tool.values():
                for result in results:
                    if result.get("log"):
                        result["note"] = report._note(result["log"])
    data["logs_kept"] = keep


def _hashing(root: Path, config: Config, python: Path) -> dict[str, Any]:
    import subprocess

    path = root / "hash-input.bin"
    print(f"hashing micro-benchmark on {config.hash_mib} MiB with {python}", flush=True)
    with path.open("wb") as stream:
        for chunk in dists.random_chunks(config.hash_mib * MIB, seed=3):
            stream.write(chunk)
    script = Path(__file__).with_name("hashbench.py")
    done = subprocess.run(
        [str(python), str(script), str(path), str(config.hash_repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    path.unlink()
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout)
    for name, seconds in result["seconds"].items():
        print(f"  {name:<52} {result['size'] / seconds / 1e9:5.2f} GB/s", flush=True)
    return result


def _profiles(
    scenarios: list[Any], tool: Tool, python: Path, root: Path, *, picked: list[Condition], ca: TestCA | None
) -> dict[str, Any]:
    profiles: dict[str, Any] = {"imports": profiling.import_times(python, root)}
    pool = ServerPool(root / "servers-profile")
    # The start-up bound rows on loopback; the large upload on loopback and, where measured, over TLS.
    wanted = [("S1", "loopback"), ("S2", "loopback"), ("S6", "loopback"), ("B", "loopback"), ("B", "tls")]
    by_key = {c.key: c for c in picked}
    try:
        for scenario in scenarios:
            if scenario.key == "S2":
                print("imports of safe-publish on S2 (-X importtime)", flush=True)
                try:
                    profiles["S2 imports"] = profiling.run_imports(scenario, tool, python, pool, root)
                except Exception as exc:
                    profiles["S2 imports"] = {"error": f"{type(exc).__name__}: {exc}"}
            for key, condition_key in wanted:
                condition = by_key.get(condition_key)
                if scenario.key != key or condition is None:
                    continue
                name = scenario.rows()[0] + ("" if condition.key == "loopback" else f" ({condition.label})")
                print(f"profiling safe-publish on {name} (py-spy)", flush=True)
                try:
                    profiles[name] = profiling.profile_run(
                        scenario, tool, python, pool, root, condition=condition, ca=ca
                    )
                except Exception as exc:
                    profiles[name] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        pool.close()
    return profiles


def _scratch_dir() -> str | None:
    """/dev/shm when it is a roomy tmpfs: the index writes every upload (512 MiB for S5) to its package
    folder, and disk write-back then adds seconds of noise to the server's answer; None: the default."""
    shm = Path("/dev/shm")
    try:
        roomy = shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= 4 * 1024**3
    except OSError:
        return None
    return str(shm) if roomy else None


def _command_line() -> str:
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(REPO_ROOT))
    except ValueError:
        shown = str(python)
    return shlex.join([shown, "-m", "benchmarks", *sys.argv[1:]])


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"
