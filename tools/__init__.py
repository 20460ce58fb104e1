"""Command-line tools (benchmarks, quality tables, studies); a package only so that tests can
import them. Not installed with the garden: run them from a checkout."""
