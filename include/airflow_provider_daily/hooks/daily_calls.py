"""The calls part of :class:`~airflow_provider_daily.hooks.daily.DailyHook`: webhooks (Daily posts
events to the application's receiver) and meetings analytics (the fallback without webhooks).

A mixin: ``DailyHook`` inherits it and supplies ``request`` and ``_send``; import the hook, not
this module.

May import: the provider's models and errors, and :mod:`.paging`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from airflow_provider_daily.errors import DailyError, DailyNotFoundError
from airflow_provider_daily.hooks.paging import walk_pages
from airflow_provider_daily.models import MeetingList, MeetingParticipant, MeetingSession

MEETINGS_PAGE_LIMIT = 100  # [doc] at most 100 meeting sessions per call
__all__ = ["MEETINGS_PAGE_LIMIT", "DailyCallsMixin"]


class DailyCallsMixin:
    """Webhooks and meetings analytics (see :class:`~.daily.DailyHook`)."""

    # -- webhooks (the calls loop; Daily posts events to the application's receiver) ------------------
    # Answers are plain dicts ({uuid, url, hmac, state, failedCount, eventTypes, ...} [doc]): ``hmac``
    # is the webhook's secret - never log or return it to XCom.
    @staticmethod
    def _webhook_list(body: Any) -> list[dict[str, Any]]:
        items = body.get("data", body.get("webhooks")) if isinstance(body, dict) else body
        return [item for item in items or [] if isinstance(item, dict)] if isinstance(items, list) else []

    def list_webhooks(self) -> list[dict[str, Any]]:
        """``GET /webhooks``: the domain's webhooks (a list, or one under ``data``: both are read)."""
        return self._webhook_list(self.request("GET", "/webhooks"))

    def create_webhook(
        self,
        *,
        url: str,
        event_types: list[str],
        hmac_secret: str | None = None,
        retry_type: str | None = None,
    ) -> dict[str, Any]:
        """``POST /webhooks``. Sent once, not retried (a retried create could make a second hook):
        list first and reuse one with the same URL (what the bootstrap does)."""
        body: dict[str, Any] = {"url": url, "eventTypes": event_types}
        if hmac_secret:
            body["hmac"] = hmac_secret
        if retry_type:
            body["retryType"] = retry_type
        return dict(self._send("POST", "/webhooks", params=None, json=body, endpoint_class="default") or {})

    def update_webhook(self, uuid: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``POST /webhooks/:uuid``: change a webhook; on a FAILED one this re-arms it [doc]."""
        return dict(self.request("POST", f"/webhooks/{quote(uuid, safe='')}", json=fields) or {})

    def delete_webhook(self, uuid: str) -> None:
        """``DELETE /webhooks/:uuid``."""
        self.request("DELETE", f"/webhooks/{quote(uuid, safe='')}")

    # -- meetings analytics (the calls loop's fallback without webhooks) --------------------------
    # ~15 s granularity, joins under 10 s not recorded, no phone flag on participants [doc].
    def list_meetings(
        self,
        *,
        limit: int = MEETINGS_PAGE_LIMIT,
        starting_after: str | None = None,
        room: str | None = None,
        timeframe_start: int | None = None,
        timeframe_end: int | None = None,
        ongoing: bool | None = None,
        no_participants: bool | None = None,
    ) -> MeetingList:
        """``GET /meetings``: one page, newest first [doc]; the timeframe is unix seconds."""
        params = {
            "limit": limit,
            "starting_after": starting_after,
            "room": room,
            "timeframe_start": timeframe_start,
            "timeframe_end": timeframe_end,
            "ongoing": None if ongoing is None else str(ongoing).lower(),
            "no_participants": None if no_participants is None else str(no_participants).lower(),
        }
        params = {k: v for k, v in params.items() if v is not None}
        return MeetingList.model_validate(self.request("GET", "/meetings", params=params))

    def iter_meetings(self, **filters: Any) -> Iterator[MeetingSession]:
        """Every meeting session matching ``filters`` (:meth:`list_meetings`'s), following the cursor."""
        return walk_pages(
            lambda cursor: self.list_meetings(limit=MEETINGS_PAGE_LIMIT, starting_after=cursor, **filters).data,
            MEETINGS_PAGE_LIMIT,
        )

    def iter_meeting_participants(
        self, meeting_id: str, *, page_size: int = MEETINGS_PAGE_LIMIT
    ) -> Iterator[MeetingParticipant]:
        """``GET /meetings/:id/participants``, in join order, paging with ``joined_after`` (the last
        participant id) until Daily answers 404, which is how it says the pages ran out [doc]. An
        unknown meeting is therefore an empty iterator too."""
        path = f"/meetings/{quote(meeting_id, safe='')}/participants"
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if after:
                params["joined_after"] = after
            try:
                body = self.request("GET", path, params=params)
            except DailyNotFoundError:
                return
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise DailyError(f"GET {path} answered without a list of participants")
            page = [MeetingParticipant.model_validate(item) for item in items]
            yield from page
            if len(page) < page_size or not page[-1].participant_id:
                return
            after = page[-1].participant_id
