"""Benchmark families: each module registers one with `@bench.registry.benchmark`."""
