"""Connection URLs without their secrets, for messages, the manifest and rejects.csv.

This module imports nothing from tierwise, so that settings and errors may use it too.
"""

from __future__ import annotations

import re

__all__ = [
    "is_database_url",
    "quote_password",
    "redact_text",
    "redact_url",
    "url_secrets",
    "without_password",
]

_MASK = "***"
#: query arguments and key=value pairs that carry a secret (compared ignoring case)
_SECRET_KEYS = r"(?:password|passwd|pwd|pass|pgpassword|sslpassword|secret|token|api_?key)"
_QUERY_SECRET = re.compile(rf"(?i)([?&;]{_SECRET_KEYS}=)[^&#;]*")
_KEYWORD_SECRET = re.compile(rf"(?i)(\b{_SECRET_KEYS}\s*=\s*)('[^']*'|[^\s&;'\"]+)")
# scheme://user:password@host — the password runs from the first ":" after "//" to the
# *last* "@" before a host, so a password holding "@", "/", "?" or "#" written as it is
# (user:p@ss/w?x#y@host) is masked whole; an "@" in a query value makes it mask too much,
# never too little
_USERINFO = re.compile(r"(?i)^([a-z][a-z0-9+.\-]*://)([^/?#@:]*):(.*)@(?=[^@/?#]*(?:[/?#]|$))")
#: what follows "host:" in a URL without a user-info part (a port and the path)
_PORT_AND_PATH = re.compile(r"^\d*(?:[/?#]|$)")
#: query arguments tierwise adds itself, never shown
_INTERNAL_ARGS = re.compile(r"[?&]connect_timeout=\d+")
_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s'\"<>]+")


def is_database_url(text: str) -> bool:
    """Whether ``text`` is a PostgreSQL connection URL (``postgresql://``, ``postgres://``).

    Examples
    --------
    >>> is_database_url("postgresql://me@db/sales"), is_database_url("sales.csv")
    (True, False)
    """
    return text.lower().startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The URL with every password masked (``***``): the user-info password and secret
    query arguments (``password=``, ``sslpassword=``, ``PGPASSWORD=`` …).

    Text that is not a URL comes back as it is, but for ``password=…`` pairs.

    Examples
    --------
    >>> redact_url("postgresql://me:p@ss@db:5432/sales?sslmode=require&password=x")
    'postgresql://me:***@db:5432/sales?sslmode=require&password=***'
    >>> redact_url("postgres://db/sales?PGPASSWORD=hunter2")
    'postgres://db/sales?PGPASSWORD=***'
    >>> redact_url("postgresql://me:p@ss/w?x#y@db/sales")
    'postgresql://me:***@db/sales'
    >>> redact_url("data/invoices.csv")
    'data/invoices.csv'
    """
    text = str(url)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{_MASK}@", text, count=1)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{_MASK}", text)
    if "://" not in text:
        text = _KEYWORD_SECRET.sub(lambda m: f"{m.group(1)}{_MASK}", text)
    return text


def without_password(url: str) -> str:
    """The URL with its password left out (the user-info password and secret query
    arguments), to be stored: the password then comes from ``PGPASSWORD`` or ``~/.pgpass``.

    Examples
    --------
    >>> without_password("postgresql://me:p@ss/w@db:5432/sales?sslmode=require&password=x")
    'postgresql://me@db:5432/sales?sslmode=require'
    """
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}@", str(url), count=1)
    text = _QUERY_SECRET.sub("", text)
    if "?" not in text and "&" in text:
        text = text.replace("&", "?", 1)
    return text


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """A message (a driver's error, say) with every URL in it redacted and each of
    ``secrets`` masked wherever it appears.

    Examples
    --------
    >>> redact_text('connection to "postgresql://u:pw@h/db" failed: password=pw rejected')
    'connection to "postgresql://u:***@h/db" failed: password=*** rejected'
    """
    out = _KEYWORD_SECRET.sub(lambda m: f"{m.group(1)}{_MASK}", str(text))
    for s in secrets:
        if len(s) > 3:
            out = out.replace(s, _MASK)
        elif s:
            # a short secret is masked where it stands alone, not inside every word
            out = re.sub(rf"(?<![0-9A-Za-z]){re.escape(s)}(?![0-9A-Za-z])", _MASK, out)
    out = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), out)
    return _INTERNAL_ARGS.sub("", out)


def url_secrets(url: str) -> tuple[str, ...]:
    """The secret parts of a URL (the password and secret query values), to mask them in
    messages that quote them without the URL."""
    from urllib.parse import unquote

    found: list[str] = []
    m = _USERINFO.match(url)
    if m and m.group(3):
        found += [m.group(3), unquote(m.group(3))]
    for q in _QUERY_SECRET.finditer(url):
        value = url[q.end(1) : q.end()]
        if value:
            found += [value, unquote(value)]
    # a driver that misreads the URL may quote a piece of the password (the part after an
    # "@" it took for the host): mask the pieces too
    pieces = [
        p
        for f in found
        for cut in (r"[@/?#]", r"[@:/?#&=%]")
        for p in re.split(cut, f)
        if len(p) >= 3
    ]
    found = sorted(dict.fromkeys(found + pieces), key=len, reverse=True)
    return tuple(f for f in found if f)


def quote_password(url: str) -> str:
    """The URL with the user-info password percent-encoded, so that a password holding
    ``@``, ``:`` or ``/`` (``user:p@ss@host``) reaches the server whole.

    Examples
    --------
    >>> quote_password("postgresql://me:p@ss@db/sales")
    'postgresql://me:p%40ss@db/sales'
    >>> quote_password("postgresql://me:p%40ss@db/sales")
    'postgresql://me:p%40ss@db/sales'
    >>> quote_password("postgresql://me:Sl/ash#?@db/sales")
    'postgresql://me:Sl%2Fash%23%3F@db/sales'
    >>> quote_password("postgresql://db:5432/sales?application_name=a@b")
    'postgresql://db:5432/sales?application_name=a@b'
    """
    from urllib.parse import quote, unquote

    m = _USERINFO.match(url)
    if not m or _PORT_AND_PATH.match(m.group(3)):
        return url
    password = quote(unquote(m.group(3)), safe="")
    return f"{m.group(1)}{m.group(2)}:{password}@{url[m.end() :]}"
