"""Configuration: the documented keys work, and a bad config is one clear line and exit status 2."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from extractors.urls import canonicalize
from flows.cli import main
from flows.settings import (
    RANGES,
    SEEDS_DIR,
    AlertSettings,
    ConfigError,
    FeedbackSettings,
    FetchSettings,
    ScheduleSettings,
    SmtpSettings,
    TopicSettings,
    load_settings,
    load_topic,
)

ROOT = Path(__file__).resolve().parents[1]


def test_documented_keys_are_read(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[warehouse]\npath = "w/x.duckdb"\n[[feeds]]\nurl = "https://example.org/rss.xml"\nname = "Example"\n'
        '[fetch]\nallow_hosts = ["Intranet.local"]\ntimeout_seconds = 5\n',
        encoding="utf-8",
    )
    settings = load_settings(config)
    assert settings.warehouse_path == (Path.cwd() / "w/x.duckdb").resolve()
    assert [(f.url, f.name) for f in settings.feeds] == [("https://example.org/rss.xml", "Example")]
    assert settings.fetch.allow_hosts == ("intranet.local",)
    assert settings.fetch.timeout_seconds == 5.0


def test_no_config_means_the_topic_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    settings = load_settings()
    assert settings.feeds == load_topic().default_feeds
    assert settings.warehouse_path.name == "newsmon" and settings.fetch.allow_hosts == ()


def test_config_comes_from_the_environment_when_not_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[warehouse]\npath = "env.duckdb"\n', encoding="utf-8")
    monkeypatch.setenv("NEWSMON_CONFIG", str(config))
    assert load_settings().warehouse_path.name == "env.duckdb"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fetch]\ntimeout = 3\n", "unknown key [fetch] timeout"),
        ("[fetch]\ntimeout_seconds = 'fast'\n", "[fetch] timeout_seconds must be of type float"),
        ("[fetch]\nallow_hosts = 'localhost'\n", "[fetch] allow_hosts must be a list of strings"),
        ("[fetch]\nretries = true\n", "[fetch] retries must be of type int"),
        ("[wharehouse]\npath = 'x'\n", "unknown section [wharehouse]"),
        ("[[feeds]]\nname = 'no url'\n", "feed 1 needs a url string"),
        ("[[feeds]]\nurl = 'ftp://example.org/x'\n", "not an absolute http(s) URL"),
        ("[warehouse\n", "is not valid TOML"),
        ("[alerts]\nto = []\n", "[alerts] to must list at least one email address"),
        ('[alerts]\nto = ["a@b.c", "analysts"]\n', "[alerts] to: 'analysts' is not an email address"),
        ('[alerts]\nto = ["a@b.c"]\nmode = "hourly"\n', "[alerts] mode must be"),
        ('[smtp]\nsecurity = "tls"\n', "[smtp] security must be"),
        ('[smtp]\npassword = "x"\n', "unknown key [smtp] password"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("section", "key", "value", "allowed"),
    [
        ("fetch", "concurrency", "0", "at least 1"),
        ("fetch", "per_host", "0", "at least 1"),
        ("fetch", "timeout_seconds", "0", "more than 0"),
        ("fetch", "max_bytes", "10", "at least 1024"),
        ("fetch", "retries", "-1", "from 0 to 10"),
        ("fetch", "retries", "11", "from 0 to 10"),
        ("fetch", "backoff_seconds", "-0.5", "from 0 to 600"),
        ("fetch", "max_page_attempts", "0", "at least 1"),
        ("fetch", "min_poll_minutes", "-1", "at least 0"),
        ("fetch", "workers", "-1", "from 0 to 256"),
        ("fetch", "batch_size", "0", "at least 1"),
        ("topic", "threshold", "5", "from 0 to 1"),
        ("topic", "threshold", "-0.1", "from 0 to 1"),
        ("schedule", "interval_minutes", "0", "at least 1"),
        ("alerts", "digest_hour", "24", "from 0 to 23"),
        ("alerts", "new_recipient_days", "0", "at least 1"),
        ("smtp", "port", "0", "from 1 to 65535"),
        ("smtp", "port", "70000", "from 1 to 65535"),
        ("smtp", "timeout_seconds", "0", "more than 0"),
        ("feedback", "port", "65536", "from 0 to 65535"),
        ("feedback", "max_age_days", "0", "at least 1"),
    ],
)
def test_out_of_range_value_is_one_line_naming_file_key_and_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, key: str, value: str, allowed: str
) -> None:
    config = tmp_path / "c.toml"
    extra = 'to = ["a@b.c"]\n' if section == "alerts" else ""
    config.write_text(f"[{section}]\n{extra}{key} = {value}\n", encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    expected = f"[{section}] {key} = {value} is out of range: it must be {allowed}"
    assert err == f"newsmon: config error: {config}: {expected}\n"


@pytest.mark.parametrize("key", sorted(f"{section} {key}" for section, key in RANGES))
def test_every_range_checked_key_exists_with_an_allowed_default(key: str) -> None:
    section, name = key.split()
    defaults = {"fetch": FetchSettings(), "topic": TopicSettings(), "schedule": ScheduleSettings()}
    defaults |= {"alerts": AlertSettings(), "smtp": SmtpSettings(), "feedback": FeedbackSettings()}
    assert RANGES[(section, name)].allows(getattr(defaults[section], name))


@pytest.mark.parametrize(
    ("ingest", "cron", "interval"),
    [
        ("*/30 * * * *", "*/30 * * * *", None),
        ("0 7 * * 1-5", "0 7 * * 1-5", None),
        ("30m", None, timedelta(minutes=30)),
        ("2 hours", None, timedelta(hours=2)),
        ("45s", None, timedelta(seconds=45)),
    ],
)
def test_schedule_ingest_is_a_cron_expression_or_an_interval(
    tmp_path: Path, ingest: str, cron: str | None, interval: timedelta | None
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[schedule]\ningest = "{ingest}"\n', encoding="utf-8")
    schedule = load_settings(config).schedule
    assert schedule.cron == cron
    if interval is not None:
        assert schedule.interval == interval


@pytest.mark.parametrize("ingest", ["every half hour", "61 * * * *", "0m"])
def test_a_bad_schedule_is_a_config_error(tmp_path: Path, ingest: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[schedule]\ningest = "{ingest}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[schedule\] ingest"):
        load_settings(config)


def test_the_same_feed_twice_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[[feeds]]\nurl = "https://example.org/rss.xml"\n[[feeds]]\nurl = "https://Example.org/rss.xml#top"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"feed 2 .* is the same feed as feed 1"):
        load_settings(config)


@pytest.mark.parametrize("every", ["0", "-5", "soon"])
def test_serve_every_must_be_a_positive_number_of_minutes(every: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "serve", "--every", every], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "argument --every" in result.stderr


def test_version_is_printed() -> None:
    command = [sys.executable, "-m", "flows.cli", "--version"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert result.stdout.startswith("newsmon ") and result.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize("argv", [["--version"], ["score", "--help"], ["alerts", "--help"]])
def test_scripts_run_passes_any_subcommand_through(argv: list[str]) -> None:
    result = subprocess.run([str(ROOT / "scripts" / "run"), *argv], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "unrecognized arguments" not in result.stderr


def test_bad_config_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[fetch]\nbogus = 1\n", encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"newsmon: config error: {config}: unknown key [fetch] bogus") and err.count("\n") == 1


def test_missing_config_file_exits_2_from_the_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"newsmon: config error: config file not found: {tmp_path / 'nope.toml'}"


def test_the_seeds_are_the_five_shared_documents_unchanged() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not shared.exists():
        pytest.skip("../shared/seeds is not beside this checkout")
    for path in shared.glob("*.txt"):
        assert (SEEDS_DIR / path.name).read_bytes() == path.read_bytes()
    topic = load_topic()
    assert len(topic.seeds) == 5
    assert {s.seed_id for s in topic.seeds} == {p.stem for p in shared.glob("*.txt")}


def test_seed_titles_are_their_headline_lines() -> None:
    for seed in load_topic().seeds:
        lines = [line.strip() for line in seed.text.splitlines() if line.strip()]
        assert any(seed.title and seed.title.strip("“") in line for line in lines[:2]), seed.seed_id


def test_default_feeds_are_well_formed_http_urls() -> None:
    feeds = load_topic().default_feeds
    assert len(feeds) >= 8
    for feed in feeds:
        assert feed.url.startswith("https://") and canonicalize(feed.url) and feed.name
    assert len({f.url for f in feeds}) == len(feeds)


def test_example_config_documents_the_defaults() -> None:
    example = load_settings(Path(__file__).resolve().parents[1] / "newsmon.example.toml")
    assert example.fetch == FetchSettings()
    assert example.schedule == ScheduleSettings()
    assert example.relevance == TopicSettings()
    assert example.smtp == SmtpSettings()
    assert example.alerts == AlertSettings(to=("analyst@example.org",), from_="newsmon@example.org")


def test_a_warehouse_path_that_is_a_file_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "feed.xml").write_text("<rss/>", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[warehouse]\npath = "{tmp_path / "feed.xml"}"\n', encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 2
    assert "is a file: it must name a directory" in capsys.readouterr().err
    assert not (tmp_path / "prefect").exists() and not (tmp_path / "locks").exists()
