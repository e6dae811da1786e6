"""py3langid's model, decompressed once and kept in newsmon's cache directory.

py3langid ships its model as an LZMA-compressed archive and decompresses it (68 MB) in every process, on the
first detection: 0.45-0.53 s of CPU, in the workers' fork server on every run that has pages to extract, while
the first batch waits for it (flows/workers.py). The arrays are written once, uncompressed, one `.npy` file
each, and memory-mapped afterwards: 0.03 s, and the pages are shared by every process that maps them.
Detections are the same: the identifier is built from the same arrays as py3langid builds it
(tests/test_langid_cache.py compares classify and rank on texts in the languages newsmon follows).

The cache is used only while the py3langid functions that load the model are the ones this was written from
(extractors.prune.source_hash, as for trafilatura's functions); otherwise py3langid loads its own model.
Any failure to read or write the cache (no home directory, a full disk, a damaged file) leaves py3langid to
load its own, as before; a damaged entry is removed, and the next run writes it again.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import py3langid.langid as langid
import py3langid.modelio as modelio

from extractors.prune import source_hash

LOGGER = logging.getLogger(__name__)
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")  # the names in py3langid's archive
# py3langid's functions whose behaviour the cached identifier reproduces, and the hash of their source when it
# was written (py3langid 0.4.0): the archive's layout (modelio.load_model), how an identifier is made from it
# (from_model_file, __init__), and the default identifier that classify() and rank() use.
_SOURCES = {
    "load_model": (modelio, "load_model", "2e5e2330e38b7043"),
    "from_model_file": (langid.LanguageIdentifier, "from_model_file", "d2671a8597cc7520"),
    "__init__": (langid.LanguageIdentifier, "__init__", "874c2f736944a5d9"),
    "_load_identifier": (langid, "_load_identifier", "c83479c6feb18263"),
}


def usable() -> bool:
    """Whether py3langid still loads its model the way the cached identifier reproduces."""
    return all(source_hash(name, owner) == digest for owner, name, digest in _SOURCES.values())


def cache_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """newsmon's cache directory: NEWSMON_CACHE_DIR, else $XDG_CACHE_HOME/newsmon, else ~/.cache/newsmon; None
    for a process with no home directory (a service user without one): nothing is cached then."""
    if environ.get("NEWSMON_CACHE_DIR"):
        return Path(environ["NEWSMON_CACHE_DIR"])
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / "newsmon"
    try:
        home = Path.home()  # Python 3.11 returns "~" itself when there is none, later ones raise
    except RuntimeError:
        return None
    return home / ".cache" / "newsmon" if home.is_absolute() else None


def model_file() -> Path:
    return Path(langid.MODEL_DIR) / str(langid.MODEL_FILE)


def entry_for(root: Path, model: Path) -> Path:
    """The cache entry of this model file: named by its size and modification time, so that another
    py3langid (or another model) gets an entry of its own."""
    stat = model.stat()
    return root / f"py3langid-{stat.st_size}-{stat.st_mtime_ns}"


def install(root: Path | None = None) -> str:
    """Make py3langid's default identifier from the cache, writing the cache first if it has no entry yet.
    Returns how the model was loaded: "cache", "written" (decompressed, then cached), "loaded" (py3langid's
    identifier was there already), or "py3langid" (left to py3langid: the cache could not be used)."""
    if langid.IDENTIFIER is not None:
        return "loaded"
    if not usable():
        return "py3langid"
    root = cache_root() if root is None else root
    if root is None:
        return "py3langid"
    model = model_file()
    entry: Path | None = None
    try:
        entry = entry_for(root, model)
        how = "cache"
        if not entry.is_dir():
            _write(entry, model)
            how = "written"
        langid.IDENTIFIER = _identifier(entry)
    except (OSError, ValueError, KeyError) as exc:
        LOGGER.debug("py3langid's model not cached (%s): py3langid loads its own", exc)
        if entry is not None and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)  # damaged: the next run writes it again
        return "py3langid"
    return how


def _write(entry: Path, model: Path) -> None:
    """Decompress the model into `entry`, whole or not at all: the arrays go to a directory beside it that
    takes its name at the end (two processes writing at once: the first rename wins, the other is dropped)."""
    import io
    import lzma

    entry.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(model) as source, np.load(io.BytesIO(source.read()), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in ARRAYS}
    staging = Path(tempfile.mkdtemp(prefix=entry.name + ".", dir=entry.parent))
    try:
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", array, allow_pickle=False)
        try:
            staging.rename(entry)
        except OSError:
            if not entry.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _forget_others(entry)


def _forget_others(entry: Path) -> None:
    """Remove the entries of other model files (an earlier py3langid): 68 MB each, never read again. Only
    finished entries: a name with a dot is a directory another process is still writing."""
    for other in entry.parent.glob("py3langid-*"):
        if other != entry and "." not in other.name and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)


def _identifier(entry: Path) -> langid.LanguageIdentifier:
    """The identifier py3langid's _load_identifier() makes, from the cached arrays (memory-mapped)."""
    arrays = {name: np.load(entry / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
    return langid.LanguageIdentifier(
        np.asarray(arrays["ptc"]),
        np.asarray(arrays["pc"]),
        arrays["classes"].tolist(),
        modelio._to_array(arrays["nextmove"]),
        arrays["out_feat"].tolist(),
        tk_row=modelio._to_array(arrays["nextmove_row"]),
    )
