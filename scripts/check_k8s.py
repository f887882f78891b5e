"""Checks deploy/k8s beyond what kubernetes-validate can (run by scripts/check-deploy in its venv).

kubernetes-validate knows the core API's schemas but not CRDs, so:
1. The ServiceMonitor (monitoring.coreos.com/v1, a Prometheus Operator CRD) is checked against a
   hand-written subset of its schema: the fields used here, with their types, and no others.
   That is a typo check, not the operator's full CRD schema.
2. The manifests agree with each other and with the daemon: the Service selects the Deployment's
   pods, the ServiceMonitor selects the Service and names one of its ports, the probes are gRPC
   probes on the container's plaintext health port, and the ConfigMap's portcullis.toml binds /metrics on
   0.0.0.0 at the container's metrics port (the daemon's default is loopback) and is mounted where
   the container's --config points.
Exits non-zero with every problem listed. Usage: check_k8s.py [DIR]  (default deploy/k8s)
"""

import pathlib
import sys
import tomllib

import jsonschema
import yaml

K8S = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "deploy" / "k8s"

DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)(ms|s|m|h))+)$"}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "namespace": {"type": "string"},
                "labels": LABELS,
                "annotations": LABELS,
            },
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchLabels": LABELS, "matchExpressions": {"type": "array"}},
                },
                "namespaceSelector": {"type": "object"},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "targetPort": {"type": ["string", "integer"]},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                            "interval": DURATION,
                            "scrapeTimeout": DURATION,
                            "honorLabels": {"type": "boolean"},
                            "tlsConfig": {"type": "object"},
                            "relabelings": {"type": "array"},
                            "metricRelabelings": {"type": "array"},
                        },
                    },
                },
            },
        },
    },
}


def load(name):
    docs = [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]
    if len(docs) != 1:
        raise SystemExit(f"{name}: expected one document, found {len(docs)}")
    return docs[0]


def main():
    problems = []
    sm = load("servicemonitor.yaml")
    for err in jsonschema.Draft202012Validator(SERVICE_MONITOR).iter_errors(sm):
        path = ".".join(str(p) for p in err.absolute_path) or "(root)"
        problems.append(f"servicemonitor.yaml: {path}: {err.message}")

    dep, svc, cm, pdb = (load(n) for n in ("deployment.yaml", "service.yaml", "configmap.yaml", "pdb.yaml"))
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    svc_labels = svc["metadata"].get("labels", {})

    def selects(selector, labels):
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    if not selects(svc["spec"].get("selector", {}), pod_labels):
        problems.append("service.yaml: spec.selector does not select the Deployment's pods")
    if not selects(dep["spec"]["selector"]["matchLabels"], pod_labels):
        problems.append("deployment.yaml: spec.selector does not match its own pod template")
    if not selects(pdb["spec"]["selector"].get("matchLabels", {}), pod_labels):
        problems.append("pdb.yaml: spec.selector does not select the Deployment's pods")
    if not selects(sm["spec"]["selector"].get("matchLabels", {}), svc_labels):
        problems.append("servicemonitor.yaml: spec.selector does not select the Service")
    svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
    for ep in sm["spec"]["endpoints"]:
        if ep.get("port") not in svc_ports:
            problems.append(f"servicemonitor.yaml: endpoint port {ep.get('port')!r} is not a Service port")

    (container,) = dep["spec"]["template"]["spec"]["containers"]
    cports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for name, p in svc_ports.items():
        if p["targetPort"] not in cports and p["targetPort"] not in cports.values():
            problems.append(f"service.yaml: port {name} targets {p['targetPort']!r}, not a container port")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc = container.get(probe, {}).get("grpc")
        if grpc is None:
            problems.append(f"deployment.yaml: {probe} is not a gRPC probe")
        elif grpc.get("port") != cports.get("health"):
            problems.append(f"deployment.yaml: {probe} probes port {grpc.get('port')}, not the plaintext health port")
        elif grpc.get("service", "") != "":
            problems.append(f"deployment.yaml: {probe} asks for service {grpc['service']!r}; the daemon reports \"\"")

    args = container.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args else None
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    cm_mount = next(
        (mounts[n] for n, v in volumes.items() if v.get("configMap", {}).get("name") == cm["metadata"]["name"] and n in mounts),
        None,
    )
    if config_path is None or cm_mount is None or config_path != f"{cm_mount}/portcullis.toml":
        problems.append(f"deployment.yaml: --config {config_path} is not the ConfigMap's portcullis.toml (mounted at {cm_mount})")
    try:
        toml = tomllib.loads(cm["data"]["portcullis.toml"])
    except (KeyError, tomllib.TOMLDecodeError) as e:
        problems.append(f"configmap.yaml: portcullis.toml does not parse: {e}")
        toml = {}
    server = toml.get("server", {})
    for key, port_name in (("metrics_addr", "metrics"), ("grpc_addr", "grpc"), ("health_addr", "health")):
        addr = server.get(key, "")
        host, _, port = addr.rpartition(":")
        if host != "0.0.0.0" or port != str(cports.get(port_name)):
            problems.append(f"configmap.yaml: server.{key} = {addr!r}; the pod needs 0.0.0.0:{cports.get(port_name)}")
    tls = toml.get("tls", {})
    secret_mounts = [mounts[n] for n, v in volumes.items() if "secret" in v and n in mounts]
    for key in ("cert", "key"):
        path = tls.get(key, "")
        if not any(path.startswith(m + "/") for m in secret_mounts):
            problems.append(f"configmap.yaml: tls.{key} {path!r} is not in a mounted Secret")
    if not toml.get("clients"):
        problems.append("configmap.yaml: no [[clients]]: the daemon refuses to start open on 0.0.0.0")
    if server.get("data_dir") not in mounts.values():
        problems.append(f"configmap.yaml: server.data_dir {server.get('data_dir')!r} is not a mounted volume")

    for p in problems:
        print(f"check_k8s: {p}", file=sys.stderr)
    if problems:
        return 1
    print("check_k8s: ServiceMonitor against the schema subset, selectors, ports, probes and config mount agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
