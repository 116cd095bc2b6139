"""What push-down needs to know about a database, as data: running the cleaning plan inside another
warehouse is one entry in `PUSHDOWN`, not new code. The statements themselves are SQLAlchemy Core,
compiled by the dialect; only these few facts differ between databases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PushdownDialect:
    # DB-API `cursor.description` type code -> the kind of value it holds (int, float, text, ts,
    # bool); other codes make push-down fall back to streaming for that source
    kinds: Mapping[Any, str]
    # SQL function removing the given characters from both ends of text: `trim(x, chars)`
    trim: str
    # collation ordering text by its bytes, as the streaming executor (pandas) sorts ids
    byte_order: str
    # statements opening the read-only transaction (isolation, session memory for hashing)
    setup: tuple[str, ...] = ()


PUSHDOWN: dict[str, PushdownDialect] = {
    "postgresql": PushdownDialect(
        kinds={
            **dict.fromkeys((20, 21, 23), "int"),  # int8, int2, int4 (type OIDs)
            **dict.fromkeys((700, 701, 1700), "float"),  # float4, float8, numeric
            **dict.fromkeys((25, 1043, 1042), "text"),  # text, varchar, bpchar
            **dict.fromkeys((1114, 1184, 1082), "ts"),  # timestamp, timestamptz, date
            16: "bool",
        },
        trim="btrim",
        byte_order='"C"',
        setup=(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",  # one snapshot for every statement
            # de-duplication and aggregation hash millions of rows: memory for this transaction
            # only (the default 4MB sends them to disk)
            "SET LOCAL work_mem = '256MB'",
        ),
    ),
}
