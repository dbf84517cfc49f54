"""Side-by-side benchmarks (``mindrec.benchmark``).

* :mod:`.protocols` -- named protocols (``synthetic-small``, ``beauty-mindrec``, ``beauty-full``): data, item
  codes, decoding settings and every model's training budget;
* :mod:`.runner` -- runs a protocol end to end (popularity, SASRec, the TIGER-style AR control, MindRec with
  each decoder, without categories, with OCN, DeftRec) per seed;
* :mod:`.report`, :mod:`.plot`, :mod:`.readme` -- mean ± std tables, the quality-vs-speed plot, the result
  files and the README section generated from them;
* :mod:`.profiling` -- cost of one training and one decoding step against the measured matmul peak;
* :mod:`.decoding` -- the decoding-only benchmark of ``scripts/benchmark_decoding.py``.

CLIs: ``scripts/benchmark.py`` and ``scripts/update_readme_results.py`` (see :mod:`.cli`).
"""

from mindrec._lazy import lazy_exports

_EXPORTS = {
    "PROTOCOLS": ".protocols",
    "BenchmarkProtocol": ".protocols",
    "ModelPlan": ".protocols",
    "get_protocol": ".protocols",
    "update_readme": ".readme",
    "format_results_table": ".report",
    "summarize_runs": ".report",
    "write_result_set": ".report",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
