"""Owner tokens for host links, checked by the emulator like Daily checks them (``GET /meeting-tokens/:token``)."""

from __future__ import annotations

import time

import jwt
import pytest

from airflow_provider_daily.errors import DailyInvalidRequestError
from airflow_provider_daily.models import MeetingTokenProperties
from daily_dialin.invitations.tokens import (
    ApiOwnerTokens,
    SelfSignedOwnerTokens,
    host_link,
    owner_token_minter,
)
from tests.support.daily import TEST_KEY


@pytest.fixture
def exp() -> int:
    return int(time.time()) + 3 * 86400


def test_get_domain(hook):
    domain = hook.get_domain()
    assert domain.domain_name == "acme"
    assert domain.domain_id


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_self_signed_token_claims_and_determinism(exp):
    minter = SelfSignedOwnerTokens(api_key=TEST_KEY, domain_id="dom-1")
    token = minter.mint(room_name="mtg-M1", exp=exp, issued_at=1_800_000_000)
    assert token == minter.mint(room_name="mtg-M1", exp=exp, issued_at=1_800_000_000), "same claims, same token"
    claims = jwt.decode(token, TEST_KEY, algorithms=["HS256"], options={"verify_iat": False})
    assert claims == {"r": "mtg-M1", "o": True, "exp": exp, "ejt": True, "d": "dom-1", "iat": 1_800_000_000}
    assert TEST_KEY not in repr(minter)


def test_the_emulator_accepts_a_self_signed_owner_token(hook, exp):
    minter = owner_token_minter(method="self_signed", hook=hook)
    assert isinstance(minter, SelfSignedOwnerTokens)
    token = minter.mint(room_name="mtg-M1", exp=exp, issued_at=int(time.time()))
    props = hook.validate_meeting_token(token)
    assert (props.room_name, props.is_owner, props.exp, props.eject_at_token_exp) == ("mtg-M1", True, exp, True)


def test_the_emulator_refuses_a_token_of_another_domain_or_key(hook, exp):
    domain_id = hook.get_domain().domain_id
    for minter in (
        SelfSignedOwnerTokens(api_key=TEST_KEY, domain_id="someone-else"),
        SelfSignedOwnerTokens(api_key="not-the-key", domain_id=domain_id),
    ):
        token = minter.mint(room_name="mtg-M1", exp=exp, issued_at=int(time.time()))
        with pytest.raises(DailyInvalidRequestError) as info:
            hook.validate_meeting_token(token)
        assert token not in str(info.value), "the token stays out of the error"
        assert "/meeting-tokens/<token>" in str(info.value)


def test_api_minted_owner_token(hook, daily_conn, exp):
    minter = owner_token_minter(method="api", hook=hook)
    assert isinstance(minter, ApiOwnerTokens)
    token = minter.mint(room_name="mtg-M2", exp=exp, issued_at=0)
    props = hook.validate_meeting_token(token)
    assert (props.room_name, props.is_owner, props.exp, props.eject_at_token_exp) == ("mtg-M2", True, exp, True)
    assert daily_conn.admin.counters()["requests"]["POST /meeting-tokens"] == 1


def test_create_meeting_token_takes_a_dict(hook, exp):
    token = hook.create_meeting_token({"room_name": "mtg-M3", "exp": exp})
    assert hook.validate_meeting_token(token) == MeetingTokenProperties(room_name="mtg-M3", exp=exp)


def test_host_link():
    assert host_link("https://acme.daily.co/mtg-1", "a.b.c") == "https://acme.daily.co/mtg-1?t=a.b.c"
    assert host_link("https://acme.daily.co/mtg-1?lang=de", "a.b.c") == "https://acme.daily.co/mtg-1?lang=de&t=a.b.c"
