"""Credentials stay out of parameters, notebooks, reports and messages.

A backend URL names where the data lives (``postgres://analyst@warehouse/medicaid``); its
password never travels with it. The run parameters refuse a URL that carries one (inline or
in its query string), the library adds the password from ``$DSRIP_BACKEND_PASSWORD`` only
when it opens the connection (:func:`with_password`), and every message that quotes a
parameter or a driver's error is passed through :func:`mask` first. An engine's own
credential file (``~/.pgpass``, a Spark or cloud profile) works as well and needs nothing
from the suite. docs/running_reports.md ("Credentials") is the user's page for this.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

PASSWORD_ENV = "DSRIP_BACKEND_PASSWORD"
MASK = "***"
# query-string keys that hold a secret (compared lower-case, '-' as '_')
SECRET_KEYS = frozenset({"password", "passwd", "pwd", "secret", "token", "access_token", "api_key", "apikey",
                         "key", "client_secret", "sas_token", "sig", "signature", "auth", "credentials"})

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<secret>[^@/\s]+)@", re.I)
_QUERY_SECRET = re.compile(r"(?P<key>[?&;](?:%s)=)(?P<secret>[^&;\s'\"]+)" % "|".join(
    re.escape(k).replace("_", "[_-]") for k in sorted(SECRET_KEYS, key=len, reverse=True)), re.I)


def mask(text: object) -> str:
    """``text`` with every URL password and secret query value replaced by ``***``.

    Applied to each message that may quote a parameter or a driver's error, so a
    terminal, a CI log or a failure message never shows a secret.
    """
    masked = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", str(text))
    masked = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", masked)
    secret = os.environ.get(PASSWORD_ENV)
    for form in {secret, quote(secret or "", safe="")} - {None, ""}:
        masked = masked.replace(form, MASK)
    return masked


def inline_secrets(url: str) -> list[str]:
    """What in a backend URL is a secret: ``password`` and the secret query keys it carries."""
    if "://" not in url:
        return []
    parts = urlsplit(url)
    found = ["password"] if parts.password else []
    found += [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)
              if key.lower().replace("-", "_") in SECRET_KEYS]
    return found


def with_password(url: str) -> str:
    """The URL to connect with: ``$DSRIP_BACKEND_PASSWORD`` added for the user it names, if both are set.

    Called only where the connection opens, so the password exists nowhere else.
    """
    secret = os.environ.get(PASSWORD_ENV)
    parts = urlsplit(url)
    if not secret or not parts.username or parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{quote(secret, safe='')}@{host}"))
