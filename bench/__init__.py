"""Benchmarks of rotation-domain against bare eventsourcing, measured in the same run.

Run ``.venv/bin/python bench/run.py [--quick]``; docs/benchmarks.md explains the figures.
"""
