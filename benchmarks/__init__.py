"""Throughput benchmarks: ``python -m newsevents.benchmarks.run --articles N --device cpu|cuda --out FILE.json``."""
