"""GET / (domain configuration), POST /meeting-tokens and GET /meeting-tokens/:token: minted and
self-signed HS256 tokens, their claims, validation on the emulator's clock, auth, counting, rate limits."""

from __future__ import annotations

import logging
import time
import uuid
import warnings

import jwt
import pytest

from daily_emulator import EmulatorSettings
from daily_emulator.settings import default_domain_id
from tests.emulator.helpers import API_KEY, DOMAIN, Api, assert_error

DOMAIN_ID = default_domain_id(DOMAIN)
NOT_VALID = {"error": "invalid-request-error", "info": "token not valid"}


def _sign(claims, key=API_KEY, algorithm="HS256"):
    with warnings.catch_warnings():  # test keys are short; the emulator itself never warns about them
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def _claims(token, key=API_KEY, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.decode(
            token, key, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False, **options}
        )


def _mint(api, **properties):
    response = api.post("/meeting-tokens", {"properties": properties})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token"}
    return body["token"]


def _validate(api, token, **params):
    return api.get(f"/meeting-tokens/{token}", params=params)


def _assert_not_valid(response):
    assert response.status_code == 400, response.text
    assert response.json() == NOT_VALID


# ------------------------------------------------------------------------ domain


def test_domain_configuration(api):
    body = api.get("/").json()
    assert set(body) == {"domain_name", "domain_id", "config"}
    assert body["domain_name"] == DOMAIN
    assert body["domain_id"] == DOMAIN_ID
    assert uuid.UUID(body["domain_id"])
    assert isinstance(body["config"], dict)
    assert body["config"]["lang"] == "en"
    assert api.get("").json() == body  # /v1 and /v1/ alike


def test_domain_id_is_stable_and_configurable(make_server):
    assert default_domain_id(DOMAIN) == DOMAIN_ID
    assert default_domain_id("other") != DOMAIN_ID
    again = make_server()
    assert Api(base_url=again.base_url).get("/").json()["domain_id"] == DOMAIN_ID
    other = make_server(domain="other")
    assert Api(base_url=other.base_url).get("/").json()["domain_id"] == default_domain_id("other")
    chosen = "30f866c3-9123-452a-8723-ff58322d09c5"
    fixed = make_server(domain_id=chosen)
    assert Api(base_url=fixed.base_url).get("/").json()["domain_id"] == chosen
    assert fixed.admin.settings()["domain_id"] == chosen
    with pytest.raises(ValueError, match="domain_id"):
        EmulatorSettings(domain_id="not-a-uuid")


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("POST", "/meeting-tokens"), ("GET", "/meeting-tokens/x")])
def test_new_endpoints_need_auth(emu, method, path):
    assert_error(Api(base_url=emu.base_url, key=None).request(method, path), 400, "authorization-header-error")
    assert_error(Api(base_url=emu.base_url, key="wrong").request(method, path), 401, "authentication-error")


def test_new_endpoints_are_counted_and_rate_limited_as_default(emu, api):
    emu.admin.configure(
        rate_limits={"default": [{"requests": 3, "per_seconds": 600}], "delete": [{"requests": 50, "per_seconds": 1}]}
    )
    token = _mint(api, room_name="r")
    assert api.get("/").status_code == 200
    assert _validate(api, token).status_code == 200
    assert_error(api.get("/"), 429, "rate-limit-error")
    assert_error(api.post("/meeting-tokens", {}), 429, "rate-limit-error")
    assert_error(_validate(api, token), 429, "rate-limit-error")
    counters = emu.admin.counters()
    assert counters["requests"] == {"POST /meeting-tokens": 2, "GET /": 2, "GET /meeting-tokens/:token": 2}
    assert counters["rate_limited"] == {"GET /": 1, "POST /meeting-tokens": 1, "GET /meeting-tokens/:token": 1}
    assert token not in str(counters)


# ------------------------------------------------------------------------ minting


def test_minted_token_is_hs256_with_abbreviated_claims(api):
    exp = time.time() + 3600.5
    token = _mint(
        api,
        room_name="mtg-1",
        is_owner=True,
        exp=exp,
        nbf=1_700_000_000,
        eject_at_token_exp=True,
        eject_after_elapsed=600,
        user_name="Ada",
        user_id="u-1",
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = _claims(token)
    iat = claims.pop("iat")
    assert claims == {
        "r": "mtg-1",
        "o": True,
        "exp": exp,
        "nbf": 1_700_000_000,
        "ejt": True,
        "eje": 600,
        "u": "Ada",
        "ud": "u-1",
        "d": DOMAIN_ID,
    }
    assert isinstance(iat, int)
    assert abs(iat - time.time()) < 5


def test_token_without_properties(api):
    for body in (None, {}, {"properties": {}}, {"properties": {"user_name": None}}):
        response = api.post("/meeting-tokens", body)
        assert response.status_code == 200, response.text
        assert set(_claims(response.json()["token"])) == {"d", "iat"}


def test_minted_with_the_calling_key(make_server):
    server = make_server(api_keys=[API_KEY, "second-key"])
    token = _mint(Api(base_url=server.base_url, key="second-key"), room_name="r")
    assert _claims(token, "second-key")["r"] == "r"
    with pytest.raises(jwt.InvalidSignatureError):
        _claims(token, API_KEY)


def test_iat_follows_the_emulator_clock(emu, api):
    emu.admin.advance_clock(10_000)
    iat = _claims(_mint(api, room_name="later"), verify_iat=False)["iat"]
    assert abs(iat - (time.time() + 10_000)) < 5


@pytest.mark.parametrize(
    ("properties", "word"),
    [
        ({"room_name": "bad name"}, "room_name"),
        ({"room_name": "x" * 129}, "room_name"),
        ({"room_name": 42}, "room_name"),
        ({"exp": "tomorrow"}, "exp"),
        ({"exp": True}, "exp"),
        ({"nbf": [1]}, "nbf"),
        ({"is_owner": "yes"}, "is_owner"),
        ({"eject_at_token_exp": 1}, "eject_at_token_exp"),
        ({"eject_after_elapsed": -1}, "eject_after_elapsed"),
        ({"user_name": 5}, "user_name"),
        ({"user_id": {"id": 1}}, "user_id"),
        ({"room": "mtg-1"}, "room"),
        ({"r": "mtg-1"}, "r"),  # abbreviations are for self-signed payloads, not for the API
        ("not-an-object", "properties"),
    ],
)
def test_mint_validation(api, properties, word):
    assert_error(api.post("/meeting-tokens", {"properties": properties}), 400, "invalid-request-error", word)


def test_mint_body_must_be_an_object(api):
    assert_error(api.post("/meeting-tokens", ["room_name"]), 400, "invalid-request-error")
    response = api.post("/meeting-tokens", data="{nope", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "json-parsing-error")


# --------------------------------------------------------------------- validation


def test_minted_token_validates_with_long_names(api):
    exp = time.time() + 600.25
    token = _mint(api, room_name="mtg-2", is_owner=False, exp=exp, user_name="Bo", enable_screenshare=False)
    response = _validate(api, token)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "room_name": "mtg-2",
        "is_owner": False,
        "exp": exp,
        "user_name": "Bo",
        "enable_screenshare": False,
    }


def test_self_signed_token_validates(api):
    now = int(time.time())
    claims = {"r": "mtg-3", "iat": now, "d": DOMAIN_ID, "exp": now + 60, "o": True, "ejt": True, "u": "C", "ud": "9"}
    response = _validate(api, _sign(claims))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "room_name": "mtg-3",
        "exp": now + 60,
        "is_owner": True,
        "eject_at_token_exp": True,
        "user_name": "C",
        "user_id": "9",
    }
    assert _validate(api, _sign({"r": "no-d", "iat": now})).json() == {"room_name": "no-d"}  # d is optional


def test_self_signed_with_any_accepted_key(make_server):
    server = make_server(api_keys=[API_KEY, "second-key"])
    api = Api(base_url=server.base_url)
    token = _sign({"r": "k2", "iat": int(time.time()), "d": DOMAIN_ID}, key="second-key")
    assert _validate(api, token).json() == {"room_name": "k2"}
    _assert_not_valid(_validate(api, _sign({"r": "k3", "d": DOMAIN_ID}, key="retired-key")))


def test_other_domain_is_not_valid(api, make_server):
    _assert_not_valid(_validate(api, _sign({"r": "x", "d": default_domain_id("other")})))
    other = make_server(domain="other")
    token = _mint(Api(base_url=other.base_url), room_name="x")  # same key, other domain id
    _assert_not_valid(_validate(api, token))


def test_expired_token_is_not_valid(emu, api):
    _assert_not_valid(_validate(api, _sign({"r": "x", "exp": time.time() - 1})))
    token = _mint(api, room_name="x", exp=time.time() + 120)
    assert _validate(api, token).status_code == 200
    emu.admin.advance_clock(121)
    _assert_not_valid(_validate(api, token))


def test_not_yet_valid_token_needs_ignore_nbf(emu, api):
    nbf = time.time() + 300
    token = _mint(api, room_name="soon", nbf=nbf)
    _assert_not_valid(_validate(api, token))
    assert _validate(api, token, ignoreNbf="true").json() == {"room_name": "soon", "nbf": nbf}
    emu.admin.advance_clock(301)
    assert _validate(api, token).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        _sign({"r": "x"}, key="not-our-key"),
        _sign({"r": "x"}, algorithm="HS512"),
        jwt.encode({"r": "x"}, None, algorithm="none"),
        _sign({"r": "x", "exp": "never"}),
        _sign({"r": "x", "nbf": True}),
    ],
)
def test_invalid_tokens(api, token):
    _assert_not_valid(_validate(api, token))


def test_tampered_token_is_not_valid(api):
    token = _mint(api, room_name="mine", is_owner=False)
    header, _payload, signature = token.split(".")
    forged = _sign({"r": "mine", "o": True, "d": DOMAIN_ID}, key="attacker").split(".")[1]
    _assert_not_valid(_validate(api, f"{header}.{forged}.{signature}"))
    assert _validate(api, token).status_code == 200


def test_tokens_are_never_logged(api, caplog):
    caplog.set_level(logging.DEBUG)
    token = _mint(api, room_name="secret", exp=time.time() + 60)
    _validate(api, token)
    expired = _sign({"r": "secret", "exp": time.time() - 5})
    _validate(api, expired)
    _validate(api, _sign({"r": "secret"}, key="not-our-key"))
    # The client's own (urllib3) debug lines carry the URL; the emulator's lines must not.
    emulator_lines = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("urllib3")
    )
    assert "Meeting token refused" in emulator_lines
    assert token not in emulator_lines
    assert expired not in emulator_lines
    assert API_KEY not in emulator_lines
