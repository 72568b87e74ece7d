"""docker-compose.yml read as Compose reads it: services, health, restarts, wiring, ports."""

import re
from urllib.parse import urlsplit

import pytest
import yaml

from . import support
from .conftest import filled_env_values

RAW = support.raw_compose()
SERVICES = sorted(RAW["services"])
LONG_RUNNING = [name for name in SERVICES if RAW["services"][name].get("restart") != "no"]
ONE_SHOT = [name for name in SERVICES if RAW["services"][name].get("restart") == "no"]


def test_it_runs_the_whole_stack():
    assert set(SERVICES) == {
        "postgres",
        "redis",
        "migrate",
        "api",
        "worker",
        "beat",
        "voice-worker",
        "livekit",
        "sip",
        "proxy",
        "mailpit",
        "egress",
        "minio",
    }
    assert RAW["services"]["postgres"]["image"] == "postgres:15"
    assert RAW["services"]["redis"]["image"] == "redis:7"
    assert RAW["services"]["livekit"]["image"].startswith("livekit/livekit-server:")
    assert RAW["services"]["sip"]["image"].startswith("livekit/sip:")
    assert RAW["services"]["mailpit"]["image"].startswith("axllent/mailpit:")


def test_app_services_share_one_definition_and_one_image():
    apps = support.app_services(RAW)
    assert set(apps) == {"migrate", "api", "worker", "beat", "voice-worker"}
    images = {service["image"] for service in apps.values()}
    assert images == {"${MORPHEUS_IMAGE:-morpheus:latest}"}
    for name, service in apps.items():
        assert service["build"] == {"context": "."}, name
        assert service["env_file"] == [".env"], name
        assert service["init"] is True, f"{name}: PID 1 must reap the voice worker's job processes"
        assert "host.docker.internal:host-gateway" in service["extra_hosts"], name


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(name):
    healthcheck = RAW["services"][name]["healthcheck"]
    assert not healthcheck.get("disable")
    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    for key in ("interval", "timeout", "retries", "start_period"):
        assert key in healthcheck, f"{name}: healthcheck.{key}"
    assert re.fullmatch(r"\d+s", healthcheck["timeout"])


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_restarts(name):
    assert RAW["services"][name]["restart"] == "unless-stopped"


def test_the_release_step_is_a_one_shot_everyone_waits_for():
    assert ONE_SHOT == ["migrate"]
    migrate = RAW["services"]["migrate"]
    assert migrate["healthcheck"] == {"disable": True}, "a one-shot has no health, only an exit status"
    assert migrate["command"] == ["sh", "deploy/release.sh"]
    assert "migrate" not in migrate["depends_on"]
    for name in ("api", "worker", "beat", "voice-worker"):
        depends_on = RAW["services"][name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends_on["postgres"] == {"condition": "service_healthy"}, name
        assert depends_on["redis"] == {"condition": "service_healthy"}, name


def test_every_dependency_waits_for_health_and_exists():
    for name, service in RAW["services"].items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in RAW["services"], f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition == {"condition": expected}, f"{name} -> {dependency}"


def test_the_voice_worker_waits_for_livekit_and_drains_on_stop():
    voice = RAW["services"]["voice-worker"]
    assert voice["command"] == ["python", "manage.py", "run_voice_worker"]
    assert voice["depends_on"]["livekit"] == {"condition": "service_healthy"}
    assert voice["stop_grace_period"] == "10m"


def test_only_the_proxy_and_local_tools_publish_ports():
    published = {name: service["ports"] for name, service in RAW["services"].items() if service.get("ports")}
    assert published["proxy"] == ["80:80", "443:443", "443:443/udp"]
    # Everything else is bound to the loopback interface only.
    for name in set(published) - {"proxy"}:
        assert all(port.startswith("127.0.0.1:") for port in published[name]), name
    assert "ports" not in RAW["services"]["api"], "the API is reached through the proxy only (NUM_PROXIES=1)"
    assert RAW["services"]["api"]["expose"] == ["8000"]


def test_the_mail_catcher_is_for_development_only():
    assert RAW["services"]["mailpit"]["profiles"] == ["dev"]
    optional = {"mailpit", "egress", "minio"}
    assert all("profiles" not in service for name, service in RAW["services"].items() if name not in optional)


def test_recording_services_are_opt_in_and_egress_shares_livekits_bus(stack, env_values):
    for name in ("egress", "minio"):
        assert RAW["services"][name]["profiles"] == ["recordings"], name
    egress = stack["services"]["egress"]
    config = yaml.safe_load(egress["environment"]["EGRESS_CONFIG_BODY"])
    livekit = yaml.safe_load(support.LIVEKIT_CONFIG.read_text())
    assert config["redis"] == livekit["redis"], "Egress takes its jobs from LiveKit's Redis bus"
    assert (config["api_key"], config["api_secret"]) == (
        env_values["LIVEKIT_API_KEY"],
        env_values["LIVEKIT_API_SECRET"],
    )
    assert config["ws_url"] == f"ws://127.0.0.1:{livekit['port']}" and egress["network_mode"] == "host"
    assert f"/dev/tcp/127.0.0.1/{config['health_port']}" in egress["healthcheck"]["test"][-1]
    # The app reaches MinIO by name; Egress (host network) through the published port.
    minio_port = stack["services"]["minio"]["ports"][0]
    assert minio_port == "127.0.0.1:9000:9000"
    app = stack["services"]["api"]["environment"]
    assert app["RECORDINGS_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert app["RECORDINGS_EGRESS_S3_ENDPOINT_URL"] == "http://127.0.0.1:9000"


def test_it_refuses_to_start_without_the_required_secrets():
    blank = support.dotenv_values(support.read_env_file())
    with pytest.raises(support.InterpolationError, match="POSTGRES_PASSWORD"):
        support.compose(blank)
    without_livekit = {**filled_env_values(), "LIVEKIT_API_SECRET": ""}
    with pytest.raises(support.InterpolationError, match="LIVEKIT_API_SECRET"):
        support.compose(without_livekit)


SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|_KEYS$")


def test_no_secret_is_written_in_the_compose_file():
    for name, service in RAW["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(variable):
                assert str(value).startswith("${"), f"{name}.{variable} must come from .env"
    for path in (support.LIVEKIT_CONFIG, support.SIP_CONFIG):
        config = yaml.safe_load(path.read_text())
        forbidden = {"keys", "key_file", "api_key", "api_secret", "ws_url"} & set(config)
        assert not forbidden, f"{path.name} carries {forbidden}; they come from the environment"
        assert "password" not in config["redis"]


def test_the_database_url_matches_the_postgres_service(stack, env_values):
    postgres = stack["services"]["postgres"]["environment"]
    for name, service in support.app_services(stack).items():
        url = urlsplit(service["environment"]["DATABASE_URL"])
        assert url.scheme == "postgres", name
        assert (url.hostname, url.port) == ("postgres", 5432), name
        assert url.username == postgres["POSTGRES_USER"], name
        assert url.password == postgres["POSTGRES_PASSWORD"] == env_values["POSTGRES_PASSWORD"], name
        assert url.path == f"/{postgres['POSTGRES_DB']}", name


def test_a_database_url_in_env_replaces_the_bundled_postgres(env_values):
    external = "postgres://morpheus:pw@db.internal:6432/morpheus"
    stack = support.compose({**env_values, "DATABASE_URL": external})
    assert {service["environment"]["DATABASE_URL"] for service in support.app_services(stack).values()} == {external}


def test_redis_is_shared_by_the_app_and_published_for_livekit(stack):
    redis_url = urlsplit(stack["services"]["api"]["environment"]["REDIS_URL"])
    assert (redis_url.hostname, redis_url.port, redis_url.path) == ("redis", 6379, "/0")
    assert stack["services"]["redis"]["ports"] == ["127.0.0.1:6379:6379"]
    assert "noeviction" in stack["services"]["redis"]["command"], "a broker must never evict queued tasks"


def test_livekit_keys_come_from_the_environment_in_livekits_format(stack, env_values):
    keys = stack["services"]["livekit"]["environment"]["LIVEKIT_KEYS"]
    # livekit-server reads LIVEKIT_KEYS as YAML "key: secret" (cmd/server/main.go --keys).
    assert yaml.safe_load(keys) == {env_values["LIVEKIT_API_KEY"]: env_values["LIVEKIT_API_SECRET"]}
    assert len(env_values["LIVEKIT_API_SECRET"]) >= 32, "livekit-server logs an error under 32 characters"
    sip = stack["services"]["sip"]["environment"]
    assert sip["LIVEKIT_API_KEY"] == env_values["LIVEKIT_API_KEY"]
    assert sip["LIVEKIT_API_SECRET"] == env_values["LIVEKIT_API_SECRET"]


def test_livekit_keys_stay_strings_whatever_the_secret_looks_like(env_values):
    digits = "1" * 40  # YAML would read an unquoted all-digit secret as a number and drop it
    stack = support.compose({**env_values, "LIVEKIT_API_KEY": "2024", "LIVEKIT_API_SECRET": digits})
    assert yaml.safe_load(stack["services"]["livekit"]["environment"]["LIVEKIT_KEYS"]) == {"2024": digits}


def test_livekit_accepts_several_keys_while_one_is_rotated(env_values):
    rotating = f"{{APInew: {'n' * 40}, {env_values['LIVEKIT_API_KEY']}: {env_values['LIVEKIT_API_SECRET']}}}"
    stack = support.compose({**env_values, "LIVEKIT_KEYS": rotating})
    keys = yaml.safe_load(stack["services"]["livekit"]["environment"]["LIVEKIT_KEYS"])
    assert keys == {"APInew": "n" * 40, env_values["LIVEKIT_API_KEY"]: env_values["LIVEKIT_API_SECRET"]}


def test_livekit_and_sip_share_one_redis_bus_on_the_host_network(stack):
    livekit = yaml.safe_load(support.LIVEKIT_CONFIG.read_text())
    sip = yaml.safe_load(support.SIP_CONFIG.read_text())
    assert livekit["redis"] == sip["redis"], "LiveKit and its SIP bridge talk over the same Redis db"
    published_host_port = stack["services"]["redis"]["ports"][0].rsplit(":", 2)
    assert livekit["redis"]["address"] == f"{published_host_port[0]}:{published_host_port[1]}"
    app_db = int(urlsplit(stack["services"]["api"]["environment"]["REDIS_URL"]).path.strip("/"))
    assert livekit["redis"]["db"] != app_db, "LiveKit's keys stay apart from Morpheus' cache and queues"
    for name in ("livekit", "sip"):
        assert stack["services"][name]["network_mode"] == "host", name


def test_everyone_reaches_livekit_on_its_configured_port(stack):
    livekit = yaml.safe_load(support.LIVEKIT_CONFIG.read_text())
    port = livekit["port"]
    assert port == 7880
    for name, service in support.app_services(stack).items():
        url = urlsplit(service["environment"]["LIVEKIT_URL"])
        assert (url.hostname, url.port) == ("host.docker.internal", port), name
    ws_url = urlsplit(stack["services"]["sip"]["environment"]["LIVEKIT_WS_URL"])
    assert (ws_url.scheme, ws_url.hostname, ws_url.port) == ("ws", "127.0.0.1", port)
    assert stack["services"]["livekit"]["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/"
    assert f"reverse_proxy host.docker.internal:{port}" in support.CADDYFILE.read_text()


def test_livekit_and_sip_read_the_mounted_config_files(stack):
    livekit = stack["services"]["livekit"]
    config_path = livekit["command"][livekit["command"].index("--config") + 1]
    assert f"./deploy/livekit.yaml:{config_path}:ro" in livekit["volumes"]
    # The livekit/sip image's entrypoint is `livekit-sip --config=/sip/config.yaml`.
    assert "./deploy/sip.yaml:/sip/config.yaml:ro" in stack["services"]["sip"]["volumes"]
    for service in stack["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (support.ROOT / source).is_file(), source


def test_the_media_ports_are_the_documented_ones():
    livekit = yaml.safe_load(support.LIVEKIT_CONFIG.read_text())
    sip = yaml.safe_load(support.SIP_CONFIG.read_text())
    rtc = livekit["rtc"]
    assert (rtc["tcp_port"], rtc["port_range_start"], rtc["port_range_end"]) == (7881, 50000, 60000)
    assert (sip["sip_port"], sip["rtp_port"]) == (5060, "10000-20000")
    firewall = (support.ROOT / "docs" / "deploy.md").read_text()
    for rule in ("7881/tcp", "50000-60000/udp", "5060/udp", "10000-20000/udp", "80/tcp", "443/tcp"):
        assert rule in firewall, f"docs/deploy.md must list the firewall rule {rule}"


def test_the_sip_health_check_asks_the_configured_health_port(stack):
    sip = yaml.safe_load(support.SIP_CONFIG.read_text())
    script = stack["services"]["sip"]["healthcheck"]["test"][-1]
    assert f"/dev/tcp/127.0.0.1/{sip['health_port']}" in script


def test_the_proxy_balances_over_every_api_replica_on_gunicorns_port(stack):
    caddyfile = support.CADDYFILE.read_text()
    assert "dynamic a api 8000" in caddyfile
    assert stack["services"]["proxy"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in stack["services"]["proxy"]["volumes"]
    # Caddy closes idle upstream connections before gunicorn does (no 502 on reuse).
    caddy_keepalive = int(re.search(r"keepalive (\d+)s", caddyfile).group(1))
    gunicorn_keepalive = int(re.search(r'"GUNICORN_KEEPALIVE", (\d+)', support.GUNICORN_CONFIG.read_text()).group(1))
    assert caddy_keepalive < gunicorn_keepalive


def test_the_proxy_gets_exactly_the_variables_the_caddyfile_reads(stack, env_values):
    environment = stack["services"]["proxy"]["environment"]
    assert set(environment) == support.caddyfile_names()
    assert environment["API_DOMAIN"] == env_values["API_DOMAIN"]
    assert environment["LIVEKIT_DOMAIN"] == env_values["LIVEKIT_DOMAIN"]


def test_logs_are_rotated_for_every_service():
    for name, service in RAW["services"].items():
        assert service["logging"]["options"]["max-size"], name
