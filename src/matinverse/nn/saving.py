"""Models that save themselves as init arguments + state dict and load without pickle.

A file holds ``{"format", "class", "config", "state_dict", "metadata"}`` written by
``torch.save``; ``load_model`` reads it with ``torch.load(weights_only=True)``, so a weights
file cannot run code, and rebuilds the model from its registered class and config.
"""

import importlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path

FORMAT = "matinverse-model-1"

_REGISTRY: dict[str, type["SaveableModule"]] = {}


class SaveableModule(nn.Module):
    """An nn.Module whose ``__init__`` takes only JSON-like keyword arguments, kept in
    ``self.config``; subclasses are registered by class name for ``load_model``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[_name(cls)] = cls

    def __init__(self, **config: Any):
        super().__init__()
        self.config = dict(config)

    def save(
        self, path: str | os.PathLike, metadata: dict | None = None, half: bool = False
    ) -> None:
        """Write config, weights and JSON-like ``metadata`` (metrics, data) atomically;
        ``half`` stores float32 tensors as float16 (half the file; loading casts them back,
        so the model computes in float32 with weights rounded to 11 significant bits)."""

        def stored(tensor: torch.Tensor) -> torch.Tensor:
            tensor = tensor.detach().cpu()
            return tensor.half() if half and tensor.dtype == torch.float32 else tensor

        payload = {
            "format": FORMAT,
            "class": _name(type(self)),
            "config": self.config,
            "state_dict": {k: stored(v) for k, v in self.state_dict().items()},
            "metadata": metadata or {},
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def load_model(
    path: str | os.PathLike, expected: type | tuple[type, ...] | None = None
) -> SaveableModule:
    """The model saved at ``path`` (in eval mode); ``expected`` (a class or a tuple of
    classes) checks its class. Its metadata is in ``model.metadata``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a corrupt file
        raise InputError(f"cannot read model file {path}: {err}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path} is not a matinverse model file")
    name = str(payload.get("class"))
    module = name.rpartition(".")[0]
    if name not in _REGISTRY and module.startswith("matinverse."):
        try:
            importlib.import_module(module)  # registers the class; import only our own modules
        except ImportError:
            pass
    cls = _REGISTRY.get(name)
    if cls is None:
        raise InputError(f"{path}: unknown model class {payload['class']!r}")
    if expected is not None and not issubclass(cls, expected):
        classes = expected if isinstance(expected, tuple) else (expected,)
        names = " or ".join(c.__name__ for c in classes)
        raise InputError(f"{path} holds a {cls.__name__}, expected a {names}")
    model = cls(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    model.metadata = payload["metadata"]
    return model.eval()
