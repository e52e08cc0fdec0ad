"""error_from_response: one rule table from (status, Daily's error code, info) to the typed error."""

from __future__ import annotations

import pytest

from airflow_provider_daily.errors import (
    DailyApiError,
    DailyAuthError,
    DailyInvalidRequestError,
    DailyNotFoundError,
    DailyQuotaReachedError,
    DailyRateLimitedError,
    DailyRoomAlreadyExistsError,
    DailyServerError,
    error_from_response,
)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (429, {"error": "rate-limit-error"}, DailyRateLimitedError),
        (400, {"error": "rate-limit-error"}, DailyRateLimitedError),
        (503, {"error": "server-error"}, DailyServerError),
        (500, None, DailyServerError),
        (404, {"error": "not-found", "info": "room x not found"}, DailyNotFoundError),
        (401, {"error": "authentication-error"}, DailyAuthError),
        (403, {"error": "forbidden-error"}, DailyAuthError),
        (400, {"error": "authorization-header-error"}, DailyAuthError),
        (400, {"error": "invalid-request-error", "info": "a room named x already exists"}, DailyRoomAlreadyExistsError),
        (400, {"error": "invalid-request-error", "info": "10000 rooms reached"}, DailyQuotaReachedError),
        (400, {"info": "Room quota exceeded"}, DailyQuotaReachedError),
        (400, {"error": "json-parsing-error", "info": "rooms reached"}, DailyInvalidRequestError),
        (400, {"error": "invalid-request-error", "info": "exp is missing"}, DailyInvalidRequestError),
        (422, {"errors": ["number unavailable"], "status": 422}, DailyInvalidRequestError),
        (409, {"error": "conflict"}, DailyApiError),
    ],
)
def test_the_most_specific_class_wins(status, body, cls):
    error = error_from_response(status=status, body=body, method="POST", path="/rooms")
    assert type(error) is cls
    assert error.status == status and error.method == "POST" and error.path == "/rooms"


def test_fields_of_odd_bodies_and_retry_after():
    error = error_from_response(
        status=422, body={"errors": ["gone"]}, method="POST", path="/buy-phone-number", headers={"Retry-After": "3"}
    )
    assert error.error is None and error.info == "['gone']" and error.retry_after == 3.0
    numeric = error_from_response(status=400, body={"error": 7, "info": 12}, method="GET", path="/")
    assert numeric.error is None and numeric.info == "12" and numeric.retry_after is None
