"""Codegen: render a lowered, planned network as plain C (model.h, model.c, model_data.h)."""

from .emit import GeneratedModel, generate

__all__ = ["GeneratedModel", "generate"]
