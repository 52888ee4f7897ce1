"""Stage 1 on NVIDIA GPUs as two Triton kernels: a matrix product that keeps only group maxima, then a re-score.

The plain stage 1 (:func:`~nps_id.spectra.search.binned.coarse_topk`) writes every query x spectrum score to
device memory and reads it back to select the best: at a million spectra that traffic, not the arithmetic,
bounds the speed, and bf16 scores are rounded to 3 significant digits. Here

1. :func:`group_maxima`: each tile of the product ``queries @ library`` (bf16 inputs, float32 sums) is reduced
   in registers to the maximum of every ``GROUP`` consecutive library columns; only those maxima are written
   (``GROUP`` times less traffic);
2. the ``n`` groups with the highest maxima per query hold its ``n`` best spectra (each of those groups has an
   element at least as high as the ``n``-th group maximum); their ``n x GROUP`` columns are re-scored by
   :func:`gather_dot` (float32 sums) and the top ``n`` kept.

The scores are float32 sums of the bf16 products, so this stage ranks more precisely than the plain bf16 path.
Used by ``coarse_topk`` on CUDA for bf16 matrices when Triton is importable; the same algorithm in plain torch
(:func:`grouped_topk` with ``fused=False``) is what the tests check on the CPU.
"""

from __future__ import annotations

import functools
import logging
import weakref

logger = logging.getLogger(__name__)

GROUP = 16  #: library columns per group maximum
#: tiling of the group-maxima kernel (BLOCK_M, BLOCK_N, BLOCK_K, warps, stages). Of 8 tilings timed on an H200
#: (16,384 queries x 1M spectra x 256 columns; 128 to 256 rows/columns, BLOCK_K 64/128, 4/8 warps, 2-4 stages)
#: this was the fastest, 22.9 ms (366 TFLOP/s; the slowest 27.1 ms). Fixed rather than autotuned: autotuning
#: compiles and times every tiling in each new process (about 10 s before the first search).
TILING = (128, 128, 64, 8, 3)
ENABLED = True  #: set False to use the plain torch stage 1 on CUDA too (benchmarks compare the two)


@functools.cache
def _kernels():
    """Compile-on-first-use Triton kernels (imported lazily: Triton exists only with CUDA builds of torch)."""
    import triton
    import triton.language as tl

    @triton.jit
    def group_max_kernel(q_ptr, l_ptr, out_ptr, B, N, G, K: tl.constexpr, GROUP: tl.constexpr,
                         BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        # program 0 varies fastest: consecutive programs share one library tile (read from memory once)
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in tl.static_range(0, K, BLOCK_K):
            rk = k0 + tl.arange(0, BLOCK_K)
            a = tl.load(q_ptr + rm[:, None].to(tl.int64) * K + rk[None, :], mask=rm[:, None] < B, other=0.0)
            b = tl.load(l_ptr + rk[:, None].to(tl.int64) * N + rn[None, :], mask=rn[None, :] < N, other=0.0)
            acc = tl.dot(a, b, acc)
        acc = tl.where(rn[None, :] < N, acc, float("-inf"))
        gmax = tl.max(tl.reshape(acc, (BLOCK_M, BLOCK_N // GROUP, GROUP)), axis=2)
        rg = pid_n * (BLOCK_N // GROUP) + tl.arange(0, BLOCK_N // GROUP)
        mask = (rm[:, None] < B) & (rg[None, :] < G)
        tl.store(out_ptr + rm[:, None].to(tl.int64) * G + rg[None, :], gmax, mask=mask)

    @triton.jit
    def gather_dot_kernel(q_ptr, lt_ptr, cols_ptr, out_ptr, C, K: tl.constexpr, BLOCK_C: tl.constexpr):
        b = tl.program_id(0).to(tl.int64)
        rc = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        ok = rc < C
        col = tl.load(cols_ptr + b * C + rc, mask=ok, other=0)
        rk = tl.arange(0, K)
        q = tl.load(q_ptr + b * K + rk).to(tl.float32)
        rows = tl.load(lt_ptr + col[:, None] * K + rk[None, :], mask=ok[:, None], other=0.0).to(tl.float32)
        tl.store(out_ptr + b * C + rc, tl.sum(rows * q[None, :], axis=1), mask=ok)

    return group_max_kernel, gather_dot_kernel


def available(queries, library) -> bool:
    """Whether the fused path applies: CUDA bf16 tensors, 64 <= columns <= 1024 a power of two, and kernels that
    compile and pass a self-test on that GPU (:func:`_works_on`)."""
    import torch

    K = library.shape[0]
    if not (ENABLED and queries.is_cuda and library.is_cuda and queries.dtype == library.dtype == torch.bfloat16):
        return False
    if K < 64 or K > 1024 or K & (K - 1):
        return False
    return _works_on(library.device.index or 0)


@functools.cache
def _works_on(device_index: int) -> bool:
    """Compile the kernels for GPU `device_index` and check them against plain torch on a small problem, once.

    False (and a warning) where Triton is missing, the GPU predates bf16 matrix instructions (compute
    capability < 8.0) or the kernels fail: the plain torch stage 1 then runs instead.
    """
    import torch

    try:
        if torch.cuda.get_device_capability(device_index) < (8, 0):
            return False
        _kernels()
    except ImportError:
        return False
    try:
        gen = torch.Generator(device=f"cuda:{device_index}").manual_seed(0)
        q = torch.rand((70, 64), device=f"cuda:{device_index}", generator=gen).bfloat16()
        lib = torch.rand((64, 300), device=f"cuda:{device_index}", generator=gen).bfloat16()
        cols = torch.randint(0, 300, (70, 40), device=f"cuda:{device_index}", generator=gen)
        ok = torch.allclose(group_maxima(q, lib, True), group_maxima(q, lib, False), rtol=1e-3, atol=1e-3)
        ok &= torch.allclose(gather_dot(q, lib.t().contiguous(), cols, True), gather_dot(q, lib.t(), cols, False),
                             rtol=1e-3, atol=1e-3)
    except Exception as exc:  # a compiler or driver that cannot build them: fall back, say why
        logger.warning("Triton stage 1 unavailable on cuda:%d (%s: %s); using the plain torch stage 1",
                       device_index, type(exc).__name__, exc)
        return False
    if not ok:
        logger.warning("Triton stage 1 failed its self-test on cuda:%d; using the plain torch stage 1", device_index)
    return bool(ok)


def group_maxima(queries, library, fused: bool = True):
    """Maximum of ``queries @ library`` over every `GROUP` consecutive library columns.

    Returns
    -------
    torch.Tensor of float32 [Q, G']
        Column g holds the maximum over library columns ``g * GROUP`` to ``g * GROUP + GROUP - 1``; the
        ``ceil(N / GROUP)`` groups are padded with -inf to a multiple of 64 columns (for the two-step top-k).
    """
    import torch

    Q, K = queries.shape
    N = library.shape[1]
    G = -(-N // GROUP)
    width = -(-G // 64) * 64
    if not fused:
        S = queries.float() @ library.float()
        S = torch.nn.functional.pad(S, (0, width * GROUP - N), value=-float("inf"))
        return S.view(Q, width, GROUP).amax(2)
    import triton

    group_max_kernel = _kernels()[0]
    out = torch.empty((Q, width), dtype=torch.float32, device=queries.device)
    out[:, G:] = -float("inf")
    bm, bn, bk, warps, stages = TILING
    group_max_kernel[(triton.cdiv(Q, bm), triton.cdiv(N, bn))](
        queries.contiguous(), library.contiguous(), out, Q, N, width, K=K, GROUP=GROUP, BLOCK_M=bm, BLOCK_N=bn,
        BLOCK_K=bk, num_warps=warps, num_stages=stages)
    return out


_TRANSPOSED: dict[int, object] = {}


def _transposed(library):
    """``library.t().contiguous()``, kept while `library` lives (one search index, many query batches)."""
    key = id(library)
    if key not in _TRANSPOSED:
        _TRANSPOSED[key] = library.t().contiguous()
        weakref.finalize(library, _TRANSPOSED.pop, key, None)
    return _TRANSPOSED[key]


def gather_dot(queries, library_t, cols, fused: bool = True):
    """float32 dot products of each query with the library rows ``library_t[cols[q, j]]``: [Q, C]."""
    import torch

    Q, C = cols.shape
    K = queries.shape[1]
    if not fused:
        return torch.einsum("qck,qk->qc", library_t[cols].float(), queries.float())
    gather_dot_kernel = _kernels()[1]
    out = torch.empty((Q, C), dtype=torch.float32, device=queries.device)
    block = 32
    gather_dot_kernel[(Q, -(-C // block))](queries.contiguous(), library_t, cols.contiguous(), out, C, K=K, BLOCK_C=block)
    return out


def grouped_topk(queries, library, n: int, fused: bool = True, max_bytes: int = 1 << 30):
    """Top-`n` library columns per query by dot product, through group maxima (module docstring).

    Parameters
    ----------
    queries : torch.Tensor [Q, K]
    library : torch.Tensor [K, N]
    n : int
    fused : bool
        Triton kernels (CUDA) or plain torch (any device; reference and tests).
    max_bytes : int
        Queries are processed in slices whose group-maxima block stays under this size.

    Returns
    -------
    scores : torch.Tensor of float32 [Q, n], indices : torch.Tensor of int64 [Q, n]
        Sorted by score, descending.
    """
    import torch

    from nps_id.spectra.search.binned import _block_topk

    Q = queries.shape[0]
    N = library.shape[1]
    n = min(n, N)
    G = -(-N // GROUP)
    ng = min(n, G)
    library_t = _transposed(library) if fused else library.t()
    step = max(1, max_bytes // (4 * G))
    vals, idxs = [], []
    offs = torch.arange(GROUP, device=queries.device)
    for s in range(0, Q, step):
        q = queries[s : s + step]
        _, g = _block_topk(group_maxima(q, library, fused), ng)
        cols = (g[:, :, None] * GROUP + offs).reshape(q.shape[0], -1)
        valid = cols < N
        cols = cols.clamp_max(N - 1)
        sc = gather_dot(q, library_t, cols, fused).masked_fill(~valid, -float("inf"))
        v, j = torch.topk(sc, n, dim=1, sorted=True)
        vals.append(v)
        idxs.append(torch.gather(cols, 1, j))
    return torch.cat(vals), torch.cat(idxs)
