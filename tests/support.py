"""Readers for the deployment files, reading them the way Docker and Compose do.

Docker cannot run here, so the tests parse the Dockerfile, docker-compose.yml and
.env.example with these helpers and check every claim against the code: the
commands exist, the variables are read, the ports line up.
"""

import ast
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS_FILE = ROOT / "morpheus" / "settings.py"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
LIVEKIT_CONFIG = ROOT / "deploy" / "livekit.yaml"
SIP_CONFIG = ROOT / "deploy" / "sip.yaml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- .env files --------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"^(?P<hash>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


@dataclass
class EnvEntry:
    name: str
    value: str
    commented: bool
    comment: list[str] = field(default_factory=list)

    @property
    def required(self) -> bool:
        return any(line.startswith("REQUIRED") for line in self.comment)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def read_env_file(path: Path = ENV_EXAMPLE) -> list[EnvEntry]:
    """Every `NAME=value` line, active or commented out (`# NAME=value`), with the
    comment block right above it."""
    entries: list[EnvEntry] = []
    comment: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            comment = []
            continue
        match = _ASSIGNMENT.match(line)
        if match:
            entries.append(
                EnvEntry(
                    name=match["name"],
                    value=_unquote(match["value"]),
                    commented=bool(match["hash"]),
                    comment=comment,
                )
            )
            comment = []
        elif line.startswith("#"):
            comment = [*comment, line.lstrip("#").strip()]
    return entries


def dotenv_values(entries: list[EnvEntry]) -> dict[str, str]:
    """What Compose reads from the file: the active assignments only."""
    return {entry.name: entry.value for entry in entries if not entry.commented}


# --- Compose interpolation ------------------------------------------------------------


class InterpolationError(ValueError):
    """`${NAME:?message}` met an unset variable: Compose refuses to start."""


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
    `${NAME:?error}`, `${NAME?error}`, `${NAME:+alt}`, `${NAME+alt}`, nesting, `$$`."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            end = _closing_brace(text, index + 2)
            out.append(_expand(text[index + 2 : end], variables))
            index = end + 1
        elif match := VARIABLE_NAME.match(text, index + 1):
            out.append(variables.get(match.group(), ""))
            index = match.end()
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth, index = 1, start
    while index < len(text):
        if text.startswith("$$", index):
            index += 2
        elif text.startswith("${", index):
            depth += 1
            index += 2
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
            index += 1
        else:
            index += 1
    raise ValueError(f"unclosed ${{ in {text!r}")


_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.DOTALL)


def _expand(expression: str, variables: dict[str, str]) -> str:
    match = _BRACED.match(expression)
    if not match:
        raise ValueError(f"unsupported interpolation ${{{expression}}}")
    name, op, arg = match["name"], match["op"], match["arg"] or ""
    value = variables.get(name)
    if op is None:
        return value or ""
    present = bool(value) if op.startswith(":") else value is not None
    kind = op[-1]
    if kind == "-":
        return value if present else interpolate(arg, variables)
    if kind == "?":
        if present:
            return value
        raise InterpolationError(f"{name}: {interpolate(arg, variables)}")
    return interpolate(arg, variables) if present else ""


def interpolate_tree(node, variables: dict[str, str]):
    """Interpolates every string value (Compose leaves keys alone)."""
    if isinstance(node, dict):
        return {key: interpolate_tree(value, variables) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, variables) for item in node]
    if isinstance(node, str):
        return interpolate(node, variables)
    return node


def interpolation_names(text: str) -> set[str]:
    """Every variable a Compose file (or fragment) interpolates, `$$` escapes excluded."""
    return {
        braced or bare for braced, bare in re.findall(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_]\w*))", text)
    }


def raw_compose() -> dict:
    """The compose file with anchors and merge keys resolved, not interpolated."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose(variables: dict[str, str]) -> dict:
    return interpolate_tree(raw_compose(), variables)


def app_services(config: dict) -> dict[str, dict]:
    """The services that run the Morpheus image (built from this repository)."""
    return {name: service for name, service in config["services"].items() if "build" in service}


def container_environment(service: dict, env_file: dict[str, str]) -> dict[str, str]:
    """A container's environment: its env_file (.env), then `environment` on top."""
    environment: dict[str, str] = {}
    if service.get("env_file"):
        environment.update(env_file)
    for name, value in (service.get("environment") or {}).items():
        environment[name] = "" if value is None else str(value)
    return environment


def healthcheck_argv(test: list[str]) -> list[str]:
    """A compose/Dockerfile health check as the argv it runs."""
    kind, *rest = test
    if kind == "CMD":
        return rest
    if kind == "CMD-SHELL":
        return shlex.split(rest[0])
    raise ValueError(f"unexpected health check form {test!r}")


# --- Dockerfile ---------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array of CMD/ENTRYPOINT/HEALTHCHECK CMD (shell form is not used here)."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text[text.index(" CMD ") + len(" CMD ") :] if " CMD " in text else text.removeprefix("CMD ")
        return json.loads(text)


def read_dockerfile() -> list[Instruction]:
    instructions: list[Instruction] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment lines inside a continuation are dropped by Docker
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(arguments.split())))
    return instructions


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    """ENV key=value pairs in order, `$NAME` expanded against the earlier ones."""
    env: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword != "ENV":
            continue
        for pair in shlex.split(instruction.arguments):
            name, _, value = pair.partition("=")
            env[name] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
    return env


# --- .dockerignore ---------------------------------------------------------------------


def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    """(is_exception, regex) per line, Docker's syntax: `*`, `?`, `**`, leading `!`."""
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = line.lstrip("!").strip().lstrip("/")
        rules.append((exception, re.compile(_glob_to_regex(pattern))))
    return rules


def _glob_to_regex(pattern: str) -> str:
    regex, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            regex += ".*"
            index += 2
        elif pattern[index] == "*":
            regex += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            regex += "[^/]"
            index += 1
        else:
            regex += re.escape(pattern[index])
            index += 1
    return f"^{regex}$"


def is_ignored(relative_path: str, rules) -> bool:
    """Whether the build context leaves the path out: the last matching rule wins, and
    a rule matching a directory covers everything inside it."""
    parts = relative_path.split("/")
    prefixes = ["/".join(parts[: depth + 1]) for depth in range(len(parts))]
    ignored = False
    for exception, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not exception
    return ignored


# --- Who reads which environment variable ---------------------------------------------------

_ENV_READERS = {"env", "os.environ.get", "os.getenv", "environ.get", "_env_int"}


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def env_names_read_by(path: Path) -> set[str]:
    """Variables a Python module reads: `env("X")`, `env.int("X")`, `os.environ.get("X")`,
    `os.environ["X"]`, `os.getenv("X")`, `_env_int("X")`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args:
            func = _dotted(node.func)
            reader = func in _ENV_READERS or func.startswith("env.")
            first = node.args[0]
            if reader and isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
        elif (
            isinstance(node, ast.Subscript)
            and _dotted(node.value) == "os.environ"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            names.add(node.slice.value)
    return names


def shell_names(path: Path) -> set[str]:
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", path.read_text()))


def caddyfile_names() -> set[str]:
    return set(re.findall(r"\{\$([A-Z][A-Z0-9_]*)", CADDYFILE.read_text()))
