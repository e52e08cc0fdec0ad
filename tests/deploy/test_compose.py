"""``docker-compose.yaml``, ``Dockerfile`` and ``.env.example`` checked statically (Docker cannot run here).

Every service's command must exist (Airflow subcommands and flags through Airflow's own CLI parser,
with the Celery executor configured as in the file; the bootstrap and the emulator through their own
argument parsers; the healthchecks' Airflow and Celery commands too), every build context, Dockerfile,
``COPY`` source and bind-mounted path must exist, every ``${VAR}`` must be in ``.env.example`` (and
every key there used), and the native cluster (``tests/support/cluster.py``) must run exactly these
commands, with only the documented loopback additions. Compose itself validates the file too:
``docker-compose --env-file .env.example config -q`` (Debian's ``docker-compose``, no daemon needed;
``bash .ci/setup`` installs it), which must pass in CI.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.cluster import (
    AIRFLOW_SERVICES,
    COMPOSE_FILE,
    ENV_EXAMPLE,
    NATIVE_ARGS,
    REPO,
    NativeCluster,
    compose_variables,
    interpolate,
    load_compose,
    read_env_file,
    service_command,
    service_environment,
)

EXPECTED_SERVICES = {
    "postgres",
    "redis",
    "airflow-init",
    *AIRFLOW_SERVICES,
    "airflow-worker",
    "daily-emulator",
    "demo-seed",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def values() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


def _airflow_argvs(compose: dict, values: dict[str, str]) -> list[list[str]]:
    """Airflow CLI argv (without ``airflow``) of every service command and healthcheck."""
    argvs = []
    for name, service in compose["services"].items():
        if name.startswith("airflow-") and name != "airflow-init":  # demo-seed runs python, not airflow
            argvs.append(service_command(compose, name, values))
        test = interpolate((service.get("healthcheck") or {}).get("test") or [""], values)
        words = shlex.split(test[1].replace("${HOSTNAME}", "host")) if test[0] == "CMD-SHELL" else test[1:]
        if words and words[0] == "airflow":
            argvs.append(words[1:])
    return argvs


def test_services_and_executor(compose):
    services = compose["services"]
    assert set(services) == EXPECTED_SERVICES
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert (
        env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        and "@redis:6379/" in env["AIRFLOW__CELERY__BROKER_URL"]
    )
    assert "@postgres/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert services["daily-emulator"]["profiles"] == ["emulator"]
    assert services["demo-seed"]["profiles"] == ["emulator"]  # a deployment without the demo never seeds
    for name in (*AIRFLOW_SERVICES, "airflow-worker", "postgres", "redis", "daily-emulator"):
        assert services[name]["healthcheck"]["test"], name
    for name in (*AIRFLOW_SERVICES, "airflow-worker"):
        assert services[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}, name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {"condition": "service_healthy"}
    assert "container_name" not in services["airflow-worker"]  # `--scale airflow-worker=N` needs that
    for name, service in services.items():  # published ports on loopback only
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


@pytest.mark.slow  # a subprocess
def test_init_runs_the_one_bootstrap(compose, values, tmp_path):
    argv = service_command(compose, "airflow-init", values)
    assert argv[:3] == ["python", "-m", "daily_dialin.bootstrap"]
    from daily_dialin.bootstrap import build_parser

    args = build_parser().parse_args(argv[3:])
    assert args.migrate and args.create_meetings_table
    # the init service's environment, from .env.example, expands every placeholder of the settings files
    env = {**service_environment(compose, "airflow-init", values), "DAILY_AIRFLOW_SETTINGS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "daily_dialin.bootstrap", "--print"],
        env={"PATH": str(Path(sys.executable).parent), "AIRFLOW_HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert printed["connections"]["daily_default"]["password"] == "***"
    assert printed["connections"]["daily_meetings_db"]["host"] == "postgres"
    from daily_dialin.provisioning.config import ProvisioningConfig

    variable = ProvisioningConfig(**printed["variables"]["daily_provisioning"])
    assert printed["pools"]["daily_api"]["slots"] == variable.api_concurrency
    mounted = [
        v for v in compose["services"]["airflow-init"]["volumes"] if v.endswith(":/opt/airflow/airflow_settings:ro")
    ]
    assert mounted == ["./include/daily_dialin/airflow_settings:/opt/airflow/airflow_settings:ro"]


def test_emulator_command_parses(compose, values):
    from daily_emulator.__main__ import build_parser

    argv = service_command(compose, "daily-emulator", values)
    assert argv[:3] == ["python", "-m", "daily_emulator"]
    args = build_parser().parse_args(argv[3:])
    assert args.host == "0.0.0.0" and args.port == 8765
    assert args.api_keys == [values["DAILY_API_KEY"]]
    assert values["DAILY_API_URL"] == f"http://daily-emulator:{args.port}/v1"


@pytest.mark.slow  # a subprocess
def test_airflow_commands_exist(compose, values, tmp_path):
    """Service commands and healthchecks parse with Airflow's CLI parser (Celery executor configured)."""
    argvs = _airflow_argvs(compose, values)
    assert ["celery", "worker", "--skip-serve-logs"] in argvs
    assert {tuple(a[:1]) for a in argvs} >= {("api-server",), ("scheduler",), ("dag-processor",), ("triggerer",)}
    script = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "parser = get_parser()\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    args = parser.parse_args(argv)\n"
        "    assert callable(args.func), argv\n"
        "print('parsed', len(json.loads(sys.argv[1])))\n"
    )
    env = {"PATH": str(Path(sys.executable).parent), "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}
    env["AIRFLOW_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(argvs)], env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert f"parsed {len(argvs)}" in result.stdout


def test_worker_healthcheck_celery_app_exists(compose, values):
    test = compose["services"]["airflow-worker"]["healthcheck"]["test"]
    words = shlex.split(interpolate(test[1], values))
    module, attribute = words[words.index("--app") + 1].rsplit(".", 1)
    import importlib

    assert hasattr(importlib.import_module(module), attribute)


def test_build_context_dockerfile_and_copies_exist(compose):
    build = compose["x-airflow-image"]["build"]
    context = REPO / (build if isinstance(build, str) else build["context"])
    dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
    assert context.is_dir() and dockerfile.is_file()
    lines = [line.strip() for line in dockerfile.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "FROM apache/airflow:3.3.2-python3.11"
    run = next(line for line in lines if line.startswith("RUN pip install"))
    assert "-c /opt/airflow/project/constraints.txt" in run and "[celery,postgres,emulator]" in run
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"celery", "postgres", "emulator"} <= set(extras)
    for line in lines:
        if line.startswith("COPY"):
            sources = [w for w in shlex.split(line)[1:-1] if not w.startswith("--")]
            for source in sources:
                assert (context / source).exists(), line
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["build"] == build, name


def test_volume_sources_exist(compose, values):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = interpolate(volume, values).split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), (name, volume)
            else:
                assert source in declared, (name, volume)
    init_dir = REPO / "include/deploy/postgres-init"
    assert sorted(p.name for p in init_dir.iterdir()) == ["10-meetings-db.sh"]


def test_every_variable_is_in_env_example_and_used(values):
    used = compose_variables(COMPOSE_FILE.read_text())
    assert used - set(values) == set(), "compose variables missing from .env.example"
    from daily_dialin.bootstrap import placeholders

    # .env keys reach the settings files only through the compose environment; all must be used there
    assert set(values) - used == set(), ".env.example keys the compose file never uses"
    assert {"DAILY_API_KEY", "DAILY_MEETINGS_HOST"} <= set(placeholders())


def test_env_is_ignored_and_not_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO, check=False)
    assert ignored.returncode == 0, ".env must be in .gitignore"
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=REPO, capture_output=True, text=True, check=True)
    assert tracked.stdout == ""


def test_native_cluster_runs_the_same_commands(compose, values, tmp_path):
    """What the cluster check runs = the compose command, localised, plus ``NATIVE_ARGS`` only."""
    cluster = NativeCluster(root=tmp_path)
    cluster.pg = SimpleNamespace(port=55432, bin=tmp_path)  # an address for localising; nothing is started
    localised = {"0.0.0.0": "127.0.0.1", "8765": str(cluster.ports["emulator_port"])}
    for service in EXPECTED_SERVICES - {"postgres"}:  # postgres runs the compose file's init script instead
        argv, compose_argv = cluster.native_argv(service)
        assert compose_argv == service_command(compose, service, cluster.values)
        extra = [cluster._fill(a, hostname=service) for a in NATIVE_ARGS.get(service, ())]
        assert argv[len(argv) - len(extra) :] == extra
        core = argv[: len(argv) - len(extra)]
        expected = list(compose_argv)
        if service.startswith("airflow-") and expected[0] != "python":
            expected = ["airflow", *expected]  # the image's entrypoint prefixes `airflow`
        assert Path(core[0]).name == Path(expected[0]).name.replace("python", Path(sys.executable).name)
        for native, original in zip(core[1:], expected[1:], strict=True):
            assert native == localised.get(original, original) or (
                service == "daily-emulator" and original.endswith("/emulator/state.json")
            ), (service, native, original)
    assert set(NATIVE_ARGS) <= EXPECTED_SERVICES


def test_dag_schedule_and_timeout_come_from_the_compose_environment(compose):
    env = compose["x-airflow-common"]["environment"]
    assert re.fullmatch(r"\$\{DAILY_PROVISIONING_SCHEDULE-@daily\}", env["DAILY_PROVISIONING_SCHEDULE"])
    assert env["DAILY_PROVISIONING_TIMEOUT_MINUTES"].startswith("${DAILY_PROVISIONING_TIMEOUT_MINUTES")
    assert env["DAILY_API_POOL"] == "daily_api"


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("docker-compose is not installed; in CI it must be (bash .ci/setup installs it)")
        pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose; bash .ci/setup does)")
    return found


def _compose_config(env_file: Path, *profiles: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose config -q`` with ``env_file`` only: nothing from this shell's environment."""
    binary = _docker_compose()
    args = [binary, "--file", str(COMPOSE_FILE), "--env-file", str(env_file)]
    args += [word for profile in profiles for word in ("--profile", profile)]
    return subprocess.run(
        [*args, "config", "-q"],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("profiles", [(), ("emulator",)], ids=["default", "emulator"])
def test_docker_compose_validates_the_file_with_env_example(profiles):
    result = _compose_config(ENV_EXAMPLE, *profiles)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def test_docker_compose_refuses_an_empty_fernet_key(tmp_path):
    """The Fernet key is required: an empty one stops compose, saying where to set it."""
    env_file = tmp_path / ".env"
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    env_file.write_text(
        "\n".join("AIRFLOW_FERNET_KEY=" if line.startswith("AIRFLOW_FERNET_KEY=") else line for line in lines) + "\n",
        encoding="utf-8",
    )
    result = _compose_config(env_file)
    assert result.returncode != 0
    assert "AIRFLOW_FERNET_KEY" in result.stderr and "set it in .env" in result.stderr


def test_the_fernet_key_is_required_and_env_example_holds_no_usable_key(compose, values):
    from cryptography.fernet import Fernet

    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY:?")
    with pytest.raises(ValueError, match="Fernet key must be"):  # a placeholder, so nobody runs with a published key
        Fernet(values["AIRFLOW_FERNET_KEY"].encode())
    assert "Fernet.generate_key()" in ENV_EXAMPLE.read_text(encoding="utf-8")
