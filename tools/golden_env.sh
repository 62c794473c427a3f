#!/usr/bin/env bash
# Build an environment where the ORIGINAL vocos 0.1.0 runs next to our CPU torch, to compute golden outputs.
#
# vocos 0.1.0 imports torchaudio and encodec at import time. No torchaudio build matches torch 2.13 here, so we
# take torchaudio 2.9.1's wheel from PyPI and delete its compiled extension: the parts vocos uses
# (transforms.MelSpectrogram, functional.melscale_fbanks) are pure Python on top of torch, and torchaudio skips
# its extension when the library files are absent. Nothing of vocos_stream is used here.
#
# Usage: tools/golden_env.sh [DIR]   (default /tmp/vocos_golden_env); then
#        PYTHONPATH=DIR python tools/make_golden.py
set -euo pipefail
dir=${1:-/tmp/vocos_golden_env}
dl=$(mktemp -d)
rm -rf "$dir" && mkdir -p "$dir"
python -m pip download --quiet --no-deps -d "$dl" vocos==0.1.0 encodec==0.1.1 torchaudio==2.9.1 \
  --only-binary=torchaudio,vocos
python - "$dl" "$dir" <<'PY'
import sys, tarfile, zipfile, pathlib, shutil
dl, out = map(pathlib.Path, sys.argv[1:])
for f in dl.iterdir():
    if f.suffix == ".whl":
        zipfile.ZipFile(f).extractall(out)
    elif f.name.endswith(".tar.gz"):
        with tarfile.open(f) as t:
            t.extractall(dl / "src", filter="data")
        for pkg in (dl / "src").glob("*/encodec"):
            shutil.copytree(pkg, out / "encodec")
for so in (out / "torchaudio" / "lib").glob("*.so*"):
    so.unlink()
PY
python -m pip install --quiet einops scipy huggingface_hub pyyaml
PYTHONPATH="$dir" python -c "import vocos, torchaudio, encodec; print('reference env ready:', '$dir', 'torchaudio', torchaudio.__version__)"
rm -rf "$dl"
