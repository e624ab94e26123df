"""Sizes and repeat counts (command-line flags; ``--quick`` for a smoke test)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Config:
    release_wheels: int = 13
    wheel_mib: float = 8.0
    big_mib: float = 512.0
    s6_files: int = 200
    s6_projects: int = 20
    small_kib: float = 16.0
    conflict_index: int = 3  # S3b: the conflicting wheel's place in upload order (0 = first)
    repeats: int = 5  # on loopback
    # B1/B2 (512 MiB, bound by pypiserver at about 90 MB/s) and S6 for PDM and poetry (one invocation per
    # project) take most of a run's time.
    big_repeats: int = 5
    per_project_repeats: int = 5
    # The remote conditions (issue 15): a round trip per new connection and per request, as from a CI
    # runner to PyPI; at most this many runs per tool and scenario there (the run-to-run spread is smaller
    # there than the differences measured, and each condition adds a loopback run's time); B1/B2 keep
    # big_repeats there.
    rtt_ms: float = 40.0
    remote_repeats: int = 3
    load_runs: int = 20
    startup_runs: int = 10
    hash_mib: int = 512
    hash_repeats: int = 3
    scaling: bool = True  # S6 with twice the files and twice the projects (ours + uv)
    profile: bool = True  # pyinstrument + import-time of safe-publish (evidence for misses)

    def quick(self) -> Config:
        return replace(
            self,
            wheel_mib=1.0,
            big_mib=32.0,
            s6_files=40,
            s6_projects=4,
            small_kib=4.0,
            repeats=1,
            big_repeats=1,
            per_project_repeats=1,
            load_runs=3,
            startup_runs=3,
            hash_mib=64,
            hash_repeats=1,
        )
