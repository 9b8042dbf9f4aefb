"""The topology a large user runs, started on one machine: Prefect on PostgreSQL with Redis for its
messaging, two (or more) API servers without services, one process for Prefect's background
services. `cin worker` processes and recording systems are its clients (`client_env`).

This follows Prefect's "How to scale self-hosted Prefect" (docs/v3/advanced/self-hosted, for
Prefect 3.8.8 and 3.9.1 with prefect-redis): the schema is migrated once before any server starts
(`prefect server database upgrade -y`, then `PREFECT_API_DATABASE_MIGRATE_ON_START=false`), the
API servers run `prefect server start --no-services` and publish events to Redis streams, and
`prefect server services start` consumes them and runs the loop services (scheduler, late runs,
foreman, event persister, triggers ...); docket, which spreads background tasks, uses Redis too.
There is no load balancer here: each client is pointed at one API server (`client_env(i)`), and
Prefect's client retries a request for about a minute while its server restarts.

    python -m demo.topology --home data/topology \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/prefect --redis-db 9

starts it in the foreground and prints, for each API server, what its clients export.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from demo.local_server import (
    SERVICE_BATCHES,
    PrefectServer,
    auth_string_in,
    free_port,
    wait_until,
)

REDIS_SETTINGS = {
    "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
    "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
}


class PrefectServices:
    """`prefect server services start`: every enabled background service in one process."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        log = (self.home / "services.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "services", "start"],
            env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


class Topology:
    """API servers without services, one services process, PostgreSQL and Redis under them.

    `database_url` is Prefect's own database (`postgresql+asyncpg://...`); `redis_db` the Redis
    database its streams, ordering, leases and docket live in (one per topology: prefect-redis's
    keys have fixed names). Every server shares one API auth string (`home/api-auth`)."""

    def __init__(
        self,
        home: Path,
        *,
        database_url: str,
        redis_host: str = "127.0.0.1",
        redis_port: int = 6379,
        redis_db: int = 0,
        api_servers: int = 2,
        ports: list[int] | None = None,
    ) -> None:
        if not database_url.startswith("postgresql"):
            raise ValueError("database_url: expected a PostgreSQL URL (postgresql+asyncpg://...)")
        self.home = home
        self.database_url = database_url
        self.redis = (redis_host, redis_port, redis_db)
        self.auth_file = home / "api-auth"
        ports = ports or [free_port() for _ in range(api_servers)]
        self.servers = [
            PrefectServer(
                home / f"api-{i}",
                port,
                database_url=database_url,
                no_services=True,
                extra_env=self.prefect_settings(),
                auth_file=self.auth_file,
            )
            for i, port in enumerate(ports)
        ]
        self.services = PrefectServices(home / "services", self.server_env(home / "services"))

    @property
    def auth_string(self) -> str:
        return auth_string_in(self.auth_file)

    def prefect_settings(self) -> dict[str, str]:
        """What every server-side process of the topology shares."""
        host, port, db = self.redis
        return {
            "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url,
            "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
            **REDIS_SETTINGS,
            **SERVICE_BATCHES,
            "PREFECT_REDIS_MESSAGING_HOST": host,
            "PREFECT_REDIS_MESSAGING_PORT": str(port),
            "PREFECT_REDIS_MESSAGING_DB": str(db),
            "PREFECT_SERVER_DOCKET_URL": f"redis://{host}:{port}/{db}",
            "PREFECT_SERVER_API_AUTH_STRING": self.auth_string,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }

    def server_env(self, home: Path) -> dict[str, str]:
        return {**os.environ, "PREFECT_HOME": str(home), **self.prefect_settings()}

    def client_env(self, server: int) -> dict[str, str]:
        """The environment of a client (worker, feeder, `cin`) pointed at API server `server`
        (taken modulo the number of servers). Clients share one Prefect home, so task results
        (the cache that keeps a repeated task from doing its work twice) are found whichever
        worker wrote them; workers on several hosts need shared result storage instead."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PREFECT_SERVER_", "PREFECT_API_DATABASE_"))
        }
        env.update(
            {
                "PREFECT_HOME": str(self.home / "clients"),
                "PREFECT_API_URL": self.servers[server % len(self.servers)].api_url,
                "PREFECT_API_AUTH_STRING": self.auth_string,
                "PREFECT_LOGGING_LEVEL": "WARNING",
            }
        )
        return env

    def migrate(self, timeout: float = 300) -> None:
        """The schema, once, before any server starts (no server migrates on start)."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self.home / "migrate.log").open("ab") as log:
            subprocess.run(
                [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                env=self.server_env(self.home), stdout=log, stderr=log, check=True,
                timeout=timeout, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def start(self, timeout: float = 240) -> None:
        self.migrate(timeout)
        self.services.start()
        for server in self.servers:
            server.start(timeout=timeout)
        if not self.services.alive():
            raise RuntimeError(f"the Prefect services process exited; see {self.services.home}")

    def restart_server(self, index: int, timeout: float = 240) -> None:
        self.servers[index].start(timeout=timeout)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.services.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, prog="python -m demo.topology", description=__doc__
    )
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--database-url", required=True, help="postgresql+asyncpg://...")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis host and port")
    parser.add_argument("--redis-db", type=int, default=0)
    parser.add_argument("--api-servers", type=int, default=2)
    args = parser.parse_args(argv)
    redis = urlsplit(args.redis)
    topology = Topology(
        args.home,
        database_url=args.database_url,
        redis_host=redis.hostname or "127.0.0.1",
        redis_port=redis.port or 6379,
        redis_db=args.redis_db,
        api_servers=args.api_servers,
    )
    try:
        topology.start()
        lines = []
        for i, server in enumerate(topology.servers):
            lines += [f"# clients of API server {i + 1}:"]
            lines += [f"export PREFECT_API_URL={server.api_url}"]
        lines += [
            f'export PREFECT_API_AUTH_STRING="$(cat {topology.auth_file})"',
            "# running; Ctrl-C stops every process",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        wait_until(lambda: not topology.services.alive(), float("inf"), "a stop")
    except KeyboardInterrupt:
        pass
    finally:
        topology.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
