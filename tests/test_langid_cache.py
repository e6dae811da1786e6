"""py3langid's model from newsmon's cache: the same detections, without decompressing it in every run."""

from __future__ import annotations

import csv
import lzma
from collections.abc import Iterator
from pathlib import Path

import py3langid.langid as langid
import pytest

from flows import langid_cache
from tests.conftest import SHARED

TOPIC = SHARED / "topic"


@pytest.fixture(autouse=True)
def fresh_identifier() -> Iterator[None]:
    """Each test starts with py3langid's default identifier not loaded, and leaves it as it found it."""
    before = langid.IDENTIFIER
    langid.IDENTIFIER = None
    yield
    langid.IDENTIFIER = before


def _texts() -> list[str]:
    """Every 4th shared topic article (English, Korean, German, Vietnamese), and short and odd texts."""
    with (TOPIC / "articles.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [(TOPIC / "articles" / row["file"]).read_text(encoding="utf-8") for row in rows[::4]]
    assert {row["lang"] for row in rows[::4]} >= {"en", "ko", "de", "vi"}
    return [*texts, "", "a", "12345", "Пхеньян и Москва подписали договор", "朝鲜与俄罗斯签署条约"]


def test_the_cached_identifier_detects_as_py3langid_does(tmp_path: Path) -> None:
    own = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE)
    assert langid_cache.install(tmp_path) == "written"
    cached = langid.IDENTIFIER
    assert cached is not None
    for text in _texts():
        assert cached.classify(text) == own.classify(text)
        assert cached.rank(text) == own.rank(text)
    assert langid.classify(_texts()[0]) == own.classify(_texts()[0])  # py3langid's own functions use it


def test_a_second_install_reads_the_cache_without_decompressing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert langid_cache.install(tmp_path) == "written"
    langid.IDENTIFIER = None

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("decompressed again")

    monkeypatch.setattr(lzma, "open", refuse)
    assert langid_cache.install(tmp_path) == "cache"
    assert langid.classify("Der Vertrag über eine umfassende strategische Partnerschaft")[0] == "de"


def test_an_identifier_already_loaded_is_kept(tmp_path: Path) -> None:
    langid.classify("warm")  # py3langid loads its own
    loaded = langid.IDENTIFIER
    assert langid_cache.install(tmp_path) == "loaded"
    assert langid.IDENTIFIER is loaded
    assert not list(tmp_path.iterdir())


def test_a_damaged_cache_leaves_py3langid_to_load_its_own_model_and_is_written_again(tmp_path: Path) -> None:
    assert langid_cache.install(tmp_path) == "written"
    langid.IDENTIFIER = None
    entry = langid_cache.entry_for(tmp_path, langid_cache.model_file())
    (entry / "ptc.npy").write_bytes(b"not an array")
    assert langid_cache.install(tmp_path) == "py3langid"
    assert langid.IDENTIFIER is None
    assert langid.classify("The treaty was signed in Pyongyang")[0] == "en"
    langid.IDENTIFIER = None
    assert langid_cache.install(tmp_path) == "written"  # the damaged entry was removed: the next run mends it


def test_a_cache_that_cannot_be_written_leaves_py3langid_to_load_its_own_model(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory", encoding="utf-8")
    assert langid_cache.install(blocked) == "py3langid"
    assert langid.IDENTIFIER is None


def test_another_py3langid_is_left_to_load_its_own_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, name, _ = langid_cache._SOURCES["load_model"]
    monkeypatch.setitem(langid_cache._SOURCES, "load_model", (owner, name, "0000000000000000"))
    assert not langid_cache.usable()
    assert langid_cache.install(tmp_path) == "py3langid"
    assert not list(tmp_path.iterdir())


def test_the_installed_py3langid_is_the_one_the_cache_was_written_for() -> None:
    """A py3langid upgrade that changes how it loads its model shows here first (update the hashes after
    checking _identifier against the new code)."""
    assert langid_cache.usable()


def test_the_cache_directory_follows_the_environment(tmp_path: Path) -> None:
    assert langid_cache.cache_root({"NEWSMON_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert langid_cache.cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "newsmon"
    assert langid_cache.cache_root({}) == Path.home() / ".cache" / "newsmon"


def test_a_process_without_a_home_directory_caches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.11's Path.home() is "~" itself when there is no home: no directory named "~" is made."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSMON_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: cls("~")))
    assert langid_cache.cache_root() is None
    assert langid_cache.install() == "py3langid"
    assert not list(tmp_path.iterdir())


def test_writing_an_entry_removes_those_of_other_model_files(tmp_path: Path) -> None:
    """An upgraded py3langid gets an entry of its own; the old one (68 MB) is not kept."""
    old = tmp_path / "py3langid-1-2"
    old.mkdir()
    (old / "ptc.npy").write_bytes(b"an earlier model")
    writing = tmp_path / "py3langid-1-2.abc123"  # another process still writing: left alone
    writing.mkdir()
    assert langid_cache.install(tmp_path) == "written"
    entry = langid_cache.entry_for(tmp_path, langid_cache.model_file())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([entry.name, writing.name])
