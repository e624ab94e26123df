"""The package version, kept in one place for hatchling and the code."""

__version__ = "0.1.0"
