"""Passwords are never shown: URL passwords (with @ : / encoded or not), password-like query
parameters, libpq ``password=`` pairs in text — in logs, errors, registry rows, `runs show`, HTML."""

from __future__ import annotations

import logging
import string
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL, make_url
from support.cli import run_cli

from synthdata.db import parse_url
from synthdata.errors import SynthdataError
from synthdata.export import ExportError, export_table
from synthdata.log import get_logger, setup_logging
from synthdata.masking import MASK, mask_text, mask_url
from synthdata.pipeline import parse_config
from synthdata.registry import Registry

MARK = "Zq9"  # never occurs in the scheme, user, host or database names generated below
SECRET_KEYS = ["password", "sslpassword", "PASSWORD", "db_password", "auth_token"]
names = st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=1, max_size=12)
raw_pw_chars = string.ascii_letters + string.digits + "@:/!$*()-_.~,;=+"


def secret(middle: str) -> str:
    """A password with the marker at both ends and in the middle: any leaked piece shows a marker."""
    half = len(middle) // 2
    return f"{MARK}{middle[:half]}{MARK}{middle[half:]}{MARK}"


@settings(max_examples=300, deadline=None)
@given(
    user=names,
    middle=st.text(max_size=30),
    host=names,
    db=names,
    key=st.sampled_from(SECRET_KEYS),
    qmiddle=st.text(max_size=20),
    driver=st.sampled_from(["postgresql", "postgresql+psycopg", "mysql+pymysql"]),
)
def test_encoded_urls_keep_everything_but_secrets(
    user: str, middle: str, host: str, db: str, key: str, qmiddle: str, driver: str
) -> None:
    pw, qpw = secret(middle), secret(qmiddle)
    url = URL.create(
        driver, username=user, password=pw, host=host, database=db, query={key: qpw, "sslmode": "require"}
    )
    raw = url.render_as_string(hide_password=False)
    masked = mask_url(raw)
    assert MARK not in masked
    back = make_url(masked)
    assert (back.username, back.password, back.host, back.database) == (user, MASK, host, db)
    assert back.query[key] == MASK and back.query["sslmode"] == "require"
    assert MARK not in mask_text(f"could not connect to {raw}: timeout")


@settings(max_examples=300, deadline=None)
@given(
    user=names,
    middle=st.text(alphabet=raw_pw_chars, max_size=24),
    host=names,
    db=names,
    port=st.one_of(st.none(), st.integers(1, 65535)),
)
def test_unencoded_passwords_with_at_colon_slash_are_hidden(
    user: str, middle: str, host: str, db: str, port: int | None
) -> None:
    pw = secret(middle)
    netloc = f"{host}:{port}" if port else host
    raw = f"postgresql+psycopg://{user}:{pw}@{netloc}/{db}?password={pw}&application_name=nightly"
    for text in (raw, f"error: cannot reach {raw} (timeout)"):
        masked = mask_text(text) if text != raw else mask_url(text)
        assert MARK not in masked, masked
        assert host in masked and db in masked
    back = parse_url(raw)  # what the engine would connect with: the full password, @ : / and all
    assert back.password == pw and back.host == host and back.database == db


@given(middle=st.text(alphabet=raw_pw_chars, max_size=20), key=st.sampled_from(SECRET_KEYS))
def test_libpq_keyword_pairs_in_text(middle: str, key: str) -> None:
    pw = secret(middle).replace(" ", "")
    for text in (f"dsn: host=h {key}={pw} dbname=x", f"dsn: host=h {key}='{pw} x' dbname=x"):
        assert MARK not in mask_text(text)


def test_examples_from_the_issue() -> None:
    assert mask_url("postgresql://u@h/db?password=hunter2") == "postgresql://u@h/db?password=***"
    m = mask_url("postgresql://u@h/db?sslpassword=k3y&sslkey=/etc/k.pem")
    assert "k3y" not in m and "sslkey" in m  # a key *path* is not a secret
    assert mask_url("postgresql://u:p@ss:w/rd@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u:p%40ss%3Aw%2Frd@h/db") == "postgresql://u:***@h/db"
    assert mask_url("sqlite:///runs/x.db") == "sqlite:///runs/x.db"  # nothing to hide, nothing changed
    assert mask_text("no secrets here") == "no secrets here"


# ---- everywhere: registry rows, runs show, compare HTML, logs, errors ----------------------------
PW = "Hunter2@:/pw"
URL_WITH_SECRETS = (
    f"postgresql+psycopg://etl:{quote(PW, safe='')}@db.example:5432/prod?password={quote(PW, safe='')}"
    "&sslpassword=S5lpw"
)
RAW_URL = f"postgresql+psycopg://etl:{PW}@db.example/prod?sslpassword=S5lpw"
LEAKS = (PW, quote(PW, safe=""), "Hunter2", "S5lpw")


def _all_text(db_url: str) -> str:
    eng = sa.create_engine(db_url)
    out = []
    with eng.connect() as c:
        for t in ("runs", "stages", "params", "metrics", "artefacts"):
            out += [repr(tuple(r)) for r in c.execute(sa.text(f"SELECT * FROM {t}"))]
    eng.dispose()
    return "\n".join(out)


def test_registry_rows_runs_show_and_html_never_hold_a_password(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    with Registry(db_url) as reg:
        for rid in ("r1", "r2"):
            reg.create_run(
                rid,
                config={
                    "export": {"url": URL_WITH_SECRETS.replace("/prod?", f"/prod_{rid}?")},  # differs
                    "source": {"url": RAW_URL, "note": f"see {URL_WITH_SECRETS} and password={PW}"},
                    "seed": int(rid[1]),
                },
            )
            reg.start_stage(rid, "export", "h")
            reg.finish_stage(rid, "export", "failed", message=f"OperationalError: {RAW_URL} refused")
            reg.finish_run(
                rid, "failed", exit_code=1, error=f"ExportError: at {URL_WITH_SECRETS}: password={PW}"
            )
    stored = _all_text(db_url)
    if db_url.startswith("sqlite"):
        stored += Path(make_url(db_url).database or "").read_bytes().decode("latin-1")
    for leak in LEAKS:
        assert leak not in stored
    assert "db.example" in stored and MASK in stored  # masked, not dropped

    html = tmp_path / "cmp.html"
    for args in (["runs", "show", "r1"], ["runs", "compare", "r1", "r2", "--all", "--html", str(html)]):
        code, out, err = run_cli([*args, "--registry", db_url], capsys)
        assert code == 0, err
        for leak in LEAKS:
            assert leak not in out + err
    assert "db.example" in html.read_text() and not any(leak in html.read_text() for leak in LEAKS)


def test_log_lines_and_files_are_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", file=tmp_path / "run.log")
    log = get_logger("test")
    log.info("connecting url=%s", RAW_URL)
    try:
        raise RuntimeError(f"boom at {URL_WITH_SECRETS}")
    except RuntimeError:
        log.exception("failed")  # the traceback text goes through the formatter too
    for h in logging.getLogger("synthdata").handlers:
        h.flush()
    text = (tmp_path / "run.log").read_text() + capsys.readouterr().err
    assert "db.example" in text
    for leak in LEAKS:
        assert leak not in text


def test_config_and_export_errors_are_masked(tmp_path: Path) -> None:
    with pytest.raises(SynthdataError) as ei:
        parse_config(
            {
                "source": {"path": "x.csv"},
                "export": {
                    "enabled": True,
                    "url": RAW_URL.replace("+psycopg", "+nosuchdriver"),
                    "table": "t",
                },
            }
        )
    assert "nosuchdriver" in str(ei.value)
    # A real Parquet, so the export gets as far as connecting with the URL (nothing listens on port 1)
    # and the error it raises is about that URL, not about a missing file.
    src = tmp_path / "synth.parquet"
    pd.DataFrame({"user_id": [1, 2], "item_id": [3, 4]}).to_parquet(src)
    with pytest.raises(ExportError) as ei2:
        export_table(src, RAW_URL.replace("db.example", "127.0.0.1:1") + "&connect_timeout=1", "t")
    msg2 = str(ei2.value)
    assert "127.0.0.1:1/prod" in msg2 and MASK in msg2, msg2  # the URL is named, masked
    assert "synth.parquet" not in msg2  # it failed on the database, not on the source file
    for leak in LEAKS:
        assert leak not in str(ei.value) and leak not in msg2
