"""Settings from the environment, per-connection rate limits, and participant identity cookies."""

from __future__ import annotations

from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer

from townhall.config import Settings, SettingsError
from townhall.identity import COOKIE_NAME, Identities, read_cookie
from townhall.ratelimit import TokenBucket

SECRET = "s" * 32
OTHER_SECRET = "o" * 32

# -- settings -------------------------------------------------------------------------------


def test_defaults_without_townhall_variables() -> None:
    settings = Settings.from_env({"PATH": "/usr/bin", "PORT": "not-ours", "HOME": "/root"})
    assert settings == Settings()
    assert settings.port == 8000
    assert settings.host == "0.0.0.0"
    assert settings.data_dir == Path("data")
    assert settings.engine_url == "memory://"
    assert settings.tick_ms == 100


def test_every_setting_comes_from_its_variable() -> None:
    settings = Settings.from_env(
        {
            "TOWNHALL_HOST": "127.0.0.1",
            "TOWNHALL_PORT": "9123",
            "TOWNHALL_DATA_DIR": "/var/lib/townhall",
            "TOWNHALL_REDIS_URL": "redis://localhost:6379/0",
            "TOWNHALL_WORKERS": "3",
            "TOWNHALL_ROOM": "rooms/x.toml",
            "TOWNHALL_PUBLIC_URL": "http://192.168.0.10:9123",
            "TOWNHALL_HOST_KEY": "k" * 16,
            "TOWNHALL_SECRET": SECRET,
            "TOWNHALL_TICK_MS": "250",
            "TOWNHALL_LOG_LEVEL": "debug",
            "TOWNHALL_LISTEN_BACKLOG": "4096",
        }
    )
    assert settings == Settings(
        host="127.0.0.1",
        port=9123,
        data_dir=Path("/var/lib/townhall"),
        redis_url="redis://localhost:6379/0",
        workers=3,
        room="rooms/x.toml",
        public_url="http://192.168.0.10:9123",
        host_key="k" * 16,
        secret=SECRET,
        tick_ms=250,
        log_level="debug",
        listen_backlog=4096,
    )
    assert isinstance(settings.port, int)
    assert isinstance(settings.data_dir, Path)
    assert settings.engine_url == "redis://localhost:6379/0"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TOWNHALL_WORKERS": "2"}, "TOWNHALL_WORKERS"),
        ({"TOWNHALL_WORKERS": "0", "TOWNHALL_REDIS_URL": "redis://h/0"}, "TOWNHALL_WORKERS"),
        ({"TOWNHALL_REDIS_URL": "http://h/0"}, "TOWNHALL_REDIS_URL"),
    ],
)
def test_worker_and_redis_settings_are_checked(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


@pytest.mark.parametrize("name", ["TOWNHALL_PROT", "TOWNHALL_", "TOWNHALL_port", "TOWNHALL_DEBUG"])
def test_unknown_townhall_variable_is_an_error(name: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"TOWNHALL_PORT": "8000", name: "1"})
    assert str(info.value).startswith(f"{name}:")
    assert "unknown" in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOWNHALL_PORT", "eighty"),
        ("TOWNHALL_PORT", "80.5"),
        ("TOWNHALL_PORT", ""),
        ("TOWNHALL_PORT", "0"),
        ("TOWNHALL_PORT", "65536"),
        ("TOWNHALL_PORT", "-1"),
        ("TOWNHALL_TICK_MS", "fast"),
        ("TOWNHALL_TICK_MS", "5"),
        ("TOWNHALL_TICK_MS", "5001"),
        ("TOWNHALL_PUBLIC_URL", "192.168.0.10:8000"),
        ("TOWNHALL_PUBLIC_URL", "ftp://192.168.0.10"),
        ("TOWNHALL_PUBLIC_URL", "http://"),
        # The join link is the address with /j/CODE after it: here the code would land in the
        # query, the fragment or a broken host, and the QR code would send phones elsewhere.
        ("TOWNHALL_PUBLIC_URL", "http://forum.example.org/?x=1"),
        ("TOWNHALL_PUBLIC_URL", "http://forum.example.org/#join"),
        ("TOWNHALL_PUBLIC_URL", "http://forum.example.org?"),
        ("TOWNHALL_PUBLIC_URL", "http://user:pass@forum.example.org"),
        ("TOWNHALL_PUBLIC_URL", "http://forum.example.org:99999"),
        ("TOWNHALL_PUBLIC_URL", "http://:8000"),
        ("TOWNHALL_PUBLIC_URL", "http://forum example.org"),
        ("TOWNHALL_PUBLIC_URL", 'http://forum.example.org/"><b>'),
        ("TOWNHALL_LISTEN_BACKLOG", "0"),
        ("TOWNHALL_LISTEN_BACKLOG", "many"),
        ("TOWNHALL_HOST_KEY", "k" * 15),
        ("TOWNHALL_SECRET", "s" * 31),
    ],
)
def test_malformed_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value})
    assert str(info.value).startswith(f"{name}:")


def test_settings_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="TOWNHALL_PORT"):
        Settings.from_env({"TOWNHALL_PORT": "x"})


def test_override_replaces_only_given_values() -> None:
    base = Settings.from_env({"TOWNHALL_PORT": "9000", "TOWNHALL_HOST": "127.0.0.1"})
    changed = base.override(port=9001, host=None, data_dir=Path("elsewhere"))
    assert changed.port == 9001
    assert changed.host == "127.0.0.1"
    assert changed.data_dir == Path("elsewhere")
    assert base.port == 9000  # frozen: the original is untouched
    with pytest.raises(SettingsError, match="TOWNHALL_PORT"):
        base.override(port=70000)


# -- rate limiting --------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_refuses() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, updated=100.0)
    assert [bucket.take(now=100.0) for _ in range(3)] == [True, True, True]
    assert bucket.take(now=100.0) is False
    assert bucket.take(now=100.0) is False


def test_bucket_refills_with_time() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, updated=0.0)
    for _ in range(3):
        assert bucket.take(now=0.0)
    assert not bucket.take(now=0.0)
    assert not bucket.take(now=0.25)  # half a token so far
    assert bucket.take(now=0.5)  # a whole token at 2 per second
    assert not bucket.take(now=0.5)
    assert bucket.take(now=1.0)
    assert not bucket.take(now=1.0)


def test_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, updated=0.0)
    assert bucket.take(now=0.0)
    # A long quiet spell refills the bucket to its burst, not beyond.
    results = [bucket.take(now=3600.0) for _ in range(5)]
    assert results == [True, True, True, False, False]


def test_refused_takes_do_not_cost_tokens() -> None:
    bucket = TokenBucket(rate=1.0, burst=1.0, updated=0.0)
    assert bucket.take(now=0.0)
    for t in (0.1, 0.2, 0.3, 0.4):
        assert not bucket.take(now=t)
    assert bucket.take(now=1.0)


def test_bucket_uses_the_monotonic_clock_by_default() -> None:
    bucket = TokenBucket(rate=0.001, burst=2.0)
    assert bucket.take()
    assert bucket.take()
    assert not bucket.take()


# -- identity cookies -----------------------------------------------------------------------


def test_new_cookie_verifies() -> None:
    identities = Identities(SECRET)
    participant, cookie = identities.new()
    assert participant
    assert cookie != participant
    assert identities.verify(cookie) == participant
    assert Identities(SECRET).verify(cookie) == participant  # same secret, another instance


def test_new_ids_are_distinct() -> None:
    identities = Identities(SECRET)
    ids = {identities.new()[0] for _ in range(50)}
    assert len(ids) == 50


def test_tampered_cookie_does_not_verify() -> None:
    identities = Identities(SECRET)
    participant, cookie = identities.new()
    payload, _, signature = cookie.rpartition(".")
    # The first character: the last one of a base64 signature carries padding bits that
    # may decode to the same bytes.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert identities.verify(f"{payload}.{flipped}") is None
    forged_payload = URLSafeSerializer("x" * 32).dumps("mallory").rpartition(".")[0]
    assert identities.verify(f"{forged_payload}.{signature}") is None
    assert identities.verify(cookie + "x") is None
    assert identities.verify(participant) is None
    assert identities.verify("") is None
    assert identities.verify(None) is None


def test_cookie_signed_with_another_secret_does_not_verify() -> None:
    _, cookie = Identities(OTHER_SECRET).new()
    assert Identities(SECRET).verify(cookie) is None


def test_cookie_with_the_right_secret_but_another_salt_does_not_verify() -> None:
    cookie = URLSafeSerializer(SECRET).dumps("alice")
    assert Identities(SECRET).verify(cookie) is None


def test_signed_non_string_is_not_an_identity() -> None:
    serializer = URLSafeSerializer(SECRET, salt="townhall.participant")
    identities = Identities(SECRET)
    assert identities.verify(serializer.dumps("alice")) == "alice"
    assert identities.verify(serializer.dumps(42)) is None
    assert identities.verify(serializer.dumps("")) is None
    assert identities.verify(serializer.dumps(["alice"])) is None


def test_from_cookie_header() -> None:
    identities = Identities(SECRET)
    participant, cookie = identities.new()
    assert identities.from_cookie_header(f"{COOKIE_NAME}={cookie}") == participant
    header = f"theme=dark; {COOKIE_NAME}={cookie}; lang=ko"
    assert identities.from_cookie_header(header) == participant
    assert identities.from_cookie_header("theme=dark; lang=ko") is None
    assert identities.from_cookie_header("") is None
    assert identities.from_cookie_header(f"{COOKIE_NAME}={cookie}x") is None
    _, foreign = Identities(OTHER_SECRET).new()
    assert identities.from_cookie_header(f"{COOKIE_NAME}={foreign}") is None


def test_read_cookie_is_plain_and_linear() -> None:
    header = 'a=1; townhall_pid=abc.def ; townhall_lang=ko; q="\\\\\\\\"'
    assert read_cookie(header, "townhall_pid") == "abc.def"
    assert read_cookie(header, "townhall_lang") == "ko"
    assert read_cookie(header, "missing") is None
    assert read_cookie("", "townhall_pid") is None
    assert read_cookie("townhall_pid", "townhall_pid") is None


@pytest.mark.parametrize(
    "url", ["https://forum.example.org/townhall", "http://[fe80::1]:8000/", "http://도서관.kr"]
)
def test_public_url_may_have_a_path_an_ipv6_or_a_korean_host(url: str) -> None:
    assert Settings.from_env({"TOWNHALL_PUBLIC_URL": url}).public_url == url
