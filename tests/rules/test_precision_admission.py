"""Regression tests for issue 14 on the admission rules, drawn from the real files where the review
saw them."""

from __future__ import annotations

from premortem.engine import scan
from premortem.load.document import LoadResult
from premortem.load.reader import load_text
from premortem.rules import all_rules

# kubernetes/ingress-nginx deploy/static/provider/exoscale/deploy.yaml (trimmed): the admission
# webhook's backend is a DaemonSet.
EXOSCALE = """\
apiVersion: v1
kind: Service
metadata: {name: ingress-nginx-controller-admission, namespace: ingress-nginx}
spec:
  ports: [{name: https-webhook, port: 443, targetPort: webhook}]
  selector:
    app.kubernetes.io/component: controller
    app.kubernetes.io/instance: ingress-nginx
    app.kubernetes.io/name: ingress-nginx
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/component: controller
      app.kubernetes.io/instance: ingress-nginx
      app.kubernetes.io/name: ingress-nginx
  template:
    metadata:
      labels:
        app.kubernetes.io/component: controller
        app.kubernetes.io/instance: ingress-nginx
        app.kubernetes.io/name: ingress-nginx
    spec:
      containers:
      - name: controller
        image: registry.k8s.io/ingress-nginx/controller:v1.14.0
        resources: {requests: {cpu: 100m, memory: 90Mi}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: ingress-nginx-admission}
webhooks:
- admissionReviewVersions: [v1]
  clientConfig:
    service: {name: ingress-nginx-controller-admission, namespace: ingress-nginx, path: /networking/v1/ingresses, port: 443}
  failurePolicy: Fail
  matchPolicy: Equivalent
  name: validate.nginx.ingress.kubernetes.io
  rules:
  - apiGroups: [networking.k8s.io]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [ingresses]
  sideEffects: None
"""

# kubernetes-sigs/kind site/static/examples/ingress/deploy-ingress-nginx.yaml (trimmed): the same
# labels, but a Deployment of one replica, in another project.
KIND_DEPLOYMENT = EXOSCALE[
    EXOSCALE.index("apiVersion: apps/v1") : EXOSCALE.index("---\napiVersion: admission")
]
KIND_DEPLOYMENT = KIND_DEPLOYMENT.replace("kind: DaemonSet", "kind: Deployment")


def scan_files(files: dict[str, str]):
    loaded = LoadResult()
    for name, text in files.items():
        loaded.extend(load_text(text, name))
    return scan(loaded, all_rules())


def adm006(result):
    return [f for f in result.findings if f.rule == "ADM006"]


def test_daemonset_backend_is_not_a_single_replica():
    assert adm006(scan_files({"provider/exoscale/deploy.yaml": EXOSCALE})) == []


def test_a_deployment_of_another_project_is_not_the_backend():
    result = scan_files(
        {
            "ingress-nginx/deploy/static/provider/exoscale/deploy.yaml": EXOSCALE,
            "kind/site/static/examples/ingress/deploy-ingress-nginx.yaml": KIND_DEPLOYMENT,
        }
    )
    assert adm006(result) == []


def test_a_single_replica_deployment_of_the_same_unit_is_the_backend():
    same_file = EXOSCALE.replace(
        EXOSCALE[EXOSCALE.index("apiVersion: apps/v1") : EXOSCALE.index("---\napiVersion: admission")],
        KIND_DEPLOYMENT + "---\n",
    )
    [finding] = adm006(scan_files({"deploy/static/provider/kind/deploy.yaml": same_file}))
    assert finding.extra["backend"] == "Deployment/ingress-nginx-controller"
    # The same in another file of the same directory tree.
    webhook_only = same_file[same_file.index("apiVersion: admission") :]
    service_only = same_file[: same_file.index("---\napiVersion: apps/v1")]
    result = scan_files(
        {
            "deploy/webhook.yaml": webhook_only,
            "deploy/service.yaml": service_only,
            "deploy/base/deployment.yaml": KIND_DEPLOYMENT,
        }
    )
    assert len(adm006(result)) == 1


# tektoncd/pipeline config/500-webhooks.yaml (v1 default timeout) and GoogleCloudPlatform/
# kubernetes-engine-samples databases/redis-enterprise-operator/manifests/01-basic-cluster/webhook.yaml
# (an explicit 30 s), trimmed.
TEKTON_WEBHOOK = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: validation.webhook.pipeline.tekton.dev}
webhooks:
- admissionReviewVersions: [v1]
  clientConfig:
    service: {name: tekton-pipelines-webhook, namespace: tekton-pipelines}
  failurePolicy: Fail
  sideEffects: None
  name: validation.webhook.pipeline.tekton.dev
"""


def adm003(text: str):
    [finding] = [f for f in scan_files({"config/500-webhooks.yaml": text}).findings if f.rule == "ADM003"]
    return finding


def test_default_timeout_is_low_and_an_explicit_thirty_seconds_is_medium():
    assert adm003(TEKTON_WEBHOOK).severity.label == "low"
    explicit = TEKTON_WEBHOOK.replace("  sideEffects: None\n", "  sideEffects: None\n  timeoutSeconds: 30\n")
    assert adm003(explicit).severity.label == "medium"
    fail_open = TEKTON_WEBHOOK.replace("failurePolicy: Fail", "failurePolicy: Ignore")
    assert adm003(fail_open).severity.label == "info"


def test_the_cut_off_is_a_rule_parameter():
    from premortem.settings import Settings, use_settings

    with use_settings(Settings(params={"ADM003": {"medium_seconds": 10}})):
        assert adm003(TEKTON_WEBHOOK).severity.label == "medium"
