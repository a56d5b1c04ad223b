"""The load runner and the benchmarks."""
