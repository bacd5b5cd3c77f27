"""The CUDA C sources of the GPU kernels (``kernels/cuda/*.cu``) and how each one is compiled.

Plain Python, no CuPy: ``cupy_gpu.py`` compiles these sources with CuPy on a GPU machine, and
``tests/kernels/test_cuda_sources.py`` compiles the very same texts with ``nvcc`` anywhere, so
GPU code is at least compiled (and its kernel names checked) on machines without a GPU.

Each ``.cu`` file is compiled once per configuration: the dtype becomes ``-DSCALAR_T=float`` or
``double`` (so every kernel keeps one plain ``extern "C"`` name, no C++ templates), and the
attention kernels also get the size of their register arrays, ``HEAD_DIM_MAX``, from
``HEAD_DIM_BUCKETS`` (the smallest bucket that holds the head dim).

>>> defines("softmax.cu", "float32")
('-DSCALAR_T=float',)
>>> defines("attention.cu", "float64", head_dim_max=64)
('-DSCALAR_T=double', '-DHEAD_DIM_MAX=64', '-DQUERY_BLOCK=64', '-DTILE=16')
>>> head_dim_bucket(13), head_dim_bucket(64), head_dim_bucket(129) is None
(16, 64, True)
"""
import pathlib

import numpy as np

__all__ = ["CUDA_DIR", "KERNELS", "HEAD_DIM_BUCKETS", "QUERY_BLOCK", "SCALAR_TYPES", "source",
           "defines", "attention_tile", "head_dim_bucket", "configurations"]

CUDA_DIR = pathlib.Path(__file__).with_name("cuda")

# file -> the kernels (extern "C" names) it defines; cupy_gpu.py looks up only these names,
# and the tests check that each one is an entry point of the compiled PTX.
KERNELS = {
    "matmul_tiled.cu": ("matmul_tiled",),
    "softmax.cu": ("softmax_forward", "softmax_backward", "log_softmax_forward",
                   "log_softmax_backward"),
    "layer_norm.cu": ("layer_norm_forward", "layer_norm_backward"),
    "cross_entropy.cu": ("cross_entropy_forward", "cross_entropy_backward"),
    "attention.cu": ("attention_forward", "attention_backward_dq", "attention_backward_dkdv"),
}

# numpy dtype name -> C type of scalar_t. Other dtypes use the reference kernels.
SCALAR_TYPES = {"float32": "float", "float64": "double"}

# Attention: head dims (D and Dv) up to 16, 32, 64, 128 each get their own compiled module;
# larger head dims use the reference (which materializes the (Tq, Tk) scores).
HEAD_DIM_BUCKETS = (16, 32, 64, 128)
QUERY_BLOCK = 64          # threads (= queries) per block of the attention forward and dq kernels
_TILE_BYTES = 8192        # bytes of one (TILE, HEAD_DIM_MAX) shared-memory tile: keeps the
                          # dkdv kernel's four tiles near 33 KB, under the 48 KB static limit


def source(file):
    """The text of ``kernels/cuda/<file>``, with each local ``#include "x.cuh"`` replaced by
    that header's text: one self-contained source, so CuPy's compile cache (keyed on the
    text) sees a change to a header too."""
    lines = []
    for line in (CUDA_DIR / file).read_text().splitlines():
        if line.startswith('#include "'):
            header = line.split('"')[1]
            lines.append(f"// ---- {header} (inlined) ----")
            lines.append((CUDA_DIR / header).read_text())
            lines.append(f"// ---- end of {header} ----")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def attention_tile(head_dim_max, itemsize):
    """Keys (and queries) per shared-memory tile: 32, or fewer for wide rows (8 at the least).
    The dkdv kernel runs one thread per key of a tile: its block size."""
    return max(8, min(32, _TILE_BYTES // (head_dim_max * itemsize)))


def head_dim_bucket(head_dim):
    """The smallest ``HEAD_DIM_BUCKETS`` entry >= ``head_dim``, or None (too large: reference)."""
    return next((b for b in HEAD_DIM_BUCKETS if head_dim <= b), None)


def defines(file, dtype, head_dim_max=None):
    """The ``-D`` compiler options of ``file`` for ``dtype`` (and, for attention, the bucket)."""
    dtype = np.dtype(dtype)
    options = (f"-DSCALAR_T={SCALAR_TYPES[dtype.name]}",)
    if file == "attention.cu":
        tile = attention_tile(head_dim_max, dtype.itemsize)
        options += (f"-DHEAD_DIM_MAX={head_dim_max}", f"-DQUERY_BLOCK={QUERY_BLOCK}",
                    f"-DTILE={tile}")
    return options


def configurations():
    """Every (file, dtype, head_dim_max) the GPU path may compile (head_dim_max None but for
    attention): the list the nvcc test compiles."""
    configs = []
    for file in KERNELS:
        for dtype in SCALAR_TYPES:
            buckets = HEAD_DIM_BUCKETS if file == "attention.cu" else (None,)
            configs += [(file, dtype, bucket) for bucket in buckets]
    return configs
