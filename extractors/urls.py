"""Canonical URLs: one spelling per article, so that "seen" can be a primary key."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from. Removing them never changes the page served.
# Sources: the utm_* convention, and the click ids of the big ad and mail platforms.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "ito",
        "at_medium",
        "at_campaign",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "from_rss",
        "smid",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "hsa_", "mkt_")

DEFAULT_PORTS = {"http": 80, "https": 443}

# Click-through links of aggregators and news-search feeds whose real target is a query parameter:
# (host suffix, path prefix, parameter). Bing News feeds link through apiclick.aspx?url=...
AGGREGATORS = (
    ("bing.com", "/news/apiclick.aspx", "url"),
    ("google.com", "/url", "url"),
    ("google.com", "/url", "q"),
    ("news.google.com", "/url", "url"),
    ("facebook.com", "/l.php", "u"),
    ("news.yahoo.com", "/", "url"),
)
# Query parameters that ask for the AMP rendering of the same article.
AMP_PARAMS = {"amp": None, "outputtype": "amp", "output": "amp", "amp_js_v": None}


class InvalidURL(ValueError):
    """The string is not an absolute http(s) URL."""


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def unwrap(url: str) -> str:
    """The real target of an aggregator's click-through link (unchanged for any other URL)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    for suffix, path, param in AGGREGATORS:
        if (host == suffix or host.endswith("." + suffix)) and parts.path.lower().startswith(path):
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                if key.lower() == param and urlsplit(value).scheme in DEFAULT_PORTS:
                    return unwrap(value)
    return url


def _is_amp(name: str, value: str) -> bool:
    lowered = name.lower()
    return lowered in AMP_PARAMS and AMP_PARAMS[lowered] in (None, value.lower())


def canonicalize(url: str) -> str:
    """The canonical spelling of an http(s) URL.

    Lower-case scheme and host, no default port, no fragment, no tracking parameters, an empty path as "/",
    percent-encoding normalised; an aggregator's click-through link becomes its target, and the AMP variant of
    a page (amp. host, /amp path suffix, ?amp, ?outputType=amp) the page itself. The order of the remaining
    query parameters is kept: some sites route on it.
    """
    try:
        parts = urlsplit(unwrap(url.strip()))
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"not a valid URL: {url!r} ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidURL(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.rstrip(".").lower()
    if host.startswith("amp.") and host.count(".") >= 2:
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise InvalidURL(f"not a valid host name in {url!r}") from exc
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~-._%") or "/"
    for suffix in ("/amp/", "/amp", ".amp"):
        if path.endswith(suffix) and len(path) > len(suffix):
            path = path[: -len(suffix)] or "/"
            break
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k) and not _is_amp(k, v)
    ]
    query = urlencode(query_pairs, doseq=True, quote_via=quote, safe="/:@!$'()*+,;~-._")
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """The lower-case host name of a URL ('' when it has none)."""
    return (urlsplit(url).hostname or "").lower()


def is_forbidden_address(address: str) -> bool:
    """True for addresses a fetch must not reach unless allowed: private, loopback, link-local, metadata."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast
