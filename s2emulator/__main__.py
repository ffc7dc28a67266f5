"""``python -m s2emulator``: run the SingleStore emulator in the foreground.

Logs go to stderr; SIGTERM or SIGINT stops it. It is ready once the listen port accepts
connections. Exit codes: 0 after a clean stop, 2 for bad arguments or an unreachable backend.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable

from .protocol import ServerError
from .server import Switches, serve
from .upstream import BackendURL, parse_listen


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m s2emulator",
        description="A SingleStore-dialect MySQL-protocol proxy in front of MariaDB "
        "(test infrastructure, not SingleStore; see docs/emulator.md).",
    )
    parser.add_argument(
        "--listen", default="127.0.0.1:3307", help="host:port to accept clients on (port 0: any)"
    )
    parser.add_argument(
        "--backend",
        default="mysql://root@127.0.0.1:3306",
        help="MariaDB server, mysql://user[:password]@host[:port]; the user needs CREATE on "
        "the catalog schema",
    )
    parser.add_argument(
        "--catalog-schema",
        default="s2emu_catalog",
        help="database on the backend that stores table layouts (default: %(default)s)",
    )
    parser.add_argument(
        "--child-aggregator",
        action="store_true",
        help="act as a child aggregator: reference-table writes in a transaction fail (2549)",
    )
    parser.add_argument(
        "--scatter-auto-increment",
        action="store_true",
        help="start each new table's AUTO_INCREMENT at a random large value",
    )
    parser.add_argument(
        "--shuffle-rows",
        action="store_true",
        help="return the rows of a SELECT without ORDER BY in random order",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument(
        "--loop",
        default="auto",
        choices=["auto", "uvloop", "asyncio"],
        help="event loop: uvloop (installed with the [emulator] extra) cuts the per-query cost; "
        "auto uses it when it is installed (default: %(default)s)",
    )
    return parser.parse_args(argv)


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``--loop`` asks for; ``None`` is asyncio's own. ``uvloop`` without the
    package installed is a usage error (ImportError)."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        listen = parse_listen(args.listen)
        backend = BackendURL.parse(args.backend)
        factory = loop_factory(args.loop)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ImportError:
        print("error: --loop uvloop: uvloop is not installed", file=sys.stderr)
        return 2
    switches = Switches(
        child_aggregator=args.child_aggregator,
        scatter_auto_increment=args.scatter_auto_increment,
        shuffle_rows=args.shuffle_rows,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(listen, backend, switches, args.catalog_schema, stop)

    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(run())
    except (OSError, ServerError) as error:
        print(f"error: cannot start the emulator: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
