"""The one timing helper: the median of several repeats, after a warm-up."""
import statistics
import time

__all__ = ["median_time", "torch_or_none", "print_table"]


def median_time(fn, repeats=7, warmup=2, inner=1):
    """Median seconds per call of ``fn`` over ``repeats`` timings of ``inner`` calls each."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def torch_or_none(threads=1):
    """PyTorch (the benchmark peer) with ``threads`` threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def print_table(title, rows, columns):
    """Print rows (dicts) as an aligned text table."""
    print(f"\n{title}")
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(w) for c, w in zip(columns, widths)))
