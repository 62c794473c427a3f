"""Former home of the transformers-style API; it lives in :mod:`vocos_stream.transformers` now."""

from .transformers import VocosModel, VocosProcessor

__all__ = ["VocosModel", "VocosProcessor"]
