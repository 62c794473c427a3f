"""Map the key layouts of published Vocos checkpoints onto this library's module names.

Our modules use the original vocos 0.1.0 names, so that layout maps to itself::

    feature_extractor.codebook_weights                     (EnCodec model only)
    backbone.embed.{weight,bias}   backbone.norm.{weight,bias | scale.weight,shift.weight}
    backbone.convnext.N.{dwconv,norm,pwconv1,pwconv2}.*    backbone.convnext.N.gamma
    backbone.final_layer_norm.*    head.out.{weight,bias}  (head.istft.window: a fixed Hann window)

The transformers-style layout renames ``convnext.`` -> ``layers.``, ``gamma`` -> ``layer_scale_parameter``,
``head.out.`` -> ``head.out_proj.``, stores AdaLayerNorm tables as ``norm.weight`` / ``norm.bias`` of shape
``(num_bandwidths, dim)``, keeps codebooks as top-level ``codebook_weights``, and some copies wrap everything in
a ``decoder.`` / ``vocos.`` / ``model.`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from ..config import VocosConfig

# Whole-model wrappers seen in converted copies and training checkpoints.
_WRAPPER_PREFIXES = ("decoder.", "vocos.", "model.", "module.", "generator.")
_OUR_ROOTS = ("feature_extractor.", "backbone.", "head.", "codebook_weights")

# Keys that are known, but hold nothing this library loads: buffers it recomputes (Hann windows, the mel
# filterbank) and networks that are not part of the vocoder (the EnCodec encoder/decoder, GAN discriminators
# and losses left in training checkpoints).
_IGNORED = (
    re.compile(r"^head\.(istft\.)?window$"),
    re.compile(r"^feature_extractor\.mel_spec\."),
    re.compile(r"^feature_extractor\.encodec\."),
    re.compile(r"^encodec_model\."),
    re.compile(r"^(multiperioddisc|multiresddisc|dac|disc_loss|gen_loss|feat_matching_loss|melspec_loss)\."),
)

_RENAMES = (
    (re.compile(r"^backbone\.layers\."), "backbone.convnext."),
    (re.compile(r"\.layer_scale_parameter$"), ".gamma"),
    (re.compile(r"^head\.out_proj\."), "head.out."),
    (re.compile(r"^codebook_weights$"), "feature_extractor.codebook_weights"),
)


def _strip_wrapper(keys: list[str]) -> str:
    """The prefix shared by all vocoder keys if the checkpoint wraps the model in one, else ''."""
    for prefix in _WRAPPER_PREFIXES:
        inner = [k[len(prefix) :] for k in keys if k.startswith(prefix)]
        if inner and any(k.startswith(_OUR_ROOTS) for k in inner) and not any(k.startswith(_OUR_ROOTS) for k in keys):
            return prefix
    return ""


def to_internal_layout(
    state: Mapping[str, torch.Tensor], config: VocosConfig
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename ``state`` into our layout. Returns ``(renamed, ignored_keys)``; unknown keys pass through unchanged
    so that strict loading can report them."""
    prefix = _strip_wrapper(list(state))
    out: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    for key, value in state.items():
        if prefix and not key.startswith(prefix):
            ignored.append(key)
            continue
        name = key[len(prefix) :]
        if any(p.search(name) for p in _IGNORED):
            ignored.append(key)
            continue
        for pattern, replacement in _RENAMES:
            name = pattern.sub(replacement, name)
        # transformers-style AdaLayerNorm: one (num_bandwidths, dim) table each for scale and shift.
        if config.adanorm_num_embeddings and value.dim() == 2 and re.search(r"(^|\.)norm\.(weight|bias)$", name):
            name = (
                name[: -len("weight")] + "scale.weight"
                if name.endswith("weight")
                else name[: -len("bias")] + "shift.weight"
            )
        if name in out:
            raise KeyError(f"two checkpoint keys map to {name!r} (the second is {key!r})")
        out[name] = value
    return out, ignored
