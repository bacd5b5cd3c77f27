"""The benchmarks keep running: each builds its workload and takes one step (no timing)."""
import pytest

from benchmarks import engine, gpt


@pytest.mark.parametrize("size", ["mini", "lesson"])
def test_gpt_benchmark_model_is_the_same_in_both_frameworks(size):
    """Same parameter count everywhere; one step of each at the (fast) lesson size."""
    steps = [gpt.training_step("minigrad", "auto", model, size) for model in ("gpt", "blocks")]
    pytest.importorskip("torch", reason="torch is the benchmark peer; pip install torch==2.13.0")
    torch_step, theirs = gpt.training_step("torch", "auto", size=size)
    assert [n_params for _, n_params in steps] == [theirs, theirs]
    if size == "lesson":
        for step, _ in steps:
            step()
        torch_step()


def test_gpt_benchmark_gives_both_frameworks_the_same_malloc_settings():
    import minigrad
    tuned = gpt.malloc_environment("tuned")
    assert tuned == {"MALLOC_MMAP_THRESHOLD_": str(minigrad.MALLOC_SETTINGS["M_MMAP_THRESHOLD"]),
                     "MALLOC_TRIM_THRESHOLD_": str(minigrad.MALLOC_SETTINGS["M_TRIM_THRESHOLD"])}
    assert gpt.malloc_environment("default") == {"MINIGRAD_TUNE_MALLOC": "0"}


def test_engine_benchmark_workloads_run():
    X, y, params = engine.mlp_data()
    engine.mlp_minigrad(X, y, params)()
    engine.mlp_numpy(X, y, [p.copy() for p in params])
    engine.chain_minigrad()


def test_kernel_benchmark_cases_run_on_the_reference():
    from benchmarks import kernels
    from minigrad.kernels import reference
    for name, _, forward, both, _ in kernels.cases(torch=None):
        forward(reference)
        both(reference)
