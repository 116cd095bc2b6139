"""Hide secrets in anything shown or stored: database URLs and free text (errors, log lines).

Why its own module: masking is needed everywhere (logs, errors, registry rows, reports, `runs
show`), also by code that never opens a database. It uses SQLAlchemy's URL parser and
``render_as_string(hide_password=True)``, then also masks password-like query parameters
(``password``, ``sslpassword``, tokens); a regex is only the fallback for strings no parser accepts.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url

MASK = "***"
# Query parameters whose values are secrets (libpq's password/sslpassword, tokens, keys).
_SECRET_PARAM_RE = re.compile(r"pass|pwd|secret|token|api[_-]?key|credential|auth", re.IGNORECASE)
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)(.*)$", re.DOTALL)
_URL_IN_TEXT_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
# libpq keyword/value pairs in free text: `password=secret` or `password='se cret'`.
_KV_SECRET_RE = re.compile(
    r"(?P<key>\b[\w.-]*(?:pass|pwd|secret|token|api[_-]?key)[\w.-]*)(?P<sep>\s*[=:]\s*)"
    r"(?P<val>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)",
    re.IGNORECASE,
)


def is_secret_param(key: str) -> bool:
    """Whether a URL query parameter carries a secret (``password``, ``sslpassword``, ``token`` ...)."""
    return bool(_SECRET_PARAM_RE.search(key)) and key.lower() not in {"sslkey", "sslcert", "sslrootcert"}


def encode_raw_userinfo(url: str) -> str:
    """Percent-encode ``@`` inside an unencoded password (``u:p@ss@host``), which URL parsers split wrongly.

    Without this, SQLAlchemy would connect to host ``ss@host`` and the driver's error would echo
    part of the password. URLs without a raw ``@`` in the password come back unchanged.

    The user info ends at the LAST ``@`` before the query string (host names never contain ``@``).
    """
    m = _SCHEME_RE.match(url)
    if m is None:
        return url
    scheme, body = m.groups()
    head, qmark, query = body.partition("?")
    at = head.rfind("@")
    if at < 0 or "@" not in head[:at]:
        return url
    userinfo, rest = head[:at], head[at + 1 :]
    user, colon, password = userinfo.partition(":")
    if "/" in user or "@" in user:
        return url  # not user info (e.g. a file path containing "@"): leave it to the parser
    return f"{scheme}{user}{colon}{password.replace('@', '%40')}@{rest}{qmark}{query}"


def mask_url(url: str | URL) -> str:
    """Render a URL with its password and secret query parameters hidden (``***``).

    Uses SQLAlchemy's own parser and ``render_as_string(hide_password=True)``; query parameters such
    as ``password``/``sslpassword`` are replaced too. Strings that are not URLs come back unchanged
    except for anything that looks like ``user:password@`` or ``password=...``.
    """
    try:
        u = url if isinstance(url, URL) else make_url(encode_raw_userinfo(url))
        if u.query:
            u = u.set(query={k: (MASK if is_secret_param(k) else v) for k, v in u.query.items()})
        out = u.render_as_string(hide_password=True)
    except Exception:
        return _mask_unparsed(str(url))
    return out.replace("%2A%2A%2A", MASK)


def _mask_unparsed(text: str) -> str:
    """Last resort for strings no URL parser accepts: hide user info after ``:`` and secret params."""
    m = _SCHEME_RE.match(text)
    if m is not None:
        scheme, body = m.groups()
        head = body.split("?", 1)[0]
        at = head.rfind("@")
        if at >= 0 and ":" in head[:at]:
            user = head[:at].split(":", 1)[0]
            text = f"{scheme}{user}:{MASK}@{body[at + 1 :]}"
    text = re.sub(
        r"([?&;][^=&?#\s]*=)([^&#\s]*)",
        lambda q: q.group(1) + MASK if is_secret_param(q.group(1)[1:-1]) else q.group(0),
        text,
    )
    return text


def mask_text(text: str) -> str:
    """Mask every URL and every ``password=...``-style pair inside free text (errors, log lines)."""
    if not text:
        return text
    parts: list[str] = []
    pos = 0
    for m in _URL_IN_TEXT_RE.finditer(text):
        if m.start() < pos:
            continue  # inside a URL already extended over a space in its password
        end = _userinfo_end(text, m)
        parts += [text[pos : m.start()], mask_url(text[m.start() : end])]
        pos = end
    parts.append(text[pos:])
    return _KV_SECRET_RE.sub(
        lambda m: (
            m.group(0) if m.group("val").startswith(MASK) else f"{m.group('key')}{m.group('sep')}{MASK}"
        ),
        "".join(parts),
    )


# `scheme://user:` then something that is not a port (`:5432/db`): the start of a password.
_USER_COLON_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:(?!\d*(?:/|$))")
_TOKEN_RE = re.compile(r"[^\s'\"<>`]*")


def _userinfo_end(text: str, m: re.Match[str]) -> int:
    """End of the URL found at `m`: a password containing spaces ends the match early, so a URL
    with ``user:`` but no ``@host`` yet extends to the next ``@`` on the same line."""
    token = m.group(0)
    if "@" in token or not _USER_COLON_RE.match(token):
        return m.end()
    line_end = text.find("\n", m.end())
    at = text.find("@", m.end(), line_end if line_end >= 0 else len(text))
    if at < 0 or "://" in text[m.end() : at]:
        return m.end()
    tail = _TOKEN_RE.match(text, at + 1)
    return tail.end() if tail is not None else at + 1
