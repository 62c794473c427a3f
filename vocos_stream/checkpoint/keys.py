"""Map the key layouts of published Vocos checkpoints onto this library's module names.

Our modules use the original vocos 0.1.0 names, so that layout maps to itself::

    feature_extractor.codebook_weights                     (EnCodec model only)
    backbone.embed.{weight,bias}   backbone.norm.{weight,bias | scale.weight,shift.weight}
    backbone.convnext.N.{dwconv,norm,pwconv1,pwconv2}.*    backbone.convnext.N.gamma
    backbone.final_layer_norm.*    head.out.{weight,bias}  (head.istft.window: a fixed Hann window)

The transformers-style layouts (the revisions of the transformers Vocos port and their conversion scripts):

* earlier: ``convnext.`` -> ``layers.``, ``gamma`` -> ``layer_scale_parameter``, ``head.out.`` ->
  ``head.out_proj.``, AdaLayerNorm tables as ``norm.weight`` / ``norm.bias`` of shape ``(num_bandwidths, dim)``,
  codebooks as top-level ``codebook_weights``; some copies wrap everything in a ``decoder.`` / ``vocos.`` /
  ``model.`` prefix;
* latest (``convert_vocos_weights_to_hf.py`` / ``convert_vocos_with_encodec.py``, the hf-audio repos): the
  backbone flattened to top-level ``embed.`` / ``norm.`` / ``layers.N.`` / ``final_layer_norm.``, the head as
  ``decoder.out.`` with its window buffer ``decoder.window``, codebooks as top-level ``codebook_weights``;
* EnCodec checkpoints without ``codebook_weights``: the codebooks are those of the EnCodec network stored beside
  the vocoder (``encodec_model.quantizer.layers.N.codebook.embed`` in transformers' EnCodec layout,
  ``feature_extractor.encodec.quantizer.vq.layers.N._codebook.embed`` in the original one), stacked as vocos
  0.1.0 stacks them (:func:`codebooks_from_encodec`).
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
    re.compile(r"^(head|decoder)\.(istft\.)?window$"),
    re.compile(r"^feature_extractor\.mel_spec\."),
    re.compile(r"^feature_extractor\.encodec\."),
    re.compile(r"^encodec_model\."),
    re.compile(r"^(multiperioddisc|multiresddisc|dac|disc_loss|gen_loss|feat_matching_loss|melspec_loss)\."),
)

_RENAMES = (
    # The latest transformers layout: backbone at the top level, head named decoder.
    (re.compile(r"^(embed|norm|layers|final_layer_norm)\."), r"backbone.\1."),
    (re.compile(r"^decoder\.out\."), "head.out."),
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
    if config.feature_kind == "encodec" and CODEBOOKS not in out:
        stacked = codebooks_from_encodec(state, config.num_codebooks)
        if stacked is not None:
            out[CODEBOOKS] = stacked
    return out, ignored


CODEBOOKS = "feature_extractor.codebook_weights"
# Codebook k of an EnCodec network: transformers' EncodecModel layout, then the encodec package's.
_ENCODEC_CODEBOOK = re.compile(r"(^|\.)quantizer\.(?:layers\.(\d+)\.codebook|vq\.layers\.(\d+)\._codebook)\.embed$")


def codebooks_from_encodec(state: Mapping[str, torch.Tensor], num_codebooks: int) -> torch.Tensor | None:
    """The first ``num_codebooks`` codebooks of an EnCodec network in ``state``, stacked ``(num_codebooks * 1024,
    dim)`` as vocos 0.1.0's ``EncodecFeatures`` stacks them; ``None`` if ``state`` holds no EnCodec quantizer.

    Keys may carry any prefix (``encodec_model.``, ``feature_extractor.encodec.``, none for an EnCodec checkpoint
    of its own). Raises ``KeyError`` naming the missing codebooks if the quantizer has fewer than needed.
    """
    found: dict[int, torch.Tensor] = {}
    for key, value in state.items():
        m = _ENCODEC_CODEBOOK.search(key)
        if m:
            found.setdefault(int(m.group(2) or m.group(3)), value)
    if not found:
        return None
    missing = [k for k in range(num_codebooks) if k not in found]
    if missing:
        raise KeyError(
            f"the EnCodec quantizer holds codebooks {sorted(found)}, but this model needs 0..{num_codebooks - 1} "
            f"(missing {missing})"
        )
    return torch.cat([found[k] for k in range(num_codebooks)], dim=0)


# Ours -> the latest transformers layout (what its conversion scripts write), for VocosModel.save_pretrained.
_TO_TRANSFORMERS = (
    (re.compile(r"^feature_extractor\.codebook_weights$"), "codebook_weights"),
    (re.compile(r"^backbone\.convnext\."), "layers."),
    (re.compile(r"^backbone\."), ""),
    (re.compile(r"\.gamma$"), ".layer_scale_parameter"),
    (re.compile(r"(^|\.)norm\.scale\.weight$"), r"\1norm.weight"),
    (re.compile(r"(^|\.)norm\.shift\.weight$"), r"\1norm.bias"),
    (re.compile(r"^head\.out\."), "decoder.out."),
)


def to_transformers_layout(state: Mapping[str, torch.Tensor], config: VocosConfig) -> dict[str, torch.Tensor]:
    """Our ``state`` keyed as the latest transformers port saves it (``embed.`` / ``norm.`` / ``layers.N.`` /
    ``final_layer_norm.`` / ``decoder.out.`` / ``codebook_weights``), with its ``decoder.window`` buffer."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        for pattern, replacement in _TO_TRANSFORMERS:
            name = pattern.sub(replacement, name)
        out[name] = value
    out["decoder.window"] = torch.hann_window(config.n_fft)
    return out
