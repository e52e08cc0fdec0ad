"""The doctor's Daily checks, through :class:`~airflow_provider_daily.hooks.daily.DailyHook` (read-only).

* **key and domain**: ``GET /`` answers with the domain's name (a key of another domain names another);
* **numbers**: every number the settings name - the connection's fallback ``default_dialin_number``
  and the ``requested_phone_number`` values found in the table - is purchased
  (``GET /purchased-phone-numbers``) and on a ``pin_dialin`` config (``GET /domain-dialin-config``);
  Daily's global numbers (the fallback's default) need no purchase;
* **room quota**: live rooms (all of the domain's, those under the prefix named) plus the rooms the
  horizon still needs, against the plan's live-room quota. Daily documents the quota per plan (e.g.
  10,000 on the scale plan) but no endpoint reports it [doc]: the doctor uses ``--room-quota`` when
  given, else a ``room_quota``/``max_live_rooms`` key of ``GET /``'s ``config`` [assumed: none is
  documented], else the documented 10,000, and says which;
* **webhook** (the calls loop): when this deployment has a receiver URL (``$DAILY_WEBHOOK_URL`` or the
  Variable ``daily_calls``'s ``webhook_url``), a webhook registered for it and ``ACTIVE``
  (``GET /webhooks``); otherwise *skip*.

May import: the provider (hook, models, errors), :mod:`daily_dialin.doctor.report`,
:mod:`daily_dialin.invitations.settings` (the global numbers) and ``provisioning.reconcile.is_ours``
(which rooms are this deployment's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airflow_provider_daily.errors import DailyApiError, DailyError
from airflow_provider_daily.models import normalize_phone_number
from daily_dialin.doctor.report import Check, fail, ok, skip, warn

AREA = "daily"
DOCUMENTED_QUOTA = 10_000  # live rooms on the scale plan [doc]
QUOTA_KEYS = ("room_quota", "max_live_rooms", "max_rooms")  # [assumed]: GET / documents none
WARN_SHARE = 0.8


@dataclass(frozen=True)
class Demand:
    """What the table asks of Daily: requested numbers and rooms the horizon still needs."""

    requested_numbers: frozenset[str] = frozenset()
    unreadable_numbers: int = 0
    rooms_needed: int = 0


def global_numbers() -> frozenset[str]:
    """Daily's shared numbers (every PIN works on them): never purchased, never on a config."""
    from daily_dialin.invitations.settings import DEFAULT_GLOBAL_NUMBERS

    return frozenset(str(n.number) for n in DEFAULT_GLOBAL_NUMBERS)


def key_and_domain(hook: Any) -> tuple[Check, Any]:
    """``GET /``: the key works and names the domain; returns the domain (None on failure)."""
    try:
        domain = hook.get_domain()
    except DailyApiError as exc:
        if exc.status in (401, 403):
            why = f"Daily refused the API key ({exc.status} {exc.error or 'authentication-error'})"
            return fail(AREA, "api key", why, _key_fix(hook)), None
        return fail(AREA, "api key", f"GET / answered {exc.status} {exc.error or ''}", _key_fix(hook)), None
    except DailyError as exc:
        return fail(AREA, "api key", f"Daily is not reachable: {type(exc).__name__}", _key_fix(hook)), None
    name = domain.domain_name or domain.domain_id
    return ok(AREA, "api key", f"accepted by domain {name!r} (GET /)"), domain


def _key_fix(hook: Any) -> str:
    conn_id = getattr(hook, "daily_conn_id", "daily_default")
    return (
        f"put the API key of your domain (dashboard -> Developers) in connection {conn_id!r}'s password "
        "and check its host (empty: Daily's API)"
    )


def _fallback(hook: Any) -> str | None:
    try:
        return hook.settings.default_dialin_number
    except DailyError:  # the connection's extras are invalid: reported by the key check's request already
        return None


NUMBERS_FIX = (
    "buy the number (POST /buy-phone-number) or fix the requested number in the table; put it on the PIN "
    'flow: POST /domain-dialin-config {"type": "pin_dialin", "phone_number": ...} (a pinless config '
    "must be deleted first)"
)


def numbers(hook: Any, demand: Demand) -> Check:
    """Every number the settings name is purchased and on a ``pin_dialin`` config."""
    try:
        purchased, configs = _listed_numbers(hook)
    except DailyError as exc:
        return fail(
            AREA, "numbers", f"cannot list numbers or dial-in configs ({type(exc).__name__})", "retry; check the key"
        )
    wanted = _wanted(hook, demand)
    problems = [p for p in (_number_problem(n, role, purchased, configs) for n, role in wanted.items()) if p]
    if problems:
        return fail(AREA, "numbers", "; ".join(problems), NUMBERS_FIX)
    if "pin_dialin" not in configs.values():
        return warn(AREA, "numbers", "no purchased number is on the PIN flow", "create a pin_dialin config")
    names = ", ".join(f"{n} ({role})" for n, role in wanted.items()) or "none"
    return ok(AREA, "numbers", f"on the PIN flow: {names}{_unreadable(demand)}")


def _listed_numbers(hook: Any) -> tuple[set[str], dict[str, str]]:
    """The domain's purchased numbers, and number -> the type of the dial-in config it is on."""
    purchased = {str(n.number) for n in hook.iter_purchased_phone_numbers()}
    configs = {str(c.config.phone_number): c.type for c in hook.iter_dialin_configs() if c.config.phone_number}
    return purchased, configs


def _unreadable(demand: Demand) -> str:
    return f"; {demand.unreadable_numbers} unreadable requested numbers" if demand.unreadable_numbers else ""


def _wanted(hook: Any, demand: Demand) -> dict[str, str]:
    wanted: dict[str, str] = {}
    fallback = _fallback(hook)
    if fallback:
        wanted[fallback] = "fallback, Daily's global number" if fallback in global_numbers() else "fallback"
    for number in sorted(demand.requested_numbers):
        wanted.setdefault(number, "requested in the table")
    return wanted


def _number_problem(number: str, role: str, purchased: set[str], configs: dict[str, str]) -> str | None:
    if number in global_numbers() and number not in purchased:
        return None  # Daily's global number: every PIN works on it
    if number not in purchased:
        return f"{number} ({role}) is not purchased on this domain"
    kind = configs.get(number)
    if kind is None:
        return f"{number} ({role}) is purchased but on no dial-in config"
    if kind != "pin_dialin":
        return f"{number} ({role}) is on the {kind} flow, not pin_dialin"
    return None


def quota(hook: Any, demand: Demand, *, prefix: str, domain: Any, given: int | None) -> Check:
    """Live rooms + rooms the horizon still needs against the live-room quota."""
    try:
        rooms = [room.name for room in hook.iter_rooms()]
    except DailyError as exc:
        return fail(AREA, "room quota", f"cannot list rooms ({type(exc).__name__})", "retry; check the key")
    from daily_dialin.provisioning.reconcile import is_ours  # the one rule of "this deployment's room"

    ours = sum(1 for name in rooms if is_ours(name, prefix))
    limit, source = _quota_of(domain, given)
    total = len(rooms) + demand.rooms_needed
    why = (
        f"{len(rooms)} live rooms ({ours} under prefix {prefix!r}) + {demand.rooms_needed} the horizon still needs "
        f"= {total} of a quota of {limit} ({source})"
    )
    fix = "ask Daily for a higher quota, shorten horizon_days, or delete rooms nobody needs (reconcile's orphans)"
    if total > limit:
        return fail(AREA, "room quota", why, fix)
    if total > limit * WARN_SHARE:
        return warn(AREA, "room quota", why, fix)
    return ok(AREA, "room quota", why)


def _quota_of(domain: Any, given: int | None) -> tuple[int, str]:
    if given is not None:
        return given, "--room-quota"
    config = getattr(domain, "config", None) or {}
    for key in QUOTA_KEYS:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value, f"GET / config.{key}"
    return DOCUMENTED_QUOTA, "assumed: Daily reports no quota, the scale plan's documented 10,000; pass --room-quota"


WEBHOOK_FIX = "python -m daily_dialin.bootstrap --register-webhook (registers it, or re-arms a FAILED one)"


def webhook(hook: Any, url: str | None) -> Check:
    """The calls loop's webhook (``url``: this deployment's receiver; None: the loop is not set up):
    registered with Daily, ``ACTIVE``, pointing at that URL."""
    lister = getattr(hook, "list_webhooks", None)
    if not url or lister is None:
        return skip(AREA, "webhook", "not configured (no DAILY_WEBHOOK_URL nor daily_calls.webhook_url)")
    try:
        hooks = [item for item in lister() if isinstance(item, dict)]
    except DailyError as exc:
        return fail(AREA, "webhook", f"cannot list the webhooks (GET /webhooks: {type(exc).__name__})", WEBHOOK_FIX)
    return _webhook_state(hooks, url)


def _webhook_state(hooks: list[dict[str, Any]], url: str) -> Check:
    """The verdict on Daily's webhooks: one points at ``url`` and is ``ACTIVE``."""
    ours = [item for item in hooks if item.get("url") == url]
    if not ours:
        elsewhere = f"; {len(hooks)} other webhook(s) point elsewhere" if hooks else ""
        return fail(AREA, "webhook", f"no webhook points at {url}{elsewhere}", WEBHOOK_FIX)
    state = str(ours[0].get("state") or "unknown")
    if state.upper() != "ACTIVE":
        return fail(AREA, "webhook", f"the webhook for {url} is {state}: Daily sends it no events", WEBHOOK_FIX)
    return ok(AREA, "webhook", f"ACTIVE, pointing at {url}")


def requested_numbers(values: Iterable[Any]) -> tuple[frozenset[str], int]:
    """The distinct requested numbers as E.164, and how many could not be read as one."""
    found: set[str] = set()
    bad = 0
    for value in values:
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            found.add(normalize_phone_number(value))
        except (ValueError, TypeError):
            bad += 1
    return frozenset(found), bad


def run(
    hook: Any, demand: Demand, *, prefix: str, room_quota: int | None = None, webhook_url: str | None = None
) -> list[Check]:
    """Every Daily check; after a failed key check the others say *skip*."""
    first, domain = key_and_domain(hook)
    if first.status == "fail":
        return [first, *(skip(AREA, name, "the API key check failed") for name in ("numbers", "room quota", "webhook"))]
    return [
        first,
        numbers(hook, demand),
        quota(hook, demand, prefix=prefix, domain=domain, given=room_quota),
        webhook(hook, webhook_url),
    ]
