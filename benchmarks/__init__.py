"""Benchmarks of publish-plugins against twine, uv, the hosts' own publish and a curl floor (issue 5).

Run from the repository root with ``python -m benchmarks`` (``--help`` for sizes and filters); the results
are written to ``benchmarks/RESULTS.md``. Nothing here is imported by the package or the tests.
"""
