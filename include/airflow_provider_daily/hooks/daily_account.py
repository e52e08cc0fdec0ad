"""The account part of :class:`~airflow_provider_daily.hooks.daily.DailyHook`: dial-in configs,
purchased phone numbers, the connection test, the domain and meeting tokens.

A mixin: ``DailyHook`` inherits it and supplies ``request``, ``_send``, ``settings`` and
``list_rooms``; import the hook, not this module.

May import: the provider's models and errors, and :mod:`.paging`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from airflow_provider_daily.errors import DailyApiError, DailyError, DailyTransportError
from airflow_provider_daily.hooks.paging import walk_pages
from airflow_provider_daily.models import (
    US_GLOBAL_DIALIN_NUMBER,
    DialinConfig,
    DialinConfigList,
    DomainConfig,
    MeetingTokenProperties,
    PurchasedPhoneNumber,
    PurchasedPhoneNumberList,
)

CONFIGS_PAGE_LIMIT = 100
NUMBERS_PAGE_LIMIT = 50
__all__ = ["NUMBERS_PAGE_LIMIT", "DailyAccountMixin"]


class DailyAccountMixin:
    """Dial-in configs, numbers, the connection test, domain and tokens (see :class:`~.daily.DailyHook`)."""

    # -- dial-in configs and phone numbers ----------------------------------------------------
    def list_dialin_configs(
        self,
        *,
        limit: int = CONFIGS_PAGE_LIMIT,
        starting_after: str | None = None,
        type: str | None = None,
        phone_number: str | None = None,
        name_prefix: str | None = None,
    ) -> DialinConfigList:
        params = {
            "limit": limit,
            "starting_after": starting_after,
            "type": type,
            "phone_number": phone_number,
            "name_prefix": name_prefix,
        }
        params = {k: v for k, v in params.items() if v is not None}
        return DialinConfigList.model_validate(self.request("GET", "/domain-dialin-config", params=params))

    def iter_dialin_configs(self, **filters: Any) -> Iterator[DialinConfig]:
        return walk_pages(
            lambda cursor: self.list_dialin_configs(limit=CONFIGS_PAGE_LIMIT, starting_after=cursor, **filters).data,
            CONFIGS_PAGE_LIMIT,
        )

    def get_dialin_config(self, config_id: str) -> DialinConfig:
        path = f"/domain-dialin-config/{quote(config_id, safe='')}"
        return DialinConfig.model_validate(self.request("GET", path))

    def create_dialin_config(self, body: dict[str, Any]) -> DialinConfig:
        """``POST /domain-dialin-config`` with the flat body (``type``, ``phone_number``, ...)."""
        return DialinConfig.model_validate(self.request("POST", "/domain-dialin-config", json=body))

    def update_dialin_config(self, config_id: str, body: dict[str, Any]) -> DialinConfig:
        path = f"/domain-dialin-config/{quote(config_id, safe='')}"
        return DialinConfig.model_validate(self.request("PUT", path, json=body))

    def delete_dialin_config(self, config_id: str) -> None:
        self.request("DELETE", f"/domain-dialin-config/{quote(config_id, safe='')}")

    def list_purchased_phone_numbers(
        self, *, limit: int = NUMBERS_PAGE_LIMIT, starting_after: str | None = None
    ) -> PurchasedPhoneNumberList:
        params: dict[str, Any] = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        body = self.request("GET", "/purchased-phone-numbers", params=params)
        return PurchasedPhoneNumberList.model_validate(body)

    def iter_purchased_phone_numbers(self) -> Iterator[PurchasedPhoneNumber]:
        return walk_pages(
            lambda cursor: self.list_purchased_phone_numbers(limit=NUMBERS_PAGE_LIMIT, starting_after=cursor).data,
            NUMBERS_PAGE_LIMIT,
        )

    # -- connection test ----------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Used by the UI's "Test" button: the key and its domain (``GET /``), then the numbers on the
        PIN flow (the connection's fallback number must be one unless it is Daily's global number);
        the message says which part failed. ``python -m daily_dialin doctor`` checks the rest."""
        try:
            domain = self.get_domain()
            page = self.list_rooms(limit=1)
        except DailyApiError as exc:
            return False, f"key: Daily refused the request: {exc}"
        except DailyError as exc:
            return False, f"key: {exc}"
        name = domain.domain_name or domain.domain_id
        found = f"key: ok, domain {name!r} at {self.base_url} ({page.total_count} live rooms)"
        ok, numbers = self._test_pin_numbers()
        return ok, f"{found}; numbers: {numbers}"

    def _test_pin_numbers(self) -> tuple[bool, str]:
        """Part of :meth:`test_connection`: which purchased numbers are on a ``pin_dialin`` config."""
        try:
            pin = sorted({str(c.config.phone_number) for c in self.iter_dialin_configs() if c.type == "pin_dialin"})
            fallback = self.settings.default_dialin_number
        except DailyError as exc:
            return False, f"cannot list the dial-in configs ({exc})"
        if not pin:
            return False, "no number is on the PIN flow: create a pin_dialin config (POST /domain-dialin-config)"
        if fallback != US_GLOBAL_DIALIN_NUMBER and fallback not in pin:
            return False, f"the fallback default_dialin_number {fallback} is not on the PIN flow ({', '.join(pin)} are)"
        return True, f"{', '.join(pin)} on the PIN flow"

    # -- domain and meeting tokens --------------------------------------------------------------
    def get_domain(self) -> DomainConfig:
        """``GET /``: the domain configuration, with the ``domain_id`` self-signed tokens carry as ``d``."""
        return DomainConfig.model_validate(self.request("GET", "/"))

    def create_meeting_token(self, properties: MeetingTokenProperties | dict[str, Any]) -> str:
        """``POST /meeting-tokens``: mint a token and return it. The token is a secret like a PIN:
        never log it, never return it to XCom. A retried call at worst mints a second token."""
        props = MeetingTokenProperties.model_validate(properties).to_api()
        body = self.request("POST", "/meeting-tokens", json={"properties": props})
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DailyError("POST /meeting-tokens answered without a token")
        return token

    def validate_meeting_token(self, token: str) -> MeetingTokenProperties:
        """``GET /meeting-tokens/:token``: the properties of a valid token (self-signed ones too).

        An invalid token raises :class:`DailyInvalidRequestError`. The token travels in the path,
        so this call is not retried (a retry warning would show the path) and errors name the path
        with the token left out.
        """
        hidden = "/meeting-tokens/<token>"
        try:
            body = self._send(
                "GET", f"/meeting-tokens/{quote(token, safe='')}", params=None, json=None, endpoint_class="default"
            )
        except DailyTransportError as exc:
            raise DailyTransportError(method="GET", path=hidden, reason=exc.reason) from None
        except DailyApiError as exc:
            raise type(exc)(
                status=exc.status,
                error=exc.error,
                info=exc.info,
                method="GET",
                path=hidden,
                retry_after=exc.retry_after,
            ) from None
        return MeetingTokenProperties.model_validate(body)
