"""Installs every extension, then runs moto server with the given arguments."""

from __future__ import annotations

import logging
import sys

import moto
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main

from . import (
    arc,
    autoscaling,
    awslambda,
    cloudwatch,
    docdb,
    dynamodb,
    ecs,
    globaltables,
    quotas,
    rds,
    route53,
    stepfunctions,
    sts,
)


def _credential_scope(environ):
    """(service, region) from a SigV4 Authorization header, or (None, None)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        _, _, region, service, _ = scope.split("/")
        return service.lower(), region
    except (IndexError, ValueError):
        return None, None


_dispatch = DomainDispatcherApplication.__call__


CONTROL_PREFIX = "/lifeboat-emulator/"


def _control(environ, start_response, path):
    """The emulator's own control API (tests pull its hooks): by service."""
    service = path[len(CONTROL_PREFIX) :].split("/", 1)[0]
    handler = {
        "route53": route53.control,
        "arc": arc.control,
        "rds": rds.control,
        "quotas": quotas.control,
        "cloudwatch": cloudwatch.control,
        "lambda": awslambda.control,
        "stepfunctions": stepfunctions.control,
        "sts": sts.control,
    }.get(service)
    if handler is None:
        data = f'{{"error": "unknown control {path}"}}'.encode()
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
    return handler(environ, start_response, path)


def _call(self, environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
        arc.reset()
        route53.reset()
        quotas.reset()
        globaltables.reset()
        awslambda.reset()
        stepfunctions.reset()
        sts.reset()
    if path.startswith(CONTROL_PREFIX):
        return _control(environ, start_response, path)
    service, region = _credential_scope(environ)
    if not path.startswith("/moto-api"):
        throttled = quotas.check(environ, start_response, service, region)
        if throttled is not None:
            return throttled
    if service == "route53-recovery-cluster" or path.startswith(arc.ENDPOINT_PREFIX):
        return arc.data_plane(environ, start_response)
    if service == "route53-recovery-control-config":
        return arc.control_config(environ, start_response, region)
    if path.rstrip("/").endswith("/testdnsanswer"):
        return route53.test_dns_answer(environ, start_response)
    return _dispatch(self, environ, start_response)


def install() -> None:
    rds.install()
    docdb.install()
    autoscaling.install()
    awslambda.install()
    stepfunctions.install()
    sts.install()
    ecs.install()
    cloudwatch.install()
    dynamodb.install()
    globaltables.install()
    route53.install()
    DomainDispatcherApplication.__call__ = _call


# The extensions patch moto's internals as they are in this version.
MOTO_VERSION = "5.2.5"

if moto.__version__ != MOTO_VERSION:
    sys.exit(
        f"lifeboat's emulator extensions need moto {MOTO_VERSION}; {sys.executable} has moto {moto.__version__}: "
        f"pip install 'moto[server]=={MOTO_VERSION}', or unset LIFEBOAT_MOTO_SERVER and take moto_server off PATH "
        "so lifeboat installs its own"
    )
# One line per request is noise; errors still reach stderr (the launcher shows them).
logging.getLogger("werkzeug").setLevel(logging.ERROR)
install()
main(sys.argv[1:])
