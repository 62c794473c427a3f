"""The builtin's numba kernels are compiled once per machine: cached on disk in the user's cache directory,
loaded by later processes, compiled without a cache when that directory cannot be written; numba's own
settings are left as they were. (Nothing happens at import: tests/test_package.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPORT = """
import json, numba, numpy as np
from vocos_stream.builtin import kernels as K

def report(backend):
    k = K.numba_kernels()
    active = np.random.default_rng(0).standard_normal((1, 3, 64))
    base, window, weight = np.zeros((1, 64 + 2 * 16)), np.hanning(64), np.ones((3, 64))
    same = np.array_equal(k.segments(base, active, window, weight, 16),
                          K.NUMPY_KERNELS.segments(base, active, window, weight, 16))
    return {"describe": K.describe(k), "cache": k.cache, "same_as_numpy": bool(same),
            "hits": sum(k.segments.stats.cache_hits.values()), "cache_dir_after": numba.config.CACHE_DIR}
"""


def run(code: str, env: dict[str, str], cwd: Path) -> dict[str, object]:
    full = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | env
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(REPORT) + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_kernels_are_cached_then_loaded_and_compiled_without_a_writable_cache(tmp_path: Path) -> None:
    cache = tmp_path / "xdg" / "vocos_stream" / "numba"
    (tmp_path / "a_file").write_text("")
    first = run(
        """
        import os
        out = [report("numba")]
        os.environ["XDG_CACHE_HOME"] = os.path.join(os.getcwd(), "a_file")  # not a directory: cannot cache
        K.numba_kernels.cache_clear()
        out.append(report("numba"))
        print(json.dumps(out))
        """,
        {"XDG_CACHE_HOME": str(tmp_path / "xdg")},
        tmp_path,
    )
    compiled, uncached = first  # type: ignore[misc]
    assert compiled["describe"] == f"numba kernels compiled into the cache {cache}"
    assert compiled["same_as_numpy"] and compiled["cache_dir_after"] == ""  # numba's setting restored
    assert any(p.suffix == ".nbi" for p in cache.rglob("*")) and any(p.suffix == ".nbc" for p in cache.rglob("*"))
    assert uncached["describe"].startswith("numba kernels compiled (no writable cache directory")
    assert uncached["cache"] is None and uncached["same_as_numpy"]

    second = run("print(json.dumps(report('numba')))", {"XDG_CACHE_HOME": str(tmp_path / "xdg")}, tmp_path)
    assert second["describe"] == f"numba kernels loaded from the cache {cache}"
    assert second["hits"] == 1 and second["same_as_numpy"]


def test_numba_cache_setting_is_scoped_and_a_user_setting_respected(tmp_path: Path) -> None:
    """Our directory is numba's CACHE_DIR only while our kernels are decorated; NUMBA_CACHE_DIR (numba's
    CACHE_DIR when set) is left alone."""
    import numba.core.config as config

    from vocos_stream.builtin.kernels import _numba_cache_dir

    saved = config.CACHE_DIR
    try:
        config.CACHE_DIR = ""
        with _numba_cache_dir(tmp_path):
            assert config.CACHE_DIR == str(tmp_path)
        assert config.CACHE_DIR == ""
        config.CACHE_DIR = "/the/user/dir"
        with _numba_cache_dir(tmp_path):
            assert config.CACHE_DIR == "/the/user/dir"
        assert config.CACHE_DIR == "/the/user/dir"
    finally:
        config.CACHE_DIR = saved
