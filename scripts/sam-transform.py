#!/usr/bin/env python3
"""Offline SAM transform of template.yaml, plus checks of the CloudFormation it becomes.

Usage: scripts/sam-transform.py [--region R] TEMPLATE OUTPUT_JSON
       (run with the venv's python, which has aws-sam-translator; scripts/test does)

Runs the SAM transform (the installed `samtranslator` package) without any AWS call and writes
the CloudFormation template as JSON to OUTPUT_JSON, for `cfn-lint OUTPUT_JSON`. The template uses
no managed policies, so the managed-policy map is empty. Then checks what the linters cannot
know, on the transformed resources, and exits 1 naming each problem:

  - IAM: no managed policies; no wildcard actions; `*` resources only for X-Ray's actions;
    every role used by one function only; each function's role allows what Lambda does with
    it (its log group, X-Ray, its SQS event sources, its on-failure destination); the
    schedules' role may invoke their targets and write their dead-letter queue.
  - Scheduled runs: the schedule and Lambda both retry 0 times, failures land in a queue,
    reserved concurrency 1.
  - Alarms: every alarm notifies on ALARM and OK; `Orderbridge` metrics exist (names below) and
    use the `Service` dimension; every function has an Errors alarm and every dead-letter or
    failure queue a not-empty alarm, each on a resource of this template.
  - Dashboard: the body is valid JSON and names only metrics that exist.
  - Queues are encrypted and covered by exactly one queue policy that denies plain HTTP.
  - The stack outputs the CLI reads are all there.
"""

import argparse
import json
import os
import re
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# The metrics the functions publish (embedded metric format), namespace `Orderbridge`.
METRICS = {
    "OrdersImported", "OrdersRejected", "OrdersReleased", "OrdersCancelled",
    "PackagesConfirmed", "PackagesRefused", "MarketplaceThrottles", "PendingOrders",
    "OldestPendingAgeSeconds", "ImportLagSeconds", "BuyerDataErased", "OpenDecisions",
}
NAMESPACE = "Orderbridge"
# Outputs read by `orderbridge --stack NAME`.
OUTPUTS = {
    "OrdersTableName", "StatusQueueUrl", "StatusDeadLetterQueueUrl", "OrderChangeQueueArn",
    "OrderChangeQueueUrl", "OrderChangeDeadLetterQueueUrl", "ScheduledRunFailuresQueueUrl",
    "ImportFunctionName", "StatusFunctionName", "ShipmentFunctionName",
    "HousekeepingFunctionName", "MarketplaceSecretPrefix", "AlarmTopicArn", "DashboardUrl",
}
# Every function gets these variables.
FUNCTION_ENV = {"ORDERBRIDGE_SERVICE", "ORDERBRIDGE_TABLE", "ORDERBRIDGE_STATUS_QUEUE_URL"}
# Actions without resource-level permissions, the only ones allowed on `*`.
STAR_ACTIONS = {"xray:puttracesegments", "xray:puttelemetryrecords"}


class NoManagedPolicies:
    """Managed-policy loader for the transform: this template uses none."""

    def load(self):
        return {}


def listify(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def target(value):
    """A comparable form of a reference: ("Ref", name), (name, attribute) or the value."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return ("Ref", arg)
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            return (parts[0], parts[1])
    return json.dumps(value, sort_keys=True)


def resource_name(value):
    """The logical id a Ref/GetAtt points at, else None."""
    t = target(value)
    if isinstance(t, tuple):
        return t[1] if t[0] == "Ref" else t[0]
    return None


class Checker:
    def __init__(self, cfn):
        self.cfn = cfn
        self.resources = cfn.get("Resources", {})
        self.problems = []

    def problem(self, where, text):
        self.problems.append(f"{where}: {text}")

    def of_type(self, kind):
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}

    def props(self, logical_id):
        return self.resources.get(logical_id, {}).get("Properties", {})

    # ------------------------------------------------------------ IAM
    def allow_statements(self, role_id):
        for policy in self.props(role_id).get("Policies", []):
            for st in listify(policy.get("PolicyDocument", {}).get("Statement")):
                if st.get("Effect") == "Allow":
                    yield st

    def grants(self, role_id, action, resource):
        """Whether role_id allows `action` on `resource` (a reference or a string)."""
        want = target(resource)
        for st in self.allow_statements(role_id):
            actions = {a.lower() for a in listify(st.get("Action"))}
            if action.lower() not in actions:
                continue
            for res in listify(st.get("Resource")):
                if res == "*" or target(res) == want:
                    return True
                # `!Sub ${X.Arn}/...` or an ARN pattern: accept when it starts with the
                # referenced resource (used for the log group's `:log-stream:*`).
                if isinstance(res, dict) and "Fn::Sub" in res and isinstance(want, tuple):
                    text = res["Fn::Sub"] if isinstance(res["Fn::Sub"], str) else res["Fn::Sub"][0]
                    if text.startswith("${%s.%s}" % want):
                        return True
        return False

    def check_roles(self):
        for role_id, role in self.of_type("AWS::IAM::Role").items():
            p = role.get("Properties", {})
            if p.get("ManagedPolicyArns"):
                self.problem(role_id, "managed policies attached; grant named actions inline")
            for st in self.allow_statements(role_id):
                sid = st.get("Sid", "?")
                actions = [a.lower() for a in listify(st.get("Action"))]
                for a in actions:
                    if "*" in a:
                        self.problem(f"{role_id}.{sid}", f"wildcard action {a}")
                if "*" in listify(st.get("Resource")) and not set(actions) <= STAR_ACTIONS:
                    self.problem(f"{role_id}.{sid}", "Resource `*` is only allowed for X-Ray's actions")

    def check_functions(self):
        functions = self.of_type("AWS::Lambda::Function")
        role_users = {}
        for fn_id, fn in functions.items():
            p = fn.get("Properties", {})
            role_id = resource_name(p.get("Role"))
            if role_id not in self.resources:
                self.problem(fn_id, "Role is not a role of this template")
                continue
            role_users.setdefault(role_id, []).append(fn_id)
            if p.get("TracingConfig", {}).get("Mode") != "Active":
                self.problem(fn_id, "Tracing is not Active")
            for action in STAR_ACTIONS:
                if not self.grants(role_id, action, "*"):
                    self.problem(role_id, f"{action} missing (X-Ray tracing of {fn_id})")
            logging = p.get("LoggingConfig", {})
            if logging.get("LogFormat") != "JSON":
                self.problem(fn_id, "LoggingConfig.LogFormat is not JSON")
            log_group = logging.get("LogGroup")
            log_group_id = resource_name(log_group)
            if log_group_id not in self.of_type("AWS::Logs::LogGroup"):
                self.problem(fn_id, "LoggingConfig.LogGroup is not a log group of this template")
            else:
                for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                    if not self.grants(role_id, action, {"Fn::GetAtt": [log_group_id, "Arn"]}):
                        self.problem(role_id, f"{action} on {log_group_id} missing ({fn_id} logs)")
            env = set(p.get("Environment", {}).get("Variables", {}))
            for var in sorted(FUNCTION_ENV - env):
                self.problem(fn_id, f"environment variable {var} missing")
        for role_id, users in role_users.items():
            if len(users) > 1:
                self.problem(role_id, f"shared by {', '.join(sorted(users))}; one role per function")

        for esm_id, esm in self.of_type("AWS::Lambda::EventSourceMapping").items():
            p = esm.get("Properties", {})
            fn_id = resource_name(p.get("FunctionName"))
            role_id = resource_name(self.props(fn_id).get("Role"))
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                if not self.grants(role_id, action, p.get("EventSourceArn")):
                    self.problem(role_id, f"{action} on {resource_name(p.get('EventSourceArn'))} missing ({esm_id})")

        scheduled = {}
        for sched_id, sched in self.of_type("AWS::Scheduler::Schedule").items():
            t = sched.get("Properties", {}).get("Target", {})
            fn_id = resource_name(t.get("Arn"))
            scheduled[fn_id] = sched_id
            role_id = resource_name(t.get("RoleArn"))
            if role_id not in self.resources:
                self.problem(sched_id, "Target.RoleArn is not a role of this template")
            elif not self.grants(role_id, "lambda:InvokeFunction", t.get("Arn")):
                self.problem(role_id, f"lambda:InvokeFunction on {fn_id} missing ({sched_id})")
            if t.get("RetryPolicy", {}).get("MaximumRetryAttempts") != 0:
                self.problem(sched_id, "RetryPolicy.MaximumRetryAttempts must be 0 (the next run is the retry)")
            dlq = t.get("DeadLetterConfig", {}).get("Arn")
            if dlq is None:
                self.problem(sched_id, "no DeadLetterConfig")
            elif role_id in self.resources and not self.grants(role_id, "sqs:SendMessage", dlq):
                self.problem(role_id, f"sqs:SendMessage on {resource_name(dlq)} missing ({sched_id} dead letters)")

        invoke_configs = {}
        for cfg_id, cfg in self.of_type("AWS::Lambda::EventInvokeConfig").items():
            p = cfg.get("Properties", {})
            fn_id = resource_name(p.get("FunctionName"))
            invoke_configs[fn_id] = cfg_id
            on_failure = p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            role_id = resource_name(self.props(fn_id).get("Role"))
            if on_failure is None:
                self.problem(cfg_id, "no OnFailure destination")
            elif not self.grants(role_id, "sqs:SendMessage", on_failure):
                self.problem(role_id, f"sqs:SendMessage on {resource_name(on_failure)} missing ({fn_id} on-failure destination)")
        for fn_id, sched_id in scheduled.items():
            cfg_id = invoke_configs.get(fn_id)
            if cfg_id is None:
                self.problem(fn_id, f"scheduled by {sched_id} but has no EventInvokeConfig")
            elif self.props(cfg_id).get("MaximumRetryAttempts") != 0:
                self.problem(cfg_id, "MaximumRetryAttempts must be 0 (the next run is the retry)")
            if self.props(fn_id).get("ReservedConcurrentExecutions") != 1:
                self.problem(fn_id, "scheduled function without ReservedConcurrentExecutions: 1")
        return scheduled, invoke_configs

    # ------------------------------------------------------------ queues
    def check_queues(self):
        queues = self.of_type("AWS::SQS::Queue")
        covered = {}
        for pol_id, pol in self.of_type("AWS::SQS::QueuePolicy").items():
            p = pol.get("Properties", {})
            statements = listify(p.get("PolicyDocument", {}).get("Statement"))
            tls = any(
                st.get("Effect") == "Deny"
                and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
                for st in statements
            )
            for q in listify(p.get("Queues")):
                q_id = resource_name(q)
                covered.setdefault(q_id, []).append(pol_id)
                if not tls:
                    self.problem(pol_id, f"no plain-HTTP deny for {q_id}")
        for q_id, q in queues.items():
            p = q.get("Properties", {})
            if not (p.get("SqsManagedSseEnabled") or p.get("KmsMasterKeyId")):
                self.problem(q_id, "not encrypted")
            policies = covered.get(q_id, [])
            if len(policies) != 1:
                # A queue has one policy; two AWS::SQS::QueuePolicy resources overwrite each other.
                self.problem(q_id, f"covered by {len(policies)} queue policies, expected exactly 1")

    # ------------------------------------------------------------ alarms
    def check_alarms(self, scheduled, invoke_configs):
        alarms = self.of_type("AWS::CloudWatch::Alarm")
        errors_alarmed, queues_alarmed = set(), set()
        for alarm_id, alarm in alarms.items():
            p = alarm.get("Properties", {})
            for key in ("AlarmActions", "OKActions"):
                if not p.get(key):
                    self.problem(alarm_id, f"no {key}")
            ns, name = p.get("Namespace"), p.get("MetricName")
            dims = {d.get("Name"): d.get("Value") for d in p.get("Dimensions", [])}
            if p.get("Metrics"):
                continue  # metric math: not used here; would need its own checks
            if ns == NAMESPACE:
                if name not in METRICS:
                    self.problem(alarm_id, f"{NAMESPACE} publishes no metric {name!r}")
                if set(dims) != {"Service"} or dims.get("Service") != {"Ref": "AWS::StackName"}:
                    self.problem(alarm_id, "an Orderbridge alarm must use exactly the dimension Service = stack name")
            elif ns == "AWS/Lambda":
                fn_id = resource_name(dims.get("FunctionName"))
                if fn_id not in self.of_type("AWS::Lambda::Function"):
                    self.problem(alarm_id, "FunctionName is not a function of this template")
                elif name == "Errors":
                    errors_alarmed.add(fn_id)
            elif ns == "AWS/SQS":
                q_id = resource_name(dims.get("QueueName"))
                if q_id not in self.of_type("AWS::SQS::Queue") or target(dims.get("QueueName"))[1:] != ("QueueName",):
                    self.problem(alarm_id, "QueueName is not !GetAtt <queue of this template>.QueueName")
                elif name == "ApproximateNumberOfMessagesVisible":
                    queues_alarmed.add(q_id)
            else:
                self.problem(alarm_id, f"unexpected namespace {ns!r}")
        for fn_id in self.of_type("AWS::Lambda::Function"):
            if fn_id not in errors_alarmed:
                self.problem(fn_id, "no Errors alarm")
        failure_queues = set()
        for q in self.of_type("AWS::SQS::Queue").values():
            dlq = q.get("Properties", {}).get("RedrivePolicy", {}).get("deadLetterTargetArn")
            if dlq is not None:
                failure_queues.add(resource_name(dlq))
        for sched_id in scheduled.values():
            failure_queues.add(resource_name(self.props(sched_id)["Target"].get("DeadLetterConfig", {}).get("Arn")))
        for cfg_id in invoke_configs.values():
            dest = self.props(cfg_id).get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            failure_queues.add(resource_name(dest))
        for q_id in sorted(q for q in failure_queues if q):
            if q_id not in queues_alarmed:
                self.problem(q_id, "dead-letter/failure queue without a not-empty alarm")

    # ------------------------------------------------------------ dashboard
    def check_dashboards(self):
        params = self.cfn.get("Parameters", {})
        for dash_id, dash in self.of_type("AWS::CloudWatch::Dashboard").items():
            body = dash.get("Properties", {}).get("DashboardBody")
            if isinstance(body, dict) and "Fn::Sub" in body:
                body = body["Fn::Sub"] if isinstance(body["Fn::Sub"], str) else body["Fn::Sub"][0]

                def fill(m):
                    name = m.group(1)
                    return "1" if params.get(name, {}).get("Type") == "Number" else "x"

                body = re.sub(r"\$\{([^}!]+)\}", fill, body)
            if not isinstance(body, str):
                self.problem(dash_id, "DashboardBody is neither a string nor !Sub of a string")
                continue
            try:
                doc = json.loads(body)
            except json.JSONDecodeError as err:
                self.problem(dash_id, f"DashboardBody is not valid JSON: {err}")
                continue
            for widget in doc.get("widgets", []):
                for line in widget.get("properties", {}).get("metrics", []):
                    if line and isinstance(line[0], dict):
                        expr = line[0].get("expression", "")
                        for name in re.findall(r'MetricName=\\?"([^"\\]+)', expr):
                            if f"{{{NAMESPACE}," in expr and name not in METRICS:
                                self.problem(dash_id, f"search for unknown metric {name!r}")
                    elif len(line) > 1 and line[0] == NAMESPACE and line[1] not in METRICS:
                        self.problem(dash_id, f"{NAMESPACE} publishes no metric {line[1]!r}")

    def check_outputs(self):
        missing = OUTPUTS - set(self.cfn.get("Outputs", {}))
        for key in sorted(missing):
            self.problem("Outputs", f"{key} missing (the CLI's --stack reads it)")

    def run(self):
        self.check_roles()
        scheduled, invoke_configs = self.check_functions()
        self.check_queues()
        self.check_alarms(scheduled, invoke_configs)
        self.check_dashboards()
        self.check_outputs()
        return self.problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template")
    parser.add_argument("output")
    parser.add_argument("--region", default="eu-central-1")
    args = parser.parse_args()

    # The translator asks boto3 for the region (pseudo parameters); no AWS call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)
    with open(args.template, encoding="utf-8") as f:
        sam = yaml_parse(f.read())
    # Local code (built by `sam build`, uploaded by `sam deploy`) as a placeholder S3 location,
    # as `sam validate` does.
    for resource in sam.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            if not props["CodeUri"].startswith("s3://"):
                props["CodeUri"] = "s3://placeholder-bucket/" + props["CodeUri"].strip("./")
    try:
        cfn = transform(
            sam,
            {"AWS::Region": args.region, "AWS::Partition": "aws"},
            NoManagedPolicies(),
        )
    except InvalidDocumentException as err:
        for cause in err.causes:
            print(f"{args.template}: {cause.message}", file=sys.stderr)
        print("SAM transform failed", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(cfn, f, indent=2)
        f.write("\n")

    problems = Checker(cfn).run()
    for p in problems:
        print(f"{args.template}: {p}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in the transformed template {args.output}", file=sys.stderr)
        return 1
    kinds = {}
    for r in cfn["Resources"].values():
        kinds[r["Type"]] = kinds.get(r["Type"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{args.output}: {len(cfn['Resources'])} resources ({summary}); checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
