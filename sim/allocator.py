"""Keep freed heap memory in the process (glibc), so that a batched step's temporaries are not page-faulted in
again at every step.

A batched step allocates and frees temporaries of a few MB (e.g. (400, 1000) float64 = 3.2 MB for the
pre-activations of 100 trials x 4 pruning methods).  glibc's malloc serves blocks above its mmap threshold
with fresh mmap'd pages and trims the heap top back to the OS once more than ``M_TRIM_THRESHOLD`` is free;
either way the next step touches new pages and pays a page fault per 4 kB.  Measured on the 2-core CPU of
this project: the gradient of the single-neuron loss for 400 runs took 7.6-8.5 ms with the defaults and
2.2-3.0 ms with the settings below; the elementwise part alone 4.2 ms against 0.65-0.8 ms.

:func:`retain_freed_memory` sets, through ``mallopt``: blocks up to 32 MB (glibc's largest allowed mmap
threshold) come from the heap, and the heap top is kept up to 1 GiB.  The process's resident memory then
stays near its peak instead of shrinking between steps; blocks above 32 MB (the GB-size data of a
paper-scale cell) are still mapped and returned as before.  It is called where simulations run
(:func:`sim.sweep._execute`, so in every worker process, and ``python -m sim.bench``); a notebook user calls
it once.  On a C library without ``mallopt`` (macOS, musl) it does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2 ** 20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit glibc: mallopt rejects larger values
TRIM_THRESHOLD = 2 ** 30


@functools.cache
def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once); True if both were accepted."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
