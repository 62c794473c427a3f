"""Start-up of the command line, measured apart from its real-time factor: interpreter, imports, model load and
kernel compilation (or cache load), processing; and the wall time of whole ``vocos-stream resynth`` runs.

    python benchmarks/startup.py            # 5 runs of each, median (min..max)
    python benchmarks/startup.py --quick    # 1 run of each

Every measurement is a fresh process, as a user's command is. The numba kernel cache lives in a temporary
``XDG_CACHE_HOME``: the first numba run compiles into it (a first run on a machine), later runs load from it.
Runs of the different commands are interleaved so that a change in the host's load hits them alike; the load
average is printed before and after (the development host is shared: compare rows of one run, not runs), and
each command's CPU time (user + system) is given beside its wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "data" / "speech" / "arctic_a0007_24k.wav"
REPORT = re.compile(r"start-up ([\d.]+) s \(model ([\d.]+) s, stream ([\d.]+) s.*processing ([\d.]+) s")


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system: less sensitive to other processes on a busy host) and stdout."""
    cpu, start = cpu_of_children(), time.perf_counter()
    r = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    wall, cpu = time.perf_counter() - start, cpu_of_children() - cpu
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{r.stderr}")
    return wall, cpu, r.stdout


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}..{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one run of each")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache"), "PYTHONPATH": str(ROOT)}
        env.pop("NUMBA_CACHE_DIR", None)
        out = str(Path(tmp) / "out.wav")
        resynth = [python, "-m", "vocos_stream", "resynth", str(CLIP), out]
        rows: dict[str, list[tuple[float, float, str]]] = {}
        print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
        rows["resynth --kernels numba, first run (compiles)"] = [timed([*resynth, "--kernels", "numba"], env)]
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import torch'": [python, "-c", "import torch"],
            "python -c 'import vocos_stream.cli'": [python, "-c", "import vocos_stream.cli"],
            "resynth (default: --kernels auto)": resynth,
            "resynth --kernels numba (kernels cached)": [*resynth, "--kernels", "numba"],
            "resynth --kernels numpy": [*resynth, "--kernels", "numpy"],
        }
        for _ in range(runs):
            for name, command in commands.items():
                rows.setdefault(name, []).append(timed(command, env))
        print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{CLIP.name} (4.00 s of audio), {runs} run(s) each, median (min..max), seconds\n")
    print("| command | wall | CPU | start-up: model | start-up: stream (kernels) | processing | real-time factor |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    stream_times: dict[str, float] = {}
    processing: dict[str, float] = {}
    for name, results in rows.items():
        walls, cpus = [wall for wall, _, _ in results], [cpu for _, cpu, _ in results]
        parsed = [REPORT.search(text) for _, _, text in results]
        if not all(parsed):
            print(f"| {name} | {fmt(walls)} | {fmt(cpus)} | | | | |")
            continue
        model = [float(m.group(2)) for m in parsed if m]
        stream = [float(m.group(3)) for m in parsed if m]
        proc = [float(m.group(4)) for m in parsed if m]
        stream_times[name], processing[name] = statistics.median(stream), statistics.median(proc)
        rtf = [p / 4.0 for p in proc]
        print(f"| {name} | {fmt(walls)} | {fmt(cpus)} | {fmt(model)} | {fmt(stream)} | {fmt(proc)} | {fmt(rtf)} |")
    cached, numpy = "resynth --kernels numba (kernels cached)", "resynth --kernels numpy"
    saving = (processing[numpy] - processing[cached]) / 375  # per 10.67 ms frame (375 frames in 4 s)
    fixed = stream_times[cached] - stream_times[numpy]
    print(
        f"\nnumba's start-up with cached kernels: {fixed:.2f} s more than numpy; it saves {1000 * saving:.2f} ms "
        f"per frame, so it pays off from {fixed / saving / 93.75 if saving > 0 else float('inf'):.0f} s of audio "
        "(resynth --kernels auto switches to numba from NUMBA_PAYS_OFF_SECONDS in vocos_stream/cli/resynth.py)"
    )


if __name__ == "__main__":
    main()
