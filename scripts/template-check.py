#!/usr/bin/env python3
"""The template as CloudFormation will see it: SAM's transform (aws-sam-translator, which the SAM
CLI venv of scripts/requirements-sam.txt has) run on template.yaml with its parameters' defaults,
then what `sam validate` does not check. Run by scripts/test:

    <sam venv>/bin/python scripts/template-check.py

Fails when
- the transformed stack has more than MAX_RESOURCES resources (CloudFormation refuses 500; the
  margin leaves room for the operations still to come);
- the dashboard is out of date (scripts/dashboard.py), its body is not JSON, a graph has more
  than 100 metrics, or it leaves out a function: every function's Binary must be an `operation`
  on it;
- an operation that serves requests has no p99 latency alarm, or an alarm watches more than 10
  metrics (CloudWatch refuses it at deploy time);
- an alarm does not notify AlarmTopicArn both when it fires and when it is OK again;
- with Tracing=Active a function is not traced or its role cannot write to X-Ray, or with the
  default (Disabled) a function is traced or its role may write to X-Ray;
- a route under /console/v1/ is not behind the JWT authorizer ConsoleAuthorizer with the scope
  console/admin, or that authorizer does not take the Console user pool's tokens for both its
  clients (README.md, "Console");
- resources depend on each other in a circle after the transform (CloudFormation refuses the
  template at deploy time; `sam validate --lint` does not see references inside an API's body)."""
import copy
import json
import logging
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the transform's partition, for ARNs
# The translator warns about usage metrics of its own it never publishes here.
logging.getLogger("samtranslator").setLevel(logging.ERROR)

import dashboard  # noqa: E402  (scripts/dashboard.py)
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

MAX_RESOURCES = 400
CONSOLE_PREFIX = "/console/v1/"
CONSOLE_AUTHORIZER = "ConsoleAuthorizer"
CONSOLE_SCOPE = "console/admin"
CONSOLE_SECURITY = [{CONSOLE_AUTHORIZER: [CONSOLE_SCOPE]}]
CONSOLE_AUTHORIZER_CONFIG = {
    "type": "jwt",
    "identitySource": "$request.header.Authorization",
    "jwtConfiguration": {
        "issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${ConsoleUserPool}"},
        "audience": [{"Ref": "ConsoleWebClient"}, {"Ref": "ConsoleAutomationClient"}],
    },
}
XRAY_POLICIES = ("AWSXrayWriteOnlyAccess", "AWSXRayDaemonWriteAccess")
TOPIC_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


class NoManagedPolicies:
    """The transform looks managed policies up by name only for policies given by name; the
    template's are inline statements, so no IAM call is needed."""

    def load(self):
        return {}


def transformed(template, parameters):
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            # What `sam package` puts there after uploading the artifact.
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
    return transform(template, parameters, NoManagedPolicies())


def dashboard_widgets(body):
    """The widgets of a dashboard body, its `${...}` variables read as 0."""
    return json.loads(re.sub(r"\$\{[^}]*\}", "0", body))["widgets"]


def dashboard_operations(widgets):
    """The `operation` dimension values the widgets graph (explicit metrics and SEARCH terms)."""
    found = set()
    for widget in widgets:
        for metric in widget.get("properties", {}).get("metrics", []):
            names = [m for m in metric if isinstance(m, str)]
            found.update(value for dim, value in zip(names[2::2], names[3::2]) if dim == "operation")
            for m in metric:
                if isinstance(m, dict) and "expression" in m:
                    found.update(re.findall(r'operation="([^"]+)"', m["expression"]))
    return found


def alarm_metric_operations(alarm):
    ops = set()
    for query in alarm["Properties"].get("Metrics", []):
        for dim in query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []):
            if dim["Name"] == "operation":
                ops.add(dim["Value"])
    return ops


def console_route_failures(stack):
    """Every /console/v1/ route of the transformed HTTP API must require ConsoleAuthorizer with
    the console scope, and the authorizer must be the Console user pool's."""
    failures = []
    apis = {k: r for k, r in stack["Resources"].items() if r["Type"] == "AWS::ApiGatewayV2::Api"
            and "Body" in r.get("Properties", {})}
    console_routes = 0
    for api_id, api in apis.items():
        body = api["Properties"]["Body"]
        for path, methods in body.get("paths", {}).items():
            if not path.startswith(CONSOLE_PREFIX):
                continue
            for method, operation in methods.items():
                console_routes += 1
                if operation.get("security") != CONSOLE_SECURITY:
                    failures.append(f"{api_id} {method} {path}: security is {operation.get('security')}, "
                                    f"not {CONSOLE_SECURITY} (Auth: {{Authorizer: {CONSOLE_AUTHORIZER}, "
                                    f"AuthorizationScopes: [{CONSOLE_SCOPE}]}})")
        if any(p.startswith(CONSOLE_PREFIX) for p in body.get("paths", {})):
            scheme = body.get("components", {}).get("securitySchemes", {}).get(CONSOLE_AUTHORIZER, {})
            if scheme.get("x-amazon-apigateway-authorizer") != CONSOLE_AUTHORIZER_CONFIG:
                failures.append(f"{api_id}: {CONSOLE_AUTHORIZER} is not the Console user pool's JWT authorizer "
                                f"for both its clients: {scheme}")
    print(f"template-check: {console_routes} console routes, each behind {CONSOLE_AUTHORIZER} ({CONSOLE_SCOPE})")
    if console_routes == 0:
        failures.append(f"no route under {CONSOLE_PREFIX}: the console is gone, or this check reads the wrong API")
    return failures


def references(node):
    """The logical ids `node` refers to (Ref, Fn::GetAtt, and Fn::Sub's ${...})."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else value.split(".")[0]
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                yield from (name.split(".")[0] for name in re.findall(r"\$\{([^}!][^}]*)\}", text)
                            if name not in variables)
                yield from references(variables)
            else:
                yield from references(value)


def dependency_cycle(resources):
    """A circle of resources that depend on each other (as a list, first repeated last), or None."""
    graph = {}
    for name, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        used = set(references(resource.get("Properties", {}))) | set(depends_on)
        graph[name] = sorted(used & resources.keys())
    state = {}  # absent: not seen; "open": on the current path; "done": no cycle through it
    for start in graph:
        if start in state:
            continue
        path, pending = [start], [iter(graph[start])]
        state[start] = "open"
        while pending:
            following = next(pending[-1], None)
            if following is None:
                state[path.pop()] = "done"
                pending.pop()
            elif state.get(following) == "open":
                return path[path.index(following):] + [following]
            elif following not in state:
                state[following] = "open"
                path.append(following)
                pending.append(iter(graph[following]))
    return None


def check(text):
    failures = []
    template = yaml_parse(text)
    resources = template["Resources"]
    functions = {k: r for k, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}

    stack = transformed(template, {})
    count = len(stack["Resources"])
    print(f"template-check: {len(functions)} functions, {count} resources after SAM's transform "
          f"(limit here {MAX_RESOURCES}, CloudFormation's 500)")
    if count > MAX_RESOURCES:
        failures.append(f"{count} resources after the transform, more than {MAX_RESOURCES}")
    cycle = dependency_cycle(stack["Resources"])
    if cycle:
        failures.append(f"circular dependency after the transform: {' -> '.join(cycle)}")
    failures += console_route_failures(stack)

    if not dashboard.up_to_date(text):
        failures.append("the dashboard or the latency alarms are out of date: run python3 scripts/dashboard.py")
    boards = [r for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Dashboard"]
    if len(boards) != 1:
        failures.append(f"{len(boards)} dashboards, expected 1")
    else:
        body = boards[0]["Properties"]["DashboardBody"]["Fn::Sub"]
        try:
            widgets = dashboard_widgets(body)
        except (ValueError, KeyError) as err:
            failures.append(f"the dashboard body is not a dashboard: {err}")
            widgets = []
        for widget in widgets:
            metrics = widget.get("properties", {}).get("metrics", [])
            # A row: namespace, name and dimension pairs, then its options; or one expression.
            malformed = [row for row in metrics if not (
                isinstance(row, list) and row and all(isinstance(v, str) for v in row[:-1])
                and (isinstance(row[-1], str) or (isinstance(row[-1], dict) and (len(row) > 2 or "expression" in row[-1]))))]
            if malformed:
                failures.append(f"the graph {widget['properties'].get('title')!r} has malformed rows: {malformed[:2]}")
            if len(metrics) > dashboard.METRICS_PER_GRAPH:
                failures.append(f"the graph {widget['properties'].get('title')!r} has {len(metrics)} metrics; "
                                f"CloudWatch draws {dashboard.METRICS_PER_GRAPH} at most: split it in scripts/dashboard.py")
        graphed = dashboard_operations(widgets)
        for logical_id, function in functions.items():
            binary = function["Metadata"]["BuildProperties"]["Binary"]
            if binary not in graphed:
                failures.append(f"{logical_id} ({binary}) is not on the dashboard")

    alarms = {k: r for k, r in resources.items() if r.get("Type") == "AWS::CloudWatch::Alarm"}
    watched = set()
    for logical_id, alarm in alarms.items():
        props = alarm["Properties"]
        for key in ("AlarmActions", "OKActions"):
            if props.get(key) != TOPIC_ACTIONS:
                failures.append(f"{logical_id}: {key} is not the AlarmTopicArn (when set) of the other alarms")
        stats = [q for q in props.get("Metrics", []) if "MetricStat" in q]
        if len(stats) > dashboard.METRICS_PER_ALARM:
            failures.append(f"{logical_id} watches {len(stats)} metrics; CloudWatch allows {dashboard.METRICS_PER_ALARM}")
        watched |= alarm_metric_operations(alarm)
    for function in dashboard.functions(dashboard.load(text)):
        if function.serves_requests and function.binary not in watched:
            failures.append(f"{function.binary} serves requests but no p99 latency alarm watches it")
    print(f"template-check: {len(alarms)} alarms: {', '.join(alarms)}")

    for mode, traced in (("Disabled", False), ("Active", True)):
        out = transformed(template, {"Tracing": mode})["Resources"]
        wrong = []
        for logical_id in functions:
            function = out[logical_id]["Properties"]
            role = out[function["Role"]["Fn::GetAtt"][0]]["Properties"]
            writes_xray = any(str(arn).endswith(XRAY_POLICIES) for arn in role.get("ManagedPolicyArns", []))
            if ("TracingConfig" in function) != traced or writes_xray != traced:
                wrong.append(logical_id)
        if wrong:
            should = "be traced with an X-Ray grant" if traced else "have neither tracing nor an X-Ray grant"
            failures.append(f"Tracing={mode}: these functions should {should}: {', '.join(wrong)}")
    return failures


def main():
    with open(os.path.join(dashboard.ROOT, "template.yaml")) as f:
        failures = check(f.read())
    for failure in failures:
        print(f"template-check: {failure}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
