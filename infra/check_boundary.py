"""Expands infra/template.yaml through the Serverless transform (as CloudFormation
would, with the pipeline's boundary as PermissionsBoundaryArn) and checks that
every role it creates carries the boundary and asks for nothing the boundary
in infra/pipeline.yaml does not allow; and that the pipeline's deploy role
may manage every kind of resource the expanded template holds. Run by
`make infra-lint`."""

import fnmatch
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

BOUNDARY = "arn:aws:iam::123456789012:policy/lifeboat-role-boundary"


class ManagedPolicies:
    """The AWS managed policies SAM attaches by name (tracing)."""

    def load(self):
        return {"AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}


def actions(statement):
    a = statement.get("Action", [])
    return [a] if isinstance(a, str) else a


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-west-2")
    with open(os.path.join(root, "infra/template.yaml")) as f:
        template = yaml_parse(f.read())
    # What `sam package` does: code and definition by S3 address.
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    template["Resources"]["StateMachine"]["Properties"]["DefinitionUri"] = "s3://bucket/lifeboat.asl.json"
    expanded = transform(template, {"PermissionsBoundaryArn": BOUNDARY}, ManagedPolicies())

    with open(os.path.join(root, "infra/pipeline.yaml")) as f:
        pipeline = yaml_parse(f.read())
    boundary = pipeline["Resources"]["RoleBoundary"]["Properties"]["PolicyDocument"]["Statement"]
    allowed = [a for s in boundary if s["Effect"] == "Allow" for a in actions(s)]

    problems = []
    roles = {k: v for k, v in expanded["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    for name, role in sorted(roles.items()):
        props = role["Properties"]
        if "PermissionsBoundary" not in props:
            problems.append(f"{name} has no permissions boundary")
        for policy in props.get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                if st.get("Effect") != "Allow":
                    continue
                for a in actions(st):
                    if not any(fnmatch.fnmatchcase(a, pattern) for pattern in allowed):
                        problems.append(f"{name} is allowed {a}, which the boundary refuses")
    # The deploy role (no PowerUserAccess) must cover each resource type's service.
    deploy = pipeline["Resources"]["DeployRole"]["Properties"]
    deploy_actions = [
        a
        for policy in deploy.get("Policies", [])
        for st in policy["PolicyDocument"]["Statement"]
        if st.get("Effect") == "Allow"
        for a in actions(st)
    ]
    if deploy.get("ManagedPolicyArns"):
        problems.append("DeployRole has managed policies: it should hold only its own scoped statements")
    types = sorted({r["Type"] for r in expanded["Resources"].values()})
    for kind in types:
        service = SERVICES.get(kind.split("::")[1])
        if service is None:
            problems.append(f"{kind}: no service known for it; add it to SERVICES and to the deploy role")
        elif not any(a.split(":")[0] == service for a in deploy_actions):
            problems.append(f"{kind}: the pipeline's deploy role has no {service}: action to manage it")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(
        f"check_boundary: {len(roles)} roles, each with the boundary, every action within it; "
        f"the deploy role covers all {len(types)} resource types"
    )


# A CloudFormation resource type's namespace and the IAM service that manages it.
SERVICES = {
    "ApiGateway": "apigateway",
    "CloudWatch": "cloudwatch",
    "DynamoDB": "dynamodb",
    "Events": "events",
    "IAM": "iam",
    "Lambda": "lambda",
    "Logs": "logs",
    "Scheduler": "scheduler",
    "SNS": "sns",
    "SQS": "sqs",
    "StepFunctions": "states",
}


if __name__ == "__main__":
    main()
