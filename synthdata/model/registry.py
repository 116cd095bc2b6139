"""The model families synthdata can train: adding one is one file plus one line here."""

from __future__ import annotations

from synthdata.errors import ConfigError
from synthdata.model.backend import Backend
from synthdata.model.gan import Gan
from synthdata.model.vae import Vae

BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (Gan, Vae)}


def backend(name: str) -> type[Backend]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(BACKENDS)}") from None
