"""The GPU check (DESIGN §12): ``python -m benchmarks.gpu [--quick] [--json FILE] [--simulate]``.

It proves every CUDA kernel family against the CPU build (:mod:`benchmarks.gpu.verify`, one worker
process per group of checks) and times the CUDA kernels at scale beside torch and JAX on the same GPU
(the ``time_*`` modules). It imports only ``kernels`` and ``benchmarks`` (never ``scenes`` or
``explorer``, nor param, holoviews, bokeh or panel), so it runs on a GPU machine's stock image.

Nothing is imported here: ``--simulate`` must switch numba's CUDA simulator on before numba is imported.
"""
