"""Meeting owner tokens for host links: self-signed (preferred) or minted by ``POST /meeting-tokens``.

A host link is the room URL with ``?t=<token>``: whoever opens it joins as the meeting's owner,
so the phone participants waiting for the meeting to start are let in. Each token is bound to
one room (``r``), is an owner token (``o``), expires with the room (``exp``) and ejects its holder
then (``ejt``), as Daily's PIN dial-in guide asks.

* :class:`SelfSignedOwnerTokens` signs the JWT itself with the domain's API key (HS256, Daily's
  abbreviated claims, ``d`` = the domain id from ``GET /``): no API call per token, and for the
  same claims the same token, so a re-written host file is byte-identical.
* :class:`ApiOwnerTokens` asks Daily for each token.

Tokens are secrets like PINs: they are never logged, never returned to XCom and never stored
anywhere but the host file. Neither class shows the key or a token in its ``repr``.
"""

from __future__ import annotations

import warnings
from typing import Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from airflow_provider_daily.errors import DailyError
from airflow_provider_daily.hooks.daily import DailyHook
from airflow_provider_daily.models import MeetingTokenProperties


class OwnerTokenMinter(Protocol):
    def mint(self, *, room_name: str, exp: int, issued_at: int) -> str:
        """An owner token for ``room_name`` valid until ``exp`` (unix seconds)."""
        ...


class SelfSignedOwnerTokens:
    """Daily self-signed meeting tokens: a JWT signed with the domain's API key.

    :param api_key: the domain's API key (the ``daily`` connection's password).
    :param domain_id: the domain's id (``GET /`` -> ``domain_id``), the ``d`` claim.
    """

    algorithm = "HS256"

    def __init__(self, *, api_key: str, domain_id: str) -> None:
        if not api_key or not domain_id:
            raise DailyError("self-signed tokens need the domain's API key and its domain id")
        self._key = api_key
        self.domain_id = domain_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(domain_id={self.domain_id!r})"

    def claims(self, *, room_name: str, exp: int, issued_at: int) -> dict[str, object]:
        """The payload: room, owner, expiry, eject at expiry, domain, issued at."""
        return {"r": room_name, "o": True, "exp": int(exp), "ejt": True, "d": self.domain_id, "iat": int(issued_at)}

    def mint(self, *, room_name: str, exp: int, issued_at: int) -> str:
        with warnings.catch_warnings():
            # the key's length is Daily's choice, not ours
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.encode(
                self.claims(room_name=room_name, exp=exp, issued_at=issued_at), self._key, algorithm=self.algorithm
            )


class ApiOwnerTokens:
    """Owner tokens from ``POST /meeting-tokens``, one call per token (``issued_at`` is Daily's)."""

    def __init__(self, *, hook: DailyHook) -> None:
        self.hook = hook

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hook={self.hook!r})"

    def mint(self, *, room_name: str, exp: int, issued_at: int) -> str:
        properties = MeetingTokenProperties(room_name=room_name, is_owner=True, exp=int(exp), eject_at_token_exp=True)
        return self.hook.create_meeting_token(properties)


def owner_token_minter(*, method: str, hook: DailyHook) -> OwnerTokenMinter:
    """The minter for a settings' ``token_method``: ``self_signed`` reads the key from the hook's
    connection and the domain id from ``GET /`` (one call per run); ``api`` uses the hook."""
    if method == "api":
        return ApiOwnerTokens(hook=hook)
    if method != "self_signed":
        raise ValueError(f"unknown token_method {method!r}")
    api_key = hook.get_connection(hook.daily_conn_id).password
    if not api_key:
        raise DailyError(f"connection {hook.daily_conn_id!r} has no API key (password field)")
    return SelfSignedOwnerTokens(api_key=api_key, domain_id=hook.get_domain().domain_id)


def host_link(room_url: str, token: str) -> str:
    """The room URL with the token as ``?t=``: opening it joins as the owner."""
    parts = urlsplit(room_url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"t": token})))
