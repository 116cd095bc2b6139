"""The model families and backends synthdata can train: a new backend is one file plus one line here."""

from __future__ import annotations

from synthdata.errors import ConfigError
from synthdata.model.family import Family, GenerativeNet
from synthdata.model.histories.family import HistoriesFamily
from synthdata.model.histories.multdae import MultDae
from synthdata.model.histories.multvae import MultVae
from synthdata.model.rows.family import RowsFamily
from synthdata.model.rows.gan import Gan
from synthdata.model.rows.vae import Vae

BACKENDS: dict[str, type[GenerativeNet]] = {b.name: b for b in (Gan, Vae, MultVae, MultDae)}
FAMILIES: dict[str, Family] = {f.name: f for f in (RowsFamily(), HistoriesFamily())}


def backend(name: str) -> type[GenerativeNet]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(BACKENDS)}") from None


def family_of(net: type[GenerativeNet]) -> Family:
    return FAMILIES[net.family]


def models_of(family: str) -> list[str]:
    """Backend names of one family, sorted (e.g. the shared test suites parametrise over them)."""
    return sorted(n for n, b in BACKENDS.items() if b.family == family)
