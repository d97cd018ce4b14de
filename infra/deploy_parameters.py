"""The stack's parameters from one configuration file, for `make deploy` and
the pipeline alike, checked before anything deploys.

The file is a CloudFormation template configuration file
(`{"Parameters": {...}, "Tags": {...}}`, the format CodePipeline's
CloudFormation action reads as TemplateConfiguration). Every problem is
reported at once and the deploy stops:

- a parameter the template does not have (a typo would be ignored);
- a parameter the template needs that the file leaves out;
- a placeholder left in: a value with `REPLACE`, the account 000000000000,
  or an `example.` address;
- a parameter whose template default is only a stand-in (the routing
  controls, restore KMS keys, operator roles, member roles, trigger alarms,
  alert email)
  left to that default. Where an estate has none, the file says so with
  "none", and the template's inert value is passed.

Usage:
  deploy_parameters.py check FILE              every problem, exit 1 if any
  deploy_parameters.py overrides FILE          Key="Value" words for sam deploy --parameter-overrides
  deploy_parameters.py get FILE NAME           one parameter's value (the Regions to deploy to)
  deploy_parameters.py configuration FILE OUT  the checked file as CodePipeline's TemplateConfiguration
"""

import json
import os
import re
import sys

from samtranslator.yaml_helper import yaml_parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "infra", "template.yaml")

# Parameters whose template default stands in for "not configured": the file
# must set each, to a real value or to "none" where the estate has none.
MUST_SET = [
    "TriggerAlarmNames",
    "RoutingControlArns",
    "RestoreKmsKeyArns",
    "OperatorRoleArns",
    "MemberRoleArns",
    "AlertEmail",
]
# "none" is accepted for these (AlertEmail: nobody is paged, said explicitly).
MAY_BE_NONE = {"RoutingControlArns", "RestoreKmsKeyArns", "OperatorRoleArns", "MemberRoleArns", "AlertEmail"}
PLACEHOLDER = re.compile(r"REPLACE|000000000000|@example\.|\.example\.(com|org)", re.IGNORECASE)


def template_parameters(template_path=TEMPLATE):
    with open(template_path) as f:
        return yaml_parse(f.read()).get("Parameters", {})


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None, [
            (
                f"{path} does not exist: copy infra/parameters.example.json to it and fill in every value "
                "(README, 'Deploy to AWS')"
            )
        ]
    except json.JSONDecodeError as e:
        return None, [f"{path} is not JSON: {e}"]
    params = doc.get("Parameters") if isinstance(doc, dict) else None
    if not isinstance(params, dict):
        return None, [f'{path}: expected {{"Parameters": {{"Name": "value", ...}}}}']
    return doc, []


def problems(doc, template_params):
    found = []
    params = doc["Parameters"]
    for name in sorted(params):
        if name not in template_params:
            found.append(f"{name}: the template has no such parameter (known: {', '.join(sorted(template_params))})")
    for name, spec in sorted(template_params.items()):
        value = params.get(name)
        if value is None:
            if "Default" not in spec or name in MUST_SET:
                found.append(f"{name}: missing ({spec.get('Description', 'no description').strip()})")
            continue
        if not isinstance(value, str):
            found.append(f"{name}: must be a string (a list is comma-separated)")
            continue
        if value == "none" and name in MAY_BE_NONE:
            continue
        if value == "none":
            found.append(f'{name}: "none" is a placeholder here: this parameter needs a real value')
        elif PLACEHOLDER.search(value) or value.strip() == "":
            found.append(f'{name}: {value!r} is a placeholder: put the real value (or "none" where allowed)')
        elif name in MUST_SET and value == str(spec.get("Default", "")):
            found.append(f"{name}: {value!r} is the template's stand-in: put the real value")
    return found


def resolved(doc, template_params):
    """The parameters as deployed: "none" becomes the template's inert default."""
    out = {}
    for name, value in doc["Parameters"].items():
        if value == "none" and name in MAY_BE_NONE:
            value = str(template_params[name].get("Default", ""))
        out[name] = value
    return out


def main(argv):
    if len(argv) < 3 or argv[1] not in ("check", "overrides", "configuration", "get"):
        print(__doc__, file=sys.stderr)
        return 2
    doc, errors = load(argv[2])
    template_params = template_parameters()
    if doc is not None:
        errors = problems(doc, template_params)
    if errors:
        print(f"{argv[2]}: {len(errors)} problem(s), nothing deployed:", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    params = resolved(doc, template_params)
    if argv[1] == "overrides":
        quoted = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in params.items()}
        print(" ".join(f'{k}="{v}"' for k, v in sorted(quoted.items())))
    elif argv[1] == "get":
        print(params.get(argv[3], str(template_params.get(argv[3], {}).get("Default", ""))))
    elif argv[1] == "configuration":
        with open(argv[3], "w") as f:
            json.dump({"Parameters": params, "Tags": doc.get("Tags", {})}, f, indent=2)
    else:
        print(f"{argv[2]}: {len(params)} parameter(s), every one set")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
