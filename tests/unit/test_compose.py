"""docker-compose.yml and the Dockerfile cannot drift from the local stack.

There is no Docker engine on the development machines or in CI, so nothing here builds or
starts a container. What is checked: the file against the Compose specification's JSON
schema (kept in stack/compose/), and - derived from the code, not from a list - that every
program the local supervisor runs (stack/procs.py) is a Compose service with the same command
and the same environment variable names, that no Compose service runs a program the supervisor
does not, and that nginx's and Prometheus's configs are the ones stack/nginx.py and
stack/monitoring.py render.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stack import monitoring, nginx, procs, services
from stack.__main__ import compose_cfg
from stack.config import REPO, Config

pytestmark = pytest.mark.unit

COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA = REPO / "stack" / "compose" / "compose-spec.json"
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
# Where the image keeps what the local stack keeps in .venv and .run (Dockerfile: ENV).
IMAGE_VENV = Path("/opt/venv")
IMAGE_STATE = nginx.COMPOSE_STATE


def check_jsonschema(schema: Path, instance: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.prefix) / "bin" / "check-jsonschema"
    return subprocess.run(
        [str(exe), "--schemafile", str(schema), str(instance)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_compose_file_is_valid_against_the_compose_specification():
    done = check_jsonschema(SCHEMA, COMPOSE_FILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_refuses_an_invalid_file(tmp_path):
    """The control: the same check fails on a file the specification forbids."""
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "when_it_feels_like_it"
    broken["services"]["relay"]["no_such_key"] = True
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    done = check_jsonschema(SCHEMA, path)
    assert done.returncode != 0
    assert "when_it_feels_like_it" in done.stdout + done.stderr


def interpolate(value: str) -> str:
    """Compose's own interpolation with an empty environment: ${X:-d} -> d, $$ -> $."""
    value = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    assert "${" not in value, f"unsupported interpolation in {value!r}"
    return value.replace("$$", "$")


def compose_command(name: str) -> list[str]:
    command = SERVICES[name]["command"]
    assert isinstance(command, list), f"{name}: command must be a list (exec form)"
    return [interpolate(str(part)) for part in command]


def built_from_our_dockerfile(svc: dict) -> bool:
    return isinstance(svc.get("build"), dict) and svc["build"].get("dockerfile") == "Dockerfile"


def long_running(svc: dict) -> bool:
    return svc.get("restart", "no") != "no"


class ImageConfig(Config):
    """The local stack's Config as the image sees it: its venv and state dir."""

    @property
    def venv(self) -> Path:
        return IMAGE_VENV


@pytest.fixture(scope="module")
def image_cfg() -> Config:
    """The image's paths and one API process (Compose scales the `api` service instead of
    running api-2..api-N); the monitoring programs listen on the Compose network
    (COMANDA_MONITORING_HOST=0.0.0.0, as its x-env sets); ports and the rest as the local
    stack's defaults."""
    return ImageConfig(state_dir=IMAGE_STATE, api_processes=1, monitoring_host="0.0.0.0")


@pytest.fixture(scope="module")
def programs(image_cfg) -> dict[str, str]:
    mp = pytest.MonkeyPatch()
    # Commands with the defaults of what they read (COMANDA_WORKER_POOL, ...), as Compose's
    # ${VAR:-default} with an empty environment.
    for name in [n for n in os.environ if n.startswith("COMANDA_")]:
        mp.delenv(name)
    try:
        return procs.programs(image_cfg)
    finally:
        mp.undo()


def supervisor_programs() -> list[str]:
    return list(procs.programs(Config(api_processes=1)))


@pytest.mark.parametrize("name", supervisor_programs())
def test_each_supervisor_program_is_a_service_with_the_same_command(programs, name):
    assert name in SERVICES, f"the supervisor runs {name!r}; docker-compose.yml does not"
    assert compose_command(name) == shlex.split(programs[name]), name


@pytest.mark.parametrize("name", supervisor_programs())
def test_each_supervisor_program_gets_the_same_environment_names(image_cfg, name):
    svc = SERVICES[name]
    if not built_from_our_dockerfile(svc) or svc["build"].get("target") != "app":
        pytest.skip(f"{name} is not a Python program of the app image (nginx: config checked)")
    local = set(procs.supervisor_env(image_cfg)) | set(procs.program_env(image_cfg, name))
    assert set(svc.get("environment") or {}) == local, name


def test_the_monitoring_host_is_an_environment_value_of_every_app_service():
    """Compose differs from the local stack by values only: the programs' metrics servers,
    Flower and Prometheus listen on the network there, on loopback here."""
    for name, svc in SERVICES.items():
        if long_running(svc) and svc.get("image") == "comanda:local":
            assert (svc.get("environment") or {}).get("COMANDA_MONITORING_HOST") == "0.0.0.0", name
    assert procs.supervisor_env(Config())["COMANDA_MONITORING_HOST"] == "127.0.0.1"


@pytest.mark.parametrize(
    "name",
    [n for n, svc in SERVICES.items() if long_running(svc) and built_from_our_dockerfile(svc)],
)
def test_no_service_runs_a_program_the_supervisor_does_not(name):
    assert name in supervisor_programs(), f"docker-compose.yml runs {name!r}; `make up` does not"


def test_the_stack_services_are_in_compose_too():
    assert set(services.ORDER) <= set(SERVICES)


def test_the_compose_nginx_config_is_the_one_stack_nginx_renders():
    committed = (REPO / "stack" / "compose" / "nginx.conf").read_text()
    assert committed == nginx.render(nginx.compose_site()), (
        "stack/compose/nginx.conf is stale: run `python -m stack compose-files`"
    )
    mounts = SERVICES["nginx"]["volumes"]
    assert "./stack/compose/nginx.conf:/var/lib/comanda/conf/nginx.conf:ro" in mounts


def test_the_compose_prometheus_config_is_the_one_stack_monitoring_renders():
    committed = (REPO / "stack" / "compose" / "prometheus.yml").read_text()
    assert committed == monitoring.render_prometheus(compose_cfg(), compose=True), (
        "stack/compose/prometheus.yml is stale: run `python -m stack compose-files`"
    )
    mounts = SERVICES["prometheus"]["volumes"]
    assert "./stack/compose/prometheus.yml:/var/lib/comanda/conf/prometheus.yml:ro" in mounts


def test_compose_prometheus_scrapes_the_same_jobs_as_the_local_one():
    def jobs(text: str) -> list[str]:
        return [job["job_name"] for job in yaml.safe_load(text)["scrape_configs"]]

    compose = jobs((REPO / "stack" / "compose" / "prometheus.yml").read_text())
    assert compose == jobs(monitoring.render_prometheus(Config(api_processes=3)))
    # Every job but Prometheus's own is a service here.
    assert set(compose) - {"prometheus"} <= set(SERVICES)


def test_every_long_running_service_is_health_checked():
    image_checked = {"api", "nginx"}  # the Dockerfile's HEALTHCHECK (app and nginx stages)
    for name, svc in SERVICES.items():
        if long_running(svc) and name not in image_checked:
            assert "test" in (svc.get("healthcheck") or {}), f"{name} has no healthcheck"


def test_start_order_waits_for_health_and_for_the_one_shot_steps():
    for name, svc in SERVICES.items():
        for dep, how in (svc.get("depends_on") or {}).items():
            assert isinstance(how, dict) and how.get("condition") in (
                "service_healthy",
                "service_completed_successfully",
            ), f"{name} -> {dep}"
            if how["condition"] == "service_completed_successfully":
                assert not long_running(SERVICES[dep]), f"{dep} is not a one-shot step"
    assert SERVICES["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_named_volumes_and_scalable_api_and_worker():
    declared = set(COMPOSE["volumes"])
    for name, svc in SERVICES.items():
        for volume in svc.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"
    for name in ("api", "worker"):
        svc = SERVICES[name]
        # --scale needs no fixed container name and no fixed host port.
        assert "container_name" not in svc and "ports" not in svc, name


# --------------------------------------------------------------------------- Dockerfile


def stages() -> dict[str, list[str]]:
    """stage name -> its instruction lines (continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if m:
            current = m.group(2) or f"final:{m.group(1)}"
            out[current] = [line]
        elif current:
            out[current].append(line)
    return out


def test_the_app_image_is_multi_stage_non_root_healthy_and_without_compilers():
    st = stages()
    assert "build" in st and "app" in st
    app = st["app"]
    assert any(i.startswith("COPY --from=build /opt/venv /opt/venv") for i in app)
    users = [i.split()[1] for i in app if i.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert any(i.startswith("HEALTHCHECK ") for i in app)
    installs = " ".join(i for i in app if i.startswith("RUN "))
    for compiler in ("build-essential", "gcc", "g++", "make "):
        assert compiler not in installs, compiler
    # The last stage (what a plain `docker build` makes) is the app image.
    assert list(st)[-1] == "final:app"
    for name in ("nginx", "prometheus"):
        assert SERVICES[name]["build"]["target"] in st


def test_the_app_image_runs_the_api_by_default(programs):
    cmd = next(i for i in stages()["app"] if i.startswith("CMD "))
    assert yaml.safe_load(cmd.removeprefix("CMD ")) == shlex.split(programs["api"])


def test_every_app_service_uses_the_app_stage_and_the_image_venv():
    env_line = next(i for i in stages()["app"] if i.startswith("ENV PATH="))
    assert f"PATH={IMAGE_VENV}/bin:$PATH" in env_line
    for name, svc in SERVICES.items():
        if long_running(svc) and svc.get("image") == "comanda:local":
            assert svc["image"] == "comanda:local", name
