"""Container probes as the kubelet runs them: API defaults, named ports, handlers, and where they reach.

- Defaults (``SetDefaults_Probe``): timeoutSeconds 1, periodSeconds 10, successThreshold 1,
  failureThreshold 3, initialDelaySeconds 0. A 0 in the first four is defaulted like an absent field.
- Named ports (``httpGet.port`` / ``tcpSocket.port`` as a string) are looked up in *this container's*
  ``ports[].name``; failing that the kubelet tries the string as a number, and failing that the probe
  errors, which counts as a failure (``probe.ResolveContainerPort``).
- ``reach`` tells whether a probe leaves the pod: an exec command that talks to another host
  (database clients, curl/wget, nc, ...), an httpGet/tcpSocket ``host`` that is not the pod, or an
  HTTP path that names a dependency.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from premortem.load.document import Path
from premortem.model.podspec import ContainerView

LIVENESS = "livenessProbe"
READINESS = "readinessProbe"
STARTUP = "startupProbe"
PROBE_FIELDS = (LIVENESS, READINESS, STARTUP)
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")

DEFAULTS = {
    "initialDelaySeconds": 0,
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}
_ZERO_MEANS_DEFAULT = frozenset({"timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"})


@dataclass(frozen=True, slots=True)
class Probe:
    field: str  # livenessProbe, readinessProbe or startupProbe
    container: ContainerView
    data: dict[str, Any]

    @property
    def path(self) -> Path:
        return (*self.container.path, self.field)

    @property
    def word(self) -> str:
        return self.field.removesuffix("Probe")

    @property
    def handler_type(self) -> str | None:
        for name in HANDLERS:
            if isinstance(self.data.get(name), dict):
                return name
        return None

    @property
    def handler(self) -> dict[str, Any]:
        kind = self.handler_type
        return self.data[kind] if kind else {}

    def number(self, name: str) -> int | None:
        """A timing field after API defaulting; None when it is not an integer (the API would refuse it)."""
        value = self.data.get(name)
        if value is None:
            return DEFAULTS[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        if value == 0 and name in _ZERO_MEANS_DEFAULT:
            return DEFAULTS[name]
        return value

    @property
    def initial_delay(self) -> int | None:
        return self.number("initialDelaySeconds")

    @property
    def timeout(self) -> int | None:
        return self.number("timeoutSeconds")

    @property
    def period(self) -> int | None:
        return self.number("periodSeconds")

    @property
    def failure_threshold(self) -> int | None:
        return self.number("failureThreshold")

    @property
    def failure_budget(self) -> int | None:
        """Seconds of consecutive failures before the kubelet acts: periodSeconds * failureThreshold."""
        if self.period is None or self.failure_threshold is None:
            return None
        return self.period * self.failure_threshold

    @property
    def start_budget(self) -> int | None:
        """About how long a container has to start answering: initialDelaySeconds + the failure budget."""
        if self.initial_delay is None or self.failure_budget is None:
            return None
        return self.initial_delay + self.failure_budget

    def port(self) -> int | str | None:
        """The handler's port resolved against the container's ports: int, or the unresolvable name."""
        raw = self.handler.get("port")
        return resolve_port(raw, self.container) if raw is not None else None

    def handler_key(self) -> tuple[Any, ...] | None:
        """What the kubelet actually does, for comparing two probes (named ports resolved)."""
        kind = self.handler_type
        h = self.handler
        if kind == "httpGet":
            headers = h.get("httpHeaders") or []
            header_key = tuple(
                sorted(
                    (str(x.get("name", "")).lower(), str(x.get("value", "")))
                    for x in headers
                    if isinstance(x, dict)
                )
            )
            return (
                kind,
                str(h.get("scheme") or "HTTP").upper(),
                h.get("host") or "",
                self.port(),
                _normal_path(h.get("path")),
                header_key,
            )
        if kind == "tcpSocket":
            return (kind, h.get("host") or "", self.port())
        if kind == "grpc":
            return (kind, h.get("port"), h.get("service") or "")
        if kind == "exec":
            command = h.get("command")
            return (kind, tuple(str(c) for c in command) if isinstance(command, list) else None)
        return None


def probes_of(container: ContainerView) -> dict[str, Probe]:
    """The probes a container declares, by field name."""
    return {
        name: Probe(name, container, value)
        for name in PROBE_FIELDS
        if isinstance(value := container.data.get(name), dict)
    }


def container_ports(container: ContainerView) -> dict[str, int]:
    ports = container.data.get("ports")
    out: dict[str, int] = {}
    if isinstance(ports, list):
        for port in ports:
            if isinstance(port, dict) and isinstance(port.get("name"), str):
                number = port.get("containerPort")
                if isinstance(number, int) and not isinstance(number, bool):
                    out[port["name"]] = number
    return out


def resolve_port(value: Any, container: ContainerView) -> int | str:
    """``probe.ResolveContainerPort``: int as is; a name from the container's ports; a numeric string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    named = container_ports(container).get(text)
    if named is not None:
        return named
    if text.isascii() and text.isdigit() and len(text) <= 10:  # strconv.Atoi; no port has more digits
        return int(text)
    return text


def _normal_path(value: Any) -> str:
    text = str(value) if value not in (None, "") else "/"
    return text if text.startswith("/") else "/" + text


# --- Where a probe reaches -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reach:
    """A probe that depends on something outside the pod."""

    target: str  # the host, URL or dependency it reaches
    how: str  # e.g. "pg_isready -h db.prod", "httpGet.host", "HTTP path /health/db"
    certain: bool  # an explicit other host (True) or inferred from a name (False)


_LOCAL_HOSTS = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "0.0.0.0", "::", "::1"}
)
_POD_FIELDS = frozenset(
    {"status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs", "metadata.name", "spec.nodeName"}
)
_VAR = re.compile(r"^\$(?:\{(\w+)(?:[:-][^}]*)?\}|\((\w+)\)|(\w+))$")
_SELF_COMMANDS = re.compile(r"^(?:\$\(|`)\s*hostname(?:\s+-[if]+)?\s*(?:\)|`)$")
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})
_WRAPPERS = frozenset(
    {"exec", "timeout", "env", "sudo", "nice", "nohup", "command", "su-exec", "gosu", "chpst"}
)
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_DEPENDENCY_WORDS = frozenset(
    {
        "db",
        "database",
        "databases",
        "sql",
        "mysql",
        "postgres",
        "postgresql",
        "pg",
        "redis",
        "mongo",
        "mongodb",
        "cassandra",
        "kafka",
        "rabbitmq",
        "amqp",
        "elasticsearch",
        "memcached",
        "deps",
        "dependency",
        "dependencies",
        "downstream",
        "downstreams",
        "upstream",
        "upstreams",
    }
)

# Client tools: option spellings that name the host they connect to.
_HOST_OPTIONS: dict[str, tuple[str, ...]] = {
    "pg_isready": ("-h", "--host"),
    "psql": ("-h", "--host"),
    "mysql": ("-h", "--host"),
    "mysqladmin": ("-h", "--host"),
    "mysqlshow": ("-h", "--host"),
    "mariadb": ("-h", "--host"),
    "mariadb-admin": ("-h", "--host"),
    "redis-cli": ("-h",),
    "valkey-cli": ("-h",),
    "keydb-cli": ("-h",),
    "mongo": ("--host",),
    "mongosh": ("--host",),
    "nodetool": ("-h", "--host"),
    "cqlsh": (),
    "etcdctl": ("--endpoints",),
    "grpc_health_probe": ("-addr", "--addr"),
    "grpc-health-probe": ("-addr", "--addr"),
    "zkcli.sh": ("-server",),
    "kafka-broker-api-versions.sh": ("--bootstrap-server",),
    "kafka-topics.sh": ("--bootstrap-server", "--zookeeper"),
    "kafka-topics": ("--bootstrap-server", "--zookeeper"),
    "kafka-broker-api-versions": ("--bootstrap-server",),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Options that take a value (never the URL), for finding curl's, wget's and nc's positional arguments.
_CURL_VALUE_OPTIONS = _words(
    "-o -w -H -X -d -u -A -e -m -T -b -c -K -E -r -y -Y -z -C -x --output --write-out --header --request "
    "--data --data-raw --data-binary --user --user-agent --referer --max-time --connect-timeout --retry "
    "--retry-delay --retry-max-time --cert --key --cacert --capath --resolve --connect-to --config --proxy "
    "--interface --local-port --unix-socket --abstract-unix-socket"
)
_WGET_VALUE_OPTIONS = _words(
    "-O -o -a -t -T -w -P -e -U --output-document --output-file --tries --timeout --wait --directory-prefix "
    "--header --post-data --body-data --method --user --password --user-agent"
)
_NC_VALUE_OPTIONS = _words("-w -i -p -s -x -X -q -W -I -O -T -V -e -c")
_PING_VALUE_OPTIONS = _words("-c -w -W -t -p -i")


def exec_reach(command: Any, container: ContainerView) -> Reach | None:
    """The first other host an exec probe's command talks to, if the command shows one."""
    if not isinstance(command, list) or not command:
        return None
    argv = [str(c) for c in command]
    script: str | None = None
    base = _base(argv[0])
    if base in _SHELLS and len(argv) >= 3 and argv[1].startswith("-") and "c" in argv[1]:
        script = argv[2]
    if script is None:
        return _simple_command_reach(argv, container)
    for words in _split_script(script):
        found = _simple_command_reach(words, container)
        if found is not None:
            return found
    match = re.search(r"/dev/(?:tcp|udp)/([^/\s]+)/(\w+)", script)
    if match and not is_local_host(match.group(1), container):
        host = match.group(1)
        return Reach(host, f"/dev/tcp/{host}/{match.group(2)}", _is_known(host, container))
    return None


def http_reach(probe: Probe) -> Reach | None:
    """httpGet.host / tcpSocket.host naming another host, or an HTTP path that names a dependency."""
    handler = probe.handler
    kind = probe.handler_type
    if kind in ("httpGet", "tcpSocket"):
        host = handler.get("host")
        if isinstance(host, str) and host and not is_local_host(host, probe.container):
            return Reach(host, f"{kind}.host: {host}", True)
    if kind == "httpGet":
        path = _normal_path(handler.get("path"))
        words = [w for w in re.split(r"[/_.\-?&=]+", path.split("?", 1)[0].lower()) if w]
        hits = [w for w in words if w in _DEPENDENCY_WORDS]
        if hits:
            return Reach(hits[0], f"HTTP path {path}", False)
        if path.rstrip("/") in ("/actuator/health", "/health/all"):
            return Reach("every HealthIndicator (DataSource, Redis, ...)", f"HTTP path {path}", False)
    return None


def probe_reach(probe: Probe) -> Reach | None:
    if probe.handler_type == "exec":
        return exec_reach(probe.handler.get("command"), probe.container)
    return http_reach(probe)


def is_local_host(host: str, container: ContainerView) -> bool:
    """True when ``host`` is this pod (loopback, its own IP or name) or cannot leave it (a unix socket)."""
    text = host.strip().strip("'\"")
    if text.startswith("/") or text.startswith("unix:") or text.startswith("@"):
        return True
    if text.count(":") == 1 or text.startswith("["):
        text = _strip_port(text)
    if not text:
        return True
    if _SELF_COMMANDS.match(text):
        return True
    var = _VAR.match(text)
    if var:
        name = var.group(1) or var.group(2) or var.group(3)
        if name in ("HOSTNAME", "POD_IP", "MY_POD_IP", "HOST_IP", "POD_NAME"):
            return True
        source = _env_source(container, name)
        if source is None:
            return False
        kind, value = source
        return value in _POD_FIELDS if kind == "fieldRef" else is_local_host(value, container)
    lowered = text.lower().strip("[]")
    lowered = lowered.removeprefix("::ffff:")  # IPv4-mapped IPv6
    return lowered in _LOCAL_HOSTS or lowered.startswith("127.")


def _env_source(container: ContainerView, name: str) -> tuple[str, str] | None:
    env = container.data.get("env")
    if not isinstance(env, list):
        return None
    for entry in env:
        if not isinstance(entry, dict) or entry.get("name") != name:
            continue
        if isinstance(entry.get("value"), str):
            return "value", entry["value"]
        ref = (
            (entry.get("valueFrom") or {}).get("fieldRef")
            if isinstance(entry.get("valueFrom"), dict)
            else None
        )
        if isinstance(ref, dict) and isinstance(ref.get("fieldPath"), str):
            return "fieldRef", ref["fieldPath"]
        return None
    return None


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host[: host.index("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1].lower()


def _split_script(script: str) -> list[list[str]]:
    """Simple commands of a shell script (split at ; && || | & ( ) and newlines)."""
    text = script.replace("\\\n", " ").replace("\n", " ; ")
    # Keep $(NAME) (kubelet/shell variable syntax) and $(hostname ...) as single words.
    text = re.sub(r"\$\(\s*hostname[^)]*\)|`\s*hostname[^`]*`", "localhost", text)
    text = re.sub(r"\$\((\w+)\)", r"${\1}", text)
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = text.split()
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token and set(token) <= set(";&|()"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _strip_wrappers(argv: list[str]) -> list[str]:
    words = list(argv)
    while words:
        head = words[0]
        if re.match(r"^\w+=", head):
            words.pop(0)
        elif _base(head) in _WRAPPERS:
            words.pop(0)
            while words and (words[0].startswith("-") or re.fullmatch(r"[\d.]+[smhd]?", words[0])):
                words.pop(0)
        else:
            break
    return words


def _option_values(words: list[str], options: tuple[str, ...]) -> list[str]:
    """Values of ``-h X``, ``-hX``, ``--host X``, ``--host=X``, ``-addr=X`` style options."""
    values = []
    for i, word in enumerate(words):
        for opt in options:
            if word == opt and i + 1 < len(words):
                values.append(words[i + 1])
            elif word.startswith(opt + "="):
                values.append(word[len(opt) + 1 :])
            elif len(opt) == 2 and word.startswith(opt) and len(word) > 2 and not word.startswith("--"):
                values.append(word[2:])
    return values


def _host_of(value: str) -> list[str]:
    """Hosts in a host option value: ``h``, ``h:port``, ``rs/h1:p,h2:p``, a URI, or ``host=... `` conninfo."""
    text = value.strip()
    if _URI.match(text):
        host = _uri_host(text)
        return [host] if host is not None else []
    if "host=" in text:
        match = re.search(r"host=([^\s]+)", text)
        return [match.group(1)] if match else []
    if "/" in text and not text.startswith(("/", "$")):
        text = text.split("/", 1)[1]  # mongo replica-set form rs0/h1,h2
    return [h for h in text.split(",") if h]


def _uri_host(uri: str) -> str | None:
    try:
        parts = urlsplit(uri)
        netloc = parts.netloc
    except ValueError:
        return None
    if parts.scheme in ("unix", "file"):
        return None
    netloc = netloc.rsplit("@", 1)[-1]
    return netloc.split(",")[0] or None


def _is_known(host: str, container: ContainerView) -> bool:
    """False when the host is a variable this manifest does not set (it could still be local)."""
    var = _VAR.match(_strip_port(host.strip().strip("'\"")))
    if not var:
        return True
    return _env_source(container, var.group(1) or var.group(2) or var.group(3)) is not None


def _remote(hosts: list[str], container: ContainerView) -> str | None:
    for host in hosts:
        if not is_local_host(host, container):
            return host
    return None


def _simple_command_reach(argv: list[str], container: ContainerView) -> Reach | None:
    words = _strip_wrappers(argv)
    if not words:
        return None
    tool = _base(words[0])
    args = words[1:]
    shown = " ".join(words)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    hosts: list[str] = []
    if tool in _HOST_OPTIONS:
        for value in _option_values(args, _HOST_OPTIONS[tool]):
            hosts.extend(_host_of(value))
        if tool == "cqlsh":
            hosts.extend(a for a in args[:1] if not a.startswith("-"))
        if tool in ("mongo", "mongosh", "redis-cli", "valkey-cli", "keydb-cli", "psql", "pg_isready"):
            hosts.extend(h for a in args for h in _host_of(a) if _URI.match(a))
            for value in _option_values(args, ("-u", "-d", "--dbname", "--uri")):
                if _URI.match(value) or "host=" in value:
                    hosts.extend(_host_of(value))
    elif tool in ("curl", "wget"):
        if "--unix-socket" in args:
            return None
        hosts.extend(_url_hosts(args, _CURL_VALUE_OPTIONS if tool == "curl" else _WGET_VALUE_OPTIONS))
    elif tool in ("nc", "ncat", "netcat"):
        if "-U" in args or "--unixsock" in args:
            return None
        positional = _positional(args, _NC_VALUE_OPTIONS)
        hosts.extend(positional[:1])
    elif tool == "kubectl":
        return Reach("the Kubernetes API server", shown, True)
    elif tool in ("nslookup", "dig", "host", "ping"):
        positional = _positional(args, _PING_VALUE_OPTIONS)
        if positional and not is_local_host(positional[0], container):
            return Reach(positional[0], shown, True)
        return None
    else:
        for arg in args:
            value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
            if _URI.match(value):
                hosts.extend(_host_of(value))
    remote = _remote(hosts, container)
    if remote is None:
        return None
    return Reach(remote, shown, _is_known(remote, container))


def _positional(args: list[str], value_options: frozenset[str]) -> list[str]:
    out = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in value_options:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        out.append(arg)
    return out


def _url_hosts(args: list[str], value_options: frozenset[str]) -> list[str]:
    hosts = []
    for arg in _positional(args, value_options):
        if _URI.match(arg):
            host = _uri_host(arg)
            if host:
                hosts.append(host)
        elif re.match(r"^[\w.\-\[\]:$(){}]+(?::\d+)?(?:/|$)", arg) and (
            "." in arg or ":" in arg or "/" in arg
        ):
            hosts.append(arg.split("/", 1)[0])
    return hosts
