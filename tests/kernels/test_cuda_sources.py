"""The CUDA sources compile, and define every kernel the Python side looks up — without a GPU.

``nvcc`` compiles each configuration that ``cupy_gpu.py`` may ask CuPy for (every .cu file per
dtype, attention per head-dim bucket: ``cuda_sources.configurations()``), from the same text
CuPy gets (``cuda_sources.source``: headers inlined), to PTX and then through ``ptxas`` (which
rejects, for instance, more than 48 KB of static shared memory). The PTX entry names are then
held against ``cuda_sources.KERNELS`` and against every name ``cupy_gpu.py`` asks for: a
kernel renamed on one side only fails here, not first on a GPU machine.
"""
import concurrent.futures
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from minigrad.kernels import cuda_sources

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc (the CUDA compiler) is not on PATH; "
                                "install the CUDA toolkit to compile the GPU kernels")
CUPY_GPU = pathlib.Path(cuda_sources.__file__).with_name("cupy_gpu.py")
CONFIGS = cuda_sources.configurations()


def config_id(config):
    file, dtype, head_dim_max = config
    return f"{file}-{dtype}" + ("" if head_dim_max is None else f"-d{head_dim_max}")


def target_arch():
    """The virtual architecture to compile for: sm_90 (H100/H200) if this nvcc knows it."""
    listed = subprocess.run([NVCC, "--list-gpu-arch"], capture_output=True, text=True).stdout.split()
    for arch in ("compute_90", "compute_80"):
        if arch in listed:
            return arch[len("compute_"):]
    return listed[0][len("compute_"):]


def compile_config(config, workdir, arch):
    """nvcc --ptx, then ptxas: (ok, messages, ptx text)."""
    file, dtype, head_dim_max = config
    stem = workdir / config_id(config).replace(".", "_")
    stem.with_suffix(".cu").write_text(cuda_sources.source(file))
    ptx = stem.with_suffix(".ptx")
    steps = [[NVCC, "--ptx", f"-arch=compute_{arch}", *cuda_sources.defines(file, dtype, head_dim_max),
              "-o", str(ptx), str(stem.with_suffix(".cu"))],
             [os.path.join(os.path.dirname(NVCC), "ptxas"), f"-arch=sm_{arch}", str(ptx),
              "-o", str(stem.with_suffix(".cubin"))]]
    for command in steps:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            return False, f"{' '.join(command)}\n{result.stderr}", ""
    return True, "", ptx.read_text()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every configuration compiled once (in parallel): config -> (ok, messages, ptx)."""
    workdir = tmp_path_factory.mktemp("cuda")
    arch = target_arch()
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(lambda c: compile_config(c, workdir, arch), CONFIGS)
        return dict(zip(CONFIGS, results))


def entries(ptx):
    """The kernel (entry point) names of a PTX text."""
    return set(re.findall(r"\.entry\s+(\w+)\s*\(", ptx))


@needs_nvcc
@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=[config_id(c) for c in CONFIGS])
def test_compiles_and_defines_its_kernels(compiled, config):
    ok, messages, ptx = compiled[config]
    assert ok, f"{config_id(config)} does not compile:\n{messages}"
    file = config[0]
    assert entries(ptx) == set(cuda_sources.KERNELS[file]), (
        f"{file}: kernels in the PTX {sorted(entries(ptx))}, "
        f"cuda_sources.KERNELS lists {sorted(cuda_sources.KERNELS[file])}")


def test_every_name_cupy_gpu_asks_for_is_listed():
    """cupy_gpu.py looks kernels up only as _kernel("file.cu", "name", ...) or
    _row_launch("name", "file.cu", ...): each such pair is in cuda_sources.KERNELS (which the
    test above holds against the compiled PTX)."""
    text = CUPY_GPU.read_text()
    pairs = re.findall(r'_kernel\(\s*"([\w.]+)",\s*"(\w+)"', text)
    pairs += [(file, name) for name, file in re.findall(r'_row_launch\(\s*"(\w+)",\s*"([\w.]+)"', text)]
    assert len(pairs) >= 12
    for file, name in pairs:
        assert name in cuda_sources.KERNELS.get(file, ()), f"cupy_gpu.py asks {file} for {name!r}"
    used = {name for _, name in pairs}
    unused = {n for names in cuda_sources.KERNELS.values() for n in names} - used
    assert not unused, f"kernels compiled but never launched by cupy_gpu.py: {sorted(unused)}"


def test_sources_are_self_contained_and_documented():
    """No system headers (NVRTC has none); each .cu file's header comment gives the formula's
    reference function, the launch layout and the optimizations."""
    for path in sorted(cuda_sources.CUDA_DIR.glob("*.cu")):
        assert path.name in cuda_sources.KERNELS, f"{path.name} is not in cuda_sources.KERNELS"
        text = cuda_sources.source(path.name)
        assert not re.search(r"^\s*#\s*include", text, re.M), f"{path.name}: an #include survives inlining"
        header = path.read_text().split("#include")[0]
        for word in ("Computes", "reference.", "Launch", "Optimization"):
            assert word in header, f"{path.name}: the header comment lacks {word!r}"


def test_attention_tiles_fit_in_static_shared_memory():
    """The dkdv kernel's tiles: 2 padded own-row tiles + 2 query tiles + 2 vectors, < 48 KB."""
    for dtype, itemsize in (("float32", 4), ("float64", 8)):
        for head_dim_max in cuda_sources.HEAD_DIM_BUCKETS:
            tile = cuda_sources.attention_tile(head_dim_max, itemsize)
            size = (2 * tile * (head_dim_max + 1) + 2 * tile * head_dim_max + 2 * tile) * itemsize
            assert 8 <= tile <= 32 and size <= 48 * 1024, (dtype, head_dim_max, tile, size)
