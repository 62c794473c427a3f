"""Checkpoints: key layouts, safe reading and writing, hub resolution."""
