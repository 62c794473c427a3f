"""What low-latency mode costs: error of ``lookahead=k`` streams against the exact stream (= offline output).

    python benchmarks/lookahead_error.py                    # vocos-mel-24khz architecture, seeded random weights
    python benchmarks/lookahead_error.py --model DIR_OR_ID  # a real checkpoint

Input: the mel of the shipped speech clips. Output: a table of latency, SNR (dB) and max abs error per k.
With random weights the backbone's long-range mixing is weak (layer scales ~0.1), so the error is smaller than
a trained model's would be: rerun with the published checkpoint for the numbers that matter.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from vocos_stream import Vocos, mel_24khz_config
from vocos_stream.io.wav import read_wav, resample

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def load(name: str | None) -> Vocos:
    if name:
        return Vocos.from_pretrained(name)
    from reference_weights import reference_state

    vocos = Vocos(mel_24khz_config())
    vocos.load_state_dict(reference_state({k: tuple(v.shape) for k, v in vocos.state_dict().items()}, seed=0))
    return vocos


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="checkpoint directory or hub id (default: seeded random weights)")
    p.add_argument("--lookaheads", default="0,2,4,8,16,27")
    p.add_argument("--chunk", type=int, default=1, help="frames per push (the output does not depend on it)")
    args = p.parse_args()
    torch.set_num_threads(1)
    vocos = load(args.model)
    sr, hop = vocos.config.sample_rate, vocos.config.hop_length
    clips = sorted((ROOT / "data" / "speech").glob("*_24k.wav"))
    mels = []
    for clip in clips:
        audio, rate = read_wav(clip)
        mels.append(vocos.feature_extractor(torch.from_numpy(resample(audio[:1], rate, sr))))
    exact = [vocos.decode(m) for m in mels]
    print(
        f"# {', '.join(c.name for c in clips)}; model: {args.model or 'vocos-mel-24khz architecture, random weights'}"
    )
    print("| lookahead (frames) | latency (samples) | latency (ms) | SNR vs exact (dB) | max abs error |")
    print("|---:|---:|---:|---:|---:|")
    for k in [int(x) for x in args.lookaheads.split(",")]:
        signal = noise = 0.0
        worst = 0.0
        for mel, ref in zip(mels, exact, strict=True):
            s = vocos.stream(lookahead=k)
            outs = [s.push(mel[..., i : i + args.chunk]) for i in range(0, mel.shape[-1], args.chunk)]
            out = torch.cat([*outs, s.flush()], dim=1)
            signal += float(ref.square().sum())
            noise += float((out - ref).square().sum())
            worst = max(worst, float((out - ref).abs().max()))
        snr = math.inf if noise == 0 else 10 * math.log10(signal / noise)
        latency = s.latency_samples
        print(f"| {k} | {latency} | {1000 * latency / sr:.1f} | {snr:.1f} | {worst:.2e} |")
    print(f"\nexact mode: latency {vocos.stream().latency_samples} samples; hop {hop} = {1000 * hop / sr:.2f} ms")


if __name__ == "__main__":
    main()
