"""The `townhall` command: serve a programme, run the demo, check a programme file, verify a
forum's public record, draw a jury."""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from townhall import archive, draw_cli, files, purge_cli
from townhall.codes import cli as codes_cli
from townhall.config import Settings, SettingsError
from townhall.console import cli as console_cli
from townhall.logformat import PLAIN, plain_uvicorn_log_config, uvicorn_log_config
from townhall.model.agenda import ItemKind
from townhall.programme import ProgrammeError, load_programme


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="townhall", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run forums: those of the programme files, and those made in the console"
    )
    serve.add_argument(
        "roomfiles", type=Path, nargs="*", help="forum programmes (rooms/*.toml), any number"
    )
    _server_options(serve)

    demo = commands.add_parser("demo", help="run the small-library open forum from rooms/")
    _server_options(demo)

    check = commands.add_parser("check", help="validate programme files and say what is wrong")
    check.add_argument("roomfiles", type=Path, nargs="+", help="programme files to check")

    score = commands.add_parser("score", help="the experiment selection result, from a forum's log")
    score.add_argument(
        "roomfile", type=Path, nargs="?", help="the programme (default: the one the log states)"
    )
    _stored_forum(score)
    score.add_argument("--committee", type=Path, help="committee scores: member,candidate,q1..qN")
    score.add_argument("--json", action="store_true", help="the full result as JSON")

    verify = commands.add_parser("verify", help="check a forum's public record (docs/record.md)")
    verify.add_argument("record", type=Path, help="the record, RECORD.jsonl")
    verify.add_argument("--selection", type=Path, help="a selection.json export to match with it")

    record = commands.add_parser("record", help="a forum's public record (docs/record.md)")
    _stored_forum(record)
    record.add_argument("-o", "--output", type=Path, help="write it here, not to standard output")

    organiser = commands.add_parser("organiser-key", help=console_cli.HELP)
    console_cli.arguments(organiser)
    organiser.add_argument("--data-dir", type=Path, default=Path("data"), help="the data dir")
    organiser.add_argument("--redis", metavar="URL", help="the key is kept in Redis instead")

    codes_cli.arguments(commands.add_parser("codes", help=codes_cli.HELP))
    draw_cli.arguments(commands.add_parser("draw", help=draw_cli.HELP))
    archive.arguments(commands.add_parser("archive", help=archive.HELP))
    purge_cli.arguments(commands.add_parser("purge", help=purge_cli.HELP))

    args = parser.parse_args(argv)
    if args.command == "codes":
        return codes_cli.run(args)
    if args.command == "organiser-key":
        return _organiser_key(args)
    if args.command in ("archive", "purge"):
        return (archive.run if args.command == "archive" else purge_cli.run)(args)
    if args.command == "draw":
        return _printing(lambda: draw_cli.run(args))
    if args.command == "verify":
        return _printing(lambda: _verify(args.record, args.selection))
    if args.command == "check":
        return _check(args.roomfiles)
    if args.command == "score":
        return _score(args, as_json=args.json)
    if args.command == "record":
        return _printing(lambda: _record(args.forum, args.data_dir, args.redis, args.output))
    try:
        settings = Settings.from_env(os.environ).override(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            public_url=args.public_url,
            redis_url=args.redis,
            workers=args.workers,
            log_format=args.log_format,
            metrics=args.metrics,
        )
    except SettingsError as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 2
    roomfiles = [files.DEMO_ROOM] if args.command == "demo" else list(args.roomfiles)
    if args.command == "demo" and args.data_dir is None and "TOWNHALL_DATA_DIR" not in os.environ:
        settings = settings.override(data_dir=Path("data") / "demo")
    from townhall.metrics_http import metric_files

    with metric_files(settings.metrics, settings.workers):
        return _serve(roomfiles, settings)


def _organiser_key(args: argparse.Namespace) -> int:
    from townhall.engine import EngineError, open_registry
    from townhall.forums.keystore import RegistryKeyStore

    try:
        registry = open_registry(args.redis or "memory://", args.data_dir)
        return console_cli.run(args, RegistryKeyStore(registry))
    except (EngineError, OSError) as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 1


def _printing(command: Callable[[], int]) -> int:
    """Run a command that writes to standard output; if that is closed before it is done (as
    by `| head`), end quietly with status 1, as the Python docs' note on SIGPIPE advises: what
    is left to flush goes to devnull, so no traceback follows at exit."""
    try:
        status = command()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 0.0.0.0: the whole LAN)")
    parser.add_argument("--port", type=int, help="TCP port (default 8000)")
    parser.add_argument(
        "--data-dir", type=Path, help="where the journal and keys live (default ./data)"
    )
    parser.add_argument("--public-url", help="the address phones use, if not this machine's own")
    parser.add_argument(
        "--redis", metavar="URL", help="share the forum through Redis: redis://HOST:PORT/DB"
    )
    parser.add_argument("--workers", type=int, help="worker processes on one port (needs --redis)")
    parser.add_argument(
        "--log-format", choices=("plain", "json"), help="plain lines (default) or JSON lines"
    )
    parser.add_argument(
        "--metrics", action="store_true", default=None, help="Prometheus metrics at /metrics"
    )


def _stored_forum(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--forum", metavar="ID", help="the forum's id (its programme's [forum] id)")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="its data dir")
    parser.add_argument("--redis", metavar="URL", help="read it from Redis instead")


def _score(args: argparse.Namespace, *, as_json: bool) -> int:
    from townhall import score_cli

    try:
        table = score_cli.forum_result(
            args.roomfile, args.data_dir, args.committee, args.redis or "memory://", args.forum
        )
    except (ProgrammeError, score_cli.ScoreError) as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 1
    print(score_cli.as_json(table) if as_json else score_cli.render(table))
    return 0


def _verify(record: Path, selection: Path | None) -> int:
    from townhall.record.verify import RecordError, verify

    try:
        report = verify(record, selection)
    except RecordError as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 2
    for problem in report.problems:  # line 0: the file as a whole
        print(f"{record}{f':{problem.line}' if problem.line else ''}: {problem.message}")
    if not report.ok:
        return 1
    print(f"{record}: ok", *report.summary(), sep="\n  ")
    return 0


def _record(forum: str | None, data_dir: Path, redis: str | None, output: Path | None) -> int:
    from townhall.engine import EngineError
    from townhall.record.log import StoredForum, record_bytes
    from townhall.record.writer import RecordError

    if forum is None:
        print("townhall: name the forum: --forum ID", file=sys.stderr)
        return 1
    stored = StoredForum(forum, data_dir, redis or "memory://")
    try:
        data = record_bytes(stored)
        if output is None:
            sys.stdout.buffer.write(data)
        else:
            output.write_bytes(data)
    except BrokenPipeError:
        raise  # standard output closed early: `_printing` ends quietly
    except (EngineError, RecordError, OSError) as exc:
        print(f"townhall: {stored.where}: {exc}", file=sys.stderr)
        return 1
    for warning in stored.warnings():
        print(f"townhall: warning: {warning}", file=sys.stderr)
    return 0


def _check(paths: Sequence[Path]) -> int:
    failed = 0
    for path in paths:
        try:
            programme = load_programme(path)
        except ProgrammeError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        polls = sum(1 for item in programme.items if item.kind is ItemKind.POLL)
        summary = f"{path}: ok: {programme.title!r}, {len(programme.items)} items, {polls} polls"
        if programme.selection is not None:
            summary += (
                f"; selection: {len(programme.selection.candidates)} candidates,"
                f" {len(programme.selection.committee)} committee members"
            )
        codes = codes_cli.summary(path, programme)
        print(summary if codes is None else f"{summary}; ballot codes: {codes}")
    return 1 if failed else 0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for `townhall serve`, one worker or several; tests start servers with
    them too, so that they run what an organiser runs."""
    from townhall.transport.http_limits import HttpLimits, http_protocol
    from townhall.transport.lean_websocket import EngineIOWebSocket

    limits = HttpLimits(settings.header_timeout, settings.max_connections_per_address)
    return {
        "host": settings.host,
        "port": settings.port,
        "backlog": settings.listen_backlog,
        "log_level": settings.log_level,
        "http": http_protocol(limits),
        "ws_max_size": 64 * 1024,
        "ws_per_message_deflate": False,
        "ws": EngineIOWebSocket,
        "timeout_graceful_shutdown": 5,
        # JSON lines: uvicorn's loggers too; plain: uvicorn's own terminal lines. Either way the
        # log is on standard error, standard output only the addresses (docs/operations.md).
        "log_config": (
            uvicorn_log_config(settings.log_level, "json")
            if settings.log_format == "json"
            else plain_uvicorn_log_config()
        ),
    }


def _serve(roomfiles: list[Path], settings: Settings) -> int:
    # The server's stack is imported only to serve, so `check` stays quick.
    import uvicorn

    from townhall.app import build_server
    from townhall.engine import EngineError
    from townhall.transport.http_limits import raise_file_limit

    if settings.log_format == "json":
        logging.config.dictConfig(uvicorn_log_config(settings.log_level, "json"))
    else:
        logging.basicConfig(level=settings.log_level.upper(), format=PLAIN)
    # Before any worker starts: each inherits the limit, and each needs it whole.
    shortfall = raise_file_limit(settings.max_connections_per_address)
    if shortfall:
        print(shortfall, file=sys.stderr, flush=True)
    options = uvicorn_options(settings)
    try:
        rooms = [(load_programme(path), path) for path in roomfiles]
        ids = [programme.id for programme, _ in rooms]
        twice = sorted({forum_id for forum_id in ids if ids.count(forum_id) > 1})
        if twice:
            raise ValueError(f"two programme files are both forum {twice[0]!r}")
        for programme, path in rooms:
            codes_cli.check_book(path, programme)
        if settings.workers > 1:
            return _serve_workers(rooms, settings, options)
        server = build_server(rooms, settings, on_ready=lambda started: _announce(started, server))
        # Here rather than in the app's startup, where a refusal would come with a traceback.
        refused = server.load()
    except (ProgrammeError, EngineError, OSError, ValueError) as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 1
    for sentence in refused:
        print(f"townhall: {sentence}", file=sys.stderr)
    if rooms and len(refused) == len(rooms):
        return 1
    for programme, path in rooms:
        codes = codes_cli.summary(path, programme)
        if codes is not None:
            print(f"  Ballot codes ({programme.id}): {codes}")
    uvicorn_server = uvicorn.Server(uvicorn.Config(server.asgi, **options))
    uvicorn_server.run()
    return 0 if uvicorn_server.started else 1


def _serve_workers(
    rooms: list[tuple[Any, Path]], settings: Settings, options: dict[str, Any]
) -> int:
    """N worker processes on one port, each building its own app from the environment."""
    import uvicorn

    from townhall.addresses import Addresses, base_url
    from townhall.console import ensure_organiser_key
    from townhall.engine import open_registry
    from townhall.forums.keystore import RegistryKeyStore
    from townhall.keys import load_keys

    for name, value in {
        "ROOM": os.pathsep.join(str(path.resolve()) for _, path in rooms),
        "REDIS_URL": settings.redis_url,
        "HOST": settings.host,
        "PORT": str(settings.port),
        "DATA_DIR": str(settings.data_dir),
        "PUBLIC_URL": settings.public_url,
        "WORKERS": str(settings.workers),
        "METRICS": "1" if settings.metrics else "0",
    }.items():
        os.environ[f"TOWNHALL_{name}"] = value
    for programme, _ in rooms:
        keys = load_keys(programme, settings)  # stored by the engine first: every worker agrees
        _print_addresses(Addresses.of(base_url(settings), keys, programme))
    registry = open_registry(settings.engine_url, settings.data_dir)
    made = ensure_organiser_key(RegistryKeyStore(registry))  # once, before any worker
    _print_console(f"{base_url(settings)}/admin", made)
    uvicorn.run("townhall.app:create_app", factory=True, workers=settings.workers, **options)
    return 0


def _announce(started: list[Any], server: Any) -> None:
    """Once the server serves: each command-line forum's addresses, then the console's."""
    for addresses in started:
        _print_addresses(addresses)
    _print_console(server.console_url, server.organiser_key)


def _print_console(url: str, new_key: str | None) -> None:
    print(f"  Organiser's console: {url}", flush=True)
    if new_key is not None:
        print(
            f"  Organiser key (shown only now; keep it safe): {new_key}\n"
            "  `townhall organiser-key` makes a new one.\n",
            flush=True,
        )


def _print_addresses(addresses: Any) -> None:
    print(
        "\n  Townhall is running.\n"
        f"  Phones (join):  {addresses.phone}\n"
        f"  Host screen:    {addresses.host}\n"
        f"  Moderator:      {addresses.moderator}\n"
        f"  Projector:      {addresses.screen}\n"
        "  Keep the host and moderator addresses to yourself: they carry their keys.\n"
        "  The moderator's screen moderates the Q&A and idea boards and nothing else.\n",
        flush=True,
    )
    if addresses.committee_members:
        print(
            f"  The {addresses.committee_members} selection committee members' own links are on"
            " the host screen, under Selection.\n",
            flush=True,
        )
    if "//127." in addresses.phone or "//localhost" in addresses.phone:
        print(
            "  Phones cannot reach this machine's loopback address: pass --public-url with an\n"
            "  address they can reach, such as http://192.168.0.10:8000\n",
            flush=True,
        )
