"""Throughput benchmarks: ``python -m benchmarks.run --articles N --device cpu|cuda --out FILE.json``."""
