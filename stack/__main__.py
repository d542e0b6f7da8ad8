"""`python -m stack <command>`: run Comanda's services and app processes locally.

up [svc...]       start postgres, kafka, rabbitmq (all or the named) and wait until they answer
down [svc...]     stop them (only what we started; data is kept)
start <svc>       same as up for one service (also kafka-<n> in 3-broker mode)
stop <svc>        same as down for one service
status            one line per service
reset             down, then wipe the data dirs
env               shell assignments for the running stack
urls              the public URLs, the CA to trust, the API processes behind nginx, and
                  where to watch it: Prometheus, Flower, the RabbitMQ UI (with logins)
compose-files     re-render stack/compose/nginx.conf and prometheus.yml (docker-compose.yml's)
procs-up          start the app processes under supervisord, wait for the API
procs-down        stop the app processes and supervisord
procs-status      supervisorctl status
run               procs-up, then stream labelled logs until Ctrl-C, then procs-down
trace <order id>  one order's log lines from every process, in time order
screenshots       docs/img/flower.png and prometheus.png from the running stack (Chromium)
browser           install (as root) Chromium and certutil for the console's browser tests
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from . import keys, services
from .config import Config
from .proc import ServiceError, tail


def _fail(err: ServiceError) -> int:
    print(f"\nstack: FAILED {err}", file=sys.stderr)
    if err.log is not None:
        print(f"stack: log file: {err.log}\n--- last lines of {err.log} ---", file=sys.stderr)
        print(tail(err.log, 20), file=sys.stderr)
        print("---", file=sys.stderr)
    return 1


def _each(cfg: Config, names: list[str], action: str) -> int:
    """Run start/stop for several services in parallel (they are independent)."""
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        futures = {n: pool.submit(getattr(services.module(n), action), cfg, n) for n in names}
    errors = []
    for fut in futures.values():
        exc = fut.exception()
        if isinstance(exc, ServiceError):
            errors.append(exc)
        elif exc is not None:
            raise exc
    for err in errors:
        _fail(err)
    return 1 if errors else 0


def cmd_up(cfg: Config, names: list[str]) -> int:
    from . import ports, prereqs

    clash = ports.clashes(cfg)
    if clash:  # a part that starts later would find its port taken (stack/ports.py)
        print(f"stack: two parts share a port: {ports.describe(clash)}", file=sys.stderr)
        return 2
    targets = services.resolve(names)
    prereqs.ensure({n.split("-", 1)[0] for n in targets})
    cfg.ensure_dirs()
    keys.jwt_secret(cfg.state_dir)  # created once per install, kept under the state dir
    t0 = time.monotonic()
    rc = _each(cfg, targets, "start")
    if rc == 0:
        print(f"stack: up ({', '.join(targets)}) in {time.monotonic() - t0:.1f}s", flush=True)
    return rc


def cmd_down(cfg: Config, names: list[str]) -> int:
    if not cfg.state_dir.exists():
        return 0
    return _each(cfg, services.resolve(names), "stop")


def cmd_status(cfg: Config) -> int:
    from . import procs

    for name in services.ORDER:
        for st in services.module(name).status(cfg):
            print(st.line())
    print(procs.status_line(cfg).line())
    return 0


def cmd_reset(cfg: Config) -> int:
    from . import procs

    procs.down(cfg)
    rc = cmd_down(cfg, [])
    if rc:
        return rc
    for name in services.ORDER:
        services.module(name).wipe(cfg)
    print(f"stack: data wiped under {cfg.data_dir}")
    return 0


def cmd_env(cfg: Config) -> int:
    for key, value in {**cfg.app_env(), **cfg.monitoring_env()}.items():
        print(f"{key}={shlex.quote(value)}")
    return 0


def cmd_compose_files(cfg: Config) -> int:
    from . import monitoring, nginx

    folder = cfg.repo / "stack" / "compose"
    (folder / "nginx.conf").write_text(nginx.render(nginx.compose_site()))
    (folder / "prometheus.yml").write_text(monitoring.render_prometheus(compose_cfg(), True))
    print(f"stack: wrote {folder}/nginx.conf and {folder}/prometheus.yml")
    return 0


def compose_cfg() -> Config:
    """The Config docker-compose.yml runs with: the defaults (not this shell's ports), one
    API process per replica."""
    return Config(api_processes=1)


def cmd_urls(cfg: Config) -> int:
    from . import monitoring

    env = cfg.app_env()
    url = env["COMANDA_URL"]
    ports = ", ".join(map(str, cfg.api_ports))
    print(
        f"""
  Console   {url}/console/
  API       {url}/api/v1            (nginx, TLS; HTTP/2)
  Swagger   {url}/api/v1/docs
  Ready     {url}/readyz
  HTTP      {env["COMANDA_HTTP_URL"]}  -> redirects (308) to {url}
  CA        {env["COMANDA_CA_FILE"]}
            curl --cacert "{env["COMANDA_CA_FILE"]}" {url}/healthz
            (a browser: import that file as a trusted authority)
  API processes behind nginx: {cfg.api_processes} (COMANDA_API_PROCESSES), 127.0.0.1:{ports}
"""
    )
    print("\n".join(monitoring.urls(cfg)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stack", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "command",
        choices=[
            "up", "down", "start", "stop", "status", "reset", "env", "urls", "compose-files",
            "procs-up", "procs-down", "procs-status", "run", "browser", "trace", "screenshots",
        ],
    )  # fmt: skip
    parser.add_argument("services", nargs="*")
    args = parser.parse_args(argv)
    # kafka-python logs every refused connection while a broker boots; we report failures ourselves.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    cfg = Config.from_env()
    cmd = args.command
    if cmd in ("start", "stop") and len(args.services) != 1:
        parser.error(f"{cmd} takes exactly one service")
    if cmd == "trace" and (len(args.services) != 1 or not args.services[0].isdigit()):
        parser.error("trace takes one order id (a number)")
    try:
        if cmd in ("up", "start"):
            return cmd_up(cfg, args.services)
        if cmd in ("down", "stop"):
            rc = 0
            if cmd == "down" and not args.services:
                from . import procs

                rc = procs.down(cfg)
            return cmd_down(cfg, args.services) or rc
        if cmd == "status":
            return cmd_status(cfg)
        if cmd == "reset":
            return cmd_reset(cfg)
        if cmd == "env":
            return cmd_env(cfg)
        if cmd == "urls":
            return cmd_urls(cfg)
        if cmd == "compose-files":
            return cmd_compose_files(cfg)
        if cmd == "screenshots":
            from . import screenshots

            return screenshots.run(cfg)
        if cmd == "trace":
            from . import trace

            return trace.run(cfg, int(args.services[0]))
        if cmd == "browser":
            from . import prereqs

            prereqs.ensure_browser()
            return 0
        from . import procs

        return {
            "procs-up": procs.up,
            "procs-down": procs.down,
            "procs-status": procs.status,
            "run": procs.run_foreground,
        }[cmd](cfg)
    except ServiceError as err:
        return _fail(err)
    except BrokenPipeError:  # e.g. `stack status | head -1`
        return 0
    except KeyboardInterrupt:
        print("\nstack: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
