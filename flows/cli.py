"""The `newsmon` command: run the ingest flow once, or serve it on a schedule."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from flows import interrupt, warm
from flows.analysis_cli import add_analysis_commands
from flows.lock import Busy, ingest_lock
from flows.server import prefect_api
from flows.settings import AlertSettings, ConfigError, Settings, load_settings
from warehouse.db import WarehouseError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
EXIT_BUSY = 75  # EX_TEMPFAIL: another ingest of the same configuration runs (--no-wait)


def configure_prefect(data_dir: Path, *, verbose: bool = False, to_api: bool = False) -> None:
    """Prefect's defaults for newsmon; variables the user set win.

    Prefect's state goes under the data directory (not ~/.prefect), telemetry is off, and the embedded
    server gets enough time to run its first migrations (10-30 s on a small machine).
    """
    defaults = {
        "PREFECT_HOME": str(data_dir / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "WARNING",
        "PREFECT_LOGGING_TO_API_ENABLED": "true" if to_api else "false",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    _bypass_proxy_for_loopback()
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)


def _bypass_proxy_for_loopback() -> None:
    """Prefect's client talks to a server on loopback: never through an HTTP(S) proxy set for the web."""
    if not any(os.environ.get(name) for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")):
        return
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in os.environ.get(name, "").split(",") if h.strip()]
        os.environ[name] = ",".join(hosts + [h for h in ("127.0.0.1", "localhost", "::1") if h not in hosts])


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    configure_prefect(settings.data_dir, verbose=getattr(args, "verbose", False))
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    # With `newsmon serve` running, its warm starter runs this in a child that has Prefect imported already.
    status = warm.run(Path(os.environ["PREFECT_HOME"]).expanduser(), _run_options(args), verbose=args.verbose)
    if status is not None:
        return status
    return _run(args, settings)


_RUN_OPTIONS = ("config", "force", "quiet", "verbose", "no_wait")


def _run_options(args: argparse.Namespace) -> dict[str, object]:
    return {name: getattr(args, name) for name in _RUN_OPTIONS}


def run_in_this_process(options: Mapping[str, object]) -> int:
    """`newsmon run` with these options (see _run_options), in this process whatever the starter: in a child of
    serve's warm starter, which has become the client's process (flows/starter.py)."""
    args = argparse.Namespace(command="run", **{name: options.get(name) for name in _RUN_OPTIONS})
    args.func = lambda args: _run(args, _settings(args))
    keep_loopback_off_proxies()
    return _dispatch(args)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    interrupt.install()

    def waiting(holder: str) -> None:
        print(f"newsmon: another ingest of this configuration is running ({holder}); waiting for it", file=sys.stderr)

    with contextlib.ExitStack() as held:
        try:  # the flow takes the same lock again (it is reentrant): a served run holds it too
            held.enter_context(
                ingest_lock(
                    settings.warehouse.directory,
                    [f.url for f in settings.feeds],
                    wait=not args.no_wait,
                    on_wait=waiting,
                )
            )
        except Busy as busy:
            print(f"newsmon: {busy}; not starting (--no-wait)", file=sys.stderr)
            return EXIT_BUSY
        home = Path(os.environ["PREFECT_HOME"]).expanduser()
        fresh = not (home / "prefect.db").exists()  # Prefect's default database, made by the server's first start
        with prefect_api(home) as api:
            if api.server is not None and fresh and not args.quiet:
                print(f"newsmon: Prefect's first start in {home} creates its database (10-30 s)", file=sys.stderr)
            from flows.ingest import run_once  # Prefect's imports take seconds: the local server starts meanwhile

            if api.server is not None:
                # A server of our own takes ~3 s to answer, twice our imports: what the flow would import on its
                # way is imported while it starts (0.5-0.9 s of the flow's own time otherwise).
                from flows.starter import import_what_a_run_needs

                import_what_a_run_needs()
            report = run_once(
                config=str(settings.config_path) if settings.config_path else None,
                force=args.force,
                quiet=args.quiet,
                api_url=api.url(),
            )
    print(report.render())
    return EXIT_FAILED if report.all_feeds_failed else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    # Served runs log to Prefect's API at INFO: each run's report is then in the UI, beside its flow run, and on
    # this terminal (the runner streams the flow runs' output).
    configure_prefect(settings.data_dir, verbose=True, to_api=True)
    from flows.server import discover

    home = Path(os.environ["PREFECT_HOME"]).expanduser()
    if not os.environ.get("PREFECT_API_URL") and (running := discover(home)):
        # A second serve of the same data directory would start a second Prefect server on the same database
        # and a second scheduler of the same deployments.
        print(f"newsmon serve: another serve runs for {home} (Prefect API {running}); not starting", file=sys.stderr)
        return EXIT_BUSY
    from flows.serve import serve

    return serve(settings, args.every)


def cmd_score(args: argparse.Namespace) -> int:
    """Score JSON lines with the topic profile: each object goes back out with relevance and is_relevant."""
    import json

    from extractors.feeds import plain_text
    from extractors.relevance import score
    from flows.judging import profile_without_writing

    settings = load_settings(args.config)
    profile = profile_without_writing(settings)
    source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    bad = 0
    with source:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("not a JSON object")
                fields = {k: item.get(k) for k in ("title", "summary", "description", "text")}
                if not all(v is None or isinstance(v, str) for v in fields.values()):
                    raise ValueError("title, summary, description and text must be strings")
            except ValueError as exc:
                bad += 1
                print(f"newsmon score: line {number}: {exc}", file=sys.stderr)
                continue
            body = fields["text"] or plain_text(fields["summary"] or fields["description"]) or ""
            result = score(profile, plain_text(fields["title"]), body)
            item.update(relevance=result.score, is_relevant=result.is_relevant, relevance_why=result.why)
            print(json.dumps(item, ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return EXIT_FAILED if bad else EXIT_OK


def cmd_rescore(args: argparse.Namespace) -> int:
    """Recompute every article's relevance from the current topic definition, fetching nothing."""
    from flows.ingest import score_articles
    from flows.judging import profile
    from warehouse.db import connect

    settings = load_settings(args.config)
    con = connect(settings.warehouse, create=False)
    try:
        before = con.execute("SELECT count(*) FILTER (is_relevant) FROM articles").fetchone()
        count = score_articles(con, profile(settings, con), all_rows=True)
        after = con.execute("SELECT count(*) FILTER (is_relevant) FROM articles").fetchone()
    finally:
        con.close()
    print(f"rescored {count} articles: {after[0] if after else 0} relevant (before: {before[0] if before else 0})")
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    """List pending and recent alerts; --preview prints the next message; --retry-uncertain requeues."""
    from extractors.alert_email import Digest, build_message
    from warehouse import store
    from warehouse.db import connect

    if args.raw and not args.preview:
        print("newsmon alerts: --raw shows the preview as MIME source: use it with --preview", file=sys.stderr)
        return EXIT_CONFIG
    settings = load_settings(args.config)
    recipients = list(settings.alerts.to) if settings.alerts else ["(nobody)"]
    con = connect(settings.warehouse, create=False)
    try:
        if args.retry_uncertain:
            print(f"{store.retry_uncertain(con)} uncertain deliveries put back in the queue")
        if args.preview:
            first_since = (settings.alerts or AlertSettings()).first_since(datetime.now(UTC))
            stories = store.pending_alerts(con, recipients[0], first_since)
            if not stories:
                print(f"nothing pending for {recipients[0]}")
                return EXIT_OK
            sender = settings.alerts.from_ if settings.alerts else "newsmon@localhost"
            message = build_message(
                Digest(
                    settings.topic.name,
                    tuple(stories),
                    sender,
                    recipients[0],
                    "<preview@newsmon>",
                    datetime.now(UTC),
                    "newsmon · preview (nothing was sent)",
                )
            )
            print(message.as_string() if args.raw else as_read(message))
            return EXIT_OK
        overview = store.alert_overview(con, recipients)
    finally:
        con.close()
    mode = f"{settings.alerts.mode} to {', '.join(recipients)}" if settings.alerts else "no [alerts] section: no mail"
    print(f"alerts: {overview['waiting']} waiting, {overview['uncertain']} uncertain ({mode})")
    if overview["pending"]:
        print("pending:")
        for created, title, url in overview["pending"]:
            print(f"  {created:%Y-%m-%d %H:%M}  {(title or url)[:90]}")
    if overview["recent"]:
        print("recent deliveries:")
        for sent, recipient, state, title, url in overview["recent"]:
            when = f"{sent:%Y-%m-%d %H:%M}" if sent else "—"
            print(f"  {when}  {state:7s} {recipient}  {(title or url)[:70]}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """The last runs, each feed's health, the alert queue and the warehouse's size; exit 1 when failing."""
    from flows import status

    settings = load_settings(args.config)
    try:
        data = status.collect(settings)
    except WarehouseError as exc:  # no warehouse yet, or its catalog cannot be reached
        print(f"newsmon status: {exc}", file=sys.stderr)
        if args.json:  # a monitor parsing stdout still gets an object that says why
            print(status.as_json(status.unavailable(settings, str(exc))))
        return status.EXIT_FAILING
    print(status.as_json(data) if args.json else status.render(data))
    return status.exit_status(data)


def cmd_digest(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if settings.alerts is None:
        print("newsmon digest: no [alerts] section in the config: nothing to send", file=sys.stderr)
        return EXIT_CONFIG
    from warehouse.db import require_warehouse

    require_warehouse(settings.warehouse)  # before Prefect makes its state beside a mistyped path
    configure_prefect(settings.data_dir, verbose=args.verbose)
    from flows.alerts import digest

    report = digest(config=str(settings.config_path) if settings.config_path else None)
    if report is not None:
        print(report.render().strip())
    return EXIT_FAILED if report is not None and report.error else EXIT_OK  # mail that could not go out: 1


def as_read(message: EmailMessage) -> str:
    """A message as its reader sees it: the headers that show, then the decoded text part."""
    lines = [f"{name}: {message[name]}" for name in ("From", "To", "Date", "Subject") if message[name]]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else "(no text part)"
    return "\n".join(lines) + "\n\n" + str(text).rstrip() + "\n"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsmon")
    except PackageNotFoundError:
        return "(not installed)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of minutes") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range: it must be at least 1 minute")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsmon", description="Incremental news monitoring on one topic.")
    parser.add_argument("--version", action="version", version=f"newsmon {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config file (default: $NEWSMON_CONFIG, else built-in defaults)")
    common.add_argument("-v", "--verbose", action="store_true", help="show Prefect's own log lines")

    run = sub.add_parser("run", parents=[common], help="poll the feeds once and store what is new")
    run.add_argument(
        "--force",
        action="store_true",
        help="poll every feed now, ignoring stored ETag/Last-Modified and the last body's digest",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines, only the final report")
    run.add_argument(
        "--no-wait", action="store_true", help="exit 75 at once if another ingest of this configuration is running"
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", parents=[common], help="run the ingest flow on a schedule (Prefect server)")
    serve.add_argument("--every", type=_positive_int, metavar="MINUTES", help="interval (default: [schedule])")
    serve.set_defaults(func=cmd_serve)

    score = sub.add_parser("score", parents=[common], help="score JSON lines on stdin or in a file for relevance")
    score.add_argument("input", help="a JSONL file with title, summary/description, text, url, language ('-': stdin)")
    score.set_defaults(func=cmd_score)

    alerts = sub.add_parser("alerts", parents=[common], help="list pending and recent alerts")
    alerts.add_argument("--preview", action="store_true", help="show the next message as it will read, unsent")
    alerts.add_argument("--raw", action="store_true", help="with --preview: the message as MIME source")
    alerts.add_argument("--retry-uncertain", action="store_true", help="requeue deliveries a killed run left half-sent")
    alerts.set_defaults(func=cmd_alerts)

    digest = sub.add_parser("digest", parents=[common], help="send the digest of pending alerts now")
    digest.set_defaults(func=cmd_digest)

    status = sub.add_parser("status", parents=[common], help="last runs, feed health, alerts; exit 1 when failing")
    status.add_argument("--json", action="store_true", help="the same as JSON, for scripts and monitors")
    status.set_defaults(func=cmd_status)

    rescore = sub.add_parser("rescore", parents=[common], help="recompute all relevance scores (no fetching)")
    rescore.set_defaults(func=cmd_rescore)

    from flows.analyst import add_parsers as add_analyst_parsers

    add_analyst_parsers(sub, common)
    from flows.judging import add_parser as add_label_parser

    add_label_parser(sub, common)
    add_analysis_commands(sub, common)
    return parser


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def keep_loopback_off_proxies(environ: MutableMapping[str, str] = os.environ) -> None:
    """newsmon's own Prefect traffic goes to a loopback server: never through a proxy from the environment.

    Prefect's HTTP client honours HTTP_PROXY; without NO_PROXY a run sent its API calls to the proxy and hung
    (313 s, issue 8). Page fetching honours NO_PROXY too, and a loopback site is never behind a proxy."""
    if not any(environ.get(name) for name in _PROXY_VARIABLES):
        return
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [host.strip() for host in environ.get(name, "").split(",") if host.strip()]
        environ[name] = ",".join(hosts + [host for host in _LOOPBACK if host not in hosts])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the subcommand's own usage, not the top-level list of subcommands
        _subcommand_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    keep_loopback_off_proxies()
    return _dispatch(args)


def _subcommand_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse keeps its subparsers only there
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            chosen: argparse.ArgumentParser = action.choices[command]
            return chosen
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return _dispatch_once(args)
    except Exception:
        # A signal that lands inside a DuckDB query comes back as DuckDB's own error ("Query interrupted"),
        # not as Interrupted: the stop is still the user's, with its one line already said.
        signum = interrupt.interrupted()
        if signum is None:
            raise
        interrupt.run_cleanups()
        return 128 + signum


def _dispatch_once(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `newsmon alerts | head`: the reader has gone; nothing to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own exit flush fails otherwise
        return 128 + signal.SIGPIPE
    except OSError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as exc:
        print(f"newsmon: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except WarehouseError as exc:
        if interrupt.interrupted() is not None:
            raise
        print(f"newsmon: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except interrupt.Interrupted as stop:
        interrupt.run_cleanups()
        return stop.exit_status
    except KeyboardInterrupt:  # before the handlers were installed
        print(interrupt.MESSAGE, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
