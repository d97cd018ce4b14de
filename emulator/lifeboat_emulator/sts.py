"""STS AssumeRole across accounts, as the AssumeRole API reference and the IAM
user guide's "How to use an external ID when granting access to your AWS
resources to a third party" say.

moto 5.2.5 hands out credentials for any role ARN, whether the role exists or
not, whatever its trust policy says and whatever ExternalId is sent. On AWS
the role must exist in its account, and its trust policy must name the
caller's account as a principal (its root, the bare account id, or one of its
roles) and, when it has a `sts:ExternalId` condition, be sent that ExternalId;
otherwise AssumeRole answers HTTP 403 AccessDenied ("User: ... is not
authorized to perform: sts:AssumeRole on resource: ROLE").

A test or the demo makes a member account's role with
`POST /lifeboat-emulator/sts/roles {"role_arn": ARN, "trusted_account": ID,
"external_id": X}`: a role whose trust policy lets account ID assume it with
that ExternalId (none: without one).

A session named `setup` is a test's or the demo's own (it builds the member
account's estate): the quotas leave its calls alone, as they do the `setup`
key's ([`session_of`]).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from moto.iam.models import iam_backends
from moto.sts.models import STSBackend
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

_original_assume_role = STSBackend.assume_role
_lock = threading.Lock()
# Access key id -> session name, for the sessions seen (keys are never reused).
_sessions: dict[str, str] = {}


class AccessDenied(HTTPException):
    """STS's AccessDenied: HTTP 403, in the query protocol's XML error."""

    code = 403

    def __init__(self, message: str) -> None:
        super().__init__(
            description=(
                '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
                "<RequestId>lifeboat-emulator-sts</RequestId></ErrorResponse>"
            )
        )

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", "text/xml")]


def _account_of(principal: str) -> str:
    """The account a trust policy's AWS principal names ("*" for anyone)."""
    if principal == "*" or principal.isdigit():
        return principal
    parts = principal.split(":")
    return parts[4] if len(parts) > 4 else ""


def _trusts(document: str, caller: str, external_id: str | None) -> bool:
    try:
        policy = json.loads(document)
    except (TypeError, ValueError):
        return False
    statements = policy.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        actions = st.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if st.get("Effect") != "Allow" or not ({"sts:AssumeRole", "sts:*", "*"} & set(actions)):
            continue
        principals = st.get("Principal", {})
        principals = principals.get("AWS", []) if isinstance(principals, dict) else [principals]
        principals = principals if isinstance(principals, list) else [principals]
        if not any(_account_of(p) in ("*", caller) for p in principals):
            continue
        wanted = st.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if wanted is None or wanted == external_id:
            return True
    return False


def assume_role(
    self: STSBackend,
    region_name: str,
    role_session_name: str,
    role_arn: str,
    policy: str,
    duration: int,
    external_id: str,
) -> Any:
    caller = f"arn:aws:iam::{self.account_id}:root"
    denied = AccessDenied(f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    parts = role_arn.split(":")
    if len(parts) < 6 or not (len(parts[4]) == 12 and parts[4].isdigit()):
        raise denied
    role = next((r for r in iam_backends[parts[4]]["aws"].get_roles() if r.arn == role_arn), None)
    if role is None or not _trusts(role.assume_role_policy_document, self.account_id, external_id):
        raise denied
    assumed = _original_assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id)
    with _lock:
        _sessions[assumed.access_key_id] = role_session_name
    return assumed


def session_of(access_key: str) -> str | None:
    """The session name an access key was issued to by AssumeRole, if it was."""
    with _lock:
        return _sessions.get(access_key)


def make_role(role_arn: str, trusted_account: str, external_id: str | None) -> None:
    """A role in the ARN's account that `trusted_account` may assume (with `external_id`)."""
    parts = role_arn.split(":")
    account, name = parts[4], parts[5].split("/")[-1]
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    backend = iam_backends[account]["aws"]
    existing = next((r for r in backend.get_roles() if r.name == name), None)
    if existing is not None:
        existing.assume_role_policy_document = document
        return
    backend.create_role(name, document, "/", None, "lifeboat member role", [], None)


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """POST /lifeboat-emulator/sts/roles {"role_arn", "trusted_account", "external_id"}."""
    if environ.get("REQUEST_METHOD") == "POST" and path.rstrip("/").endswith("/sts/roles"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        make_role(str(body["role_arn"]), str(body["trusted_account"]), body.get("external_id"))
        data, status = json.dumps({"role_arn": body["role_arn"]}).encode(), "200 OK"
    else:
        data, status = json.dumps({"error": f"unknown control {path}"}).encode(), "404 Not Found"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def reset() -> None:
    with _lock:
        _sessions.clear()


def install() -> None:
    STSBackend.assume_role = assume_role
