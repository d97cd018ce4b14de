"""Amazon ECS: what scaling a service does that moto 5.2.5 does not, the
way AWS documents it.

- New tasks take a while to run. moto sets `runningCount` to the new
  `desiredCount` the moment UpdateService is called, and leaves the
  service's deployment at the counts it was created with, `IN_PROGRESS`
  for ever. The Deployment data type's reference: `runningCount` and
  `pendingCount` count the deployment's tasks in RUNNING and PENDING;
  "When a service deployment is started, it begins in an IN_PROGRESS state.
  When the service reaches a steady state, the deployment transitions to a
  COMPLETED state." Here a created or raised service has its new tasks
  PENDING until the LIFEBOAT_MOTO_ECS_STEPS-th (default 2) DescribeServices
  call after, which finds them RUNNING; the service's and its PRIMARY deployment's counts say so,
  and the deployment is IN_PROGRESS until every desired task runs, then
  COMPLETED. A lowered count takes effect at once (tasks stop quickly).
  Counting calls, not seconds, keeps the emulator deterministic.
- DescribeServices takes at most 10 services a call, as its API reference
  says ("You may specify up to 10 services to describe"); more is an
  InvalidParameterException (moto: any number).
- healthCheckGracePeriodSeconds is kept (moto: dropped): the CreateService
  and UpdateService references' period in which the scheduler ignores a new
  task's failing health checks; DescribeServices returns it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service
from moto.ecs.responses import EC2ContainerServiceResponse

STEPS = int(os.environ.get("LIFEBOAT_MOTO_ECS_STEPS", "2"))
MAX_DESCRIBED = 10

_lock = threading.RLock()
# id(service) -> [describes left, service]
_pending: dict[int, list[Any]] = {}


def _show(service: Service, running: int) -> None:
    """The service's and its primary deployment's counts, `running` tasks RUNNING."""
    service.running_count = running
    service.pending_count = max(service.desired_count - running, 0)
    for deployment in service.deployments:
        if deployment.get("status") != "PRIMARY":
            continue
        deployment["desiredCount"] = service.desired_count
        deployment["runningCount"] = running
        deployment["pendingCount"] = service.pending_count
        steady = running >= service.desired_count
        deployment["rolloutState"] = "COMPLETED" if steady else "IN_PROGRESS"
        state = "completed" if steady else "in progress"
        deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} {state}."


def _pend(service: Service, running: int) -> None:
    with _lock:
        _show(service, running)
        if service.running_count < service.desired_count:
            _pending[id(service)] = [STEPS, service]
        else:
            _pending.pop(id(service), None)


_orig_create = EC2ContainerServiceBackend.create_service
_orig_update = EC2ContainerServiceBackend.update_service
_orig_describe = EC2ContainerServiceResponse.describe_services
_orig_create_response = EC2ContainerServiceResponse.create_service
_orig_update_response = EC2ContainerServiceResponse.update_service


def create_service(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Service:
    service = _orig_create(self, *args, **kwargs)
    _pend(service, service.running_count)
    return service


def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Service:
    cluster = service_properties.get("cluster", "default")
    name = str(service_properties.get("service", "")).split("/")[-1]
    before = self._get_service(cluster, name).running_count
    service = _orig_update(self, service_properties)
    # Tasks already running keep running; the new ones start PENDING.
    _pend(service, min(before, service.desired_count))
    return service


def _keep_grace_period(response: EC2ContainerServiceResponse, result: ActionResult) -> ActionResult:
    grace = response._get_int_param("healthCheckGracePeriodSeconds")
    if grace is not None:
        cluster = response._get_param("cluster", "default")
        name = response._get_param("serviceName") or str(response._get_param("service", "")).split("/")[-1]
        response.ecs_backend._get_service(cluster, name).health_check_grace_period_seconds = grace
    return result


def create_service_response(self: EC2ContainerServiceResponse) -> ActionResult:
    return _keep_grace_period(self, _orig_create_response(self))


def update_service_response(self: EC2ContainerServiceResponse) -> ActionResult:
    return _keep_grace_period(self, _orig_update_response(self))


def describe_services(self: EC2ContainerServiceResponse) -> ActionResult:
    """Each describe moves every pending service one step towards all tasks RUNNING."""
    asked = self._get_param("services", [])
    if len(asked) > MAX_DESCRIBED:
        raise InvalidParameterException(f"{len(asked)} services: at most {MAX_DESCRIBED} a DescribeServices call")
    with _lock:
        for key, entry in list(_pending.items()):
            entry[0] -= 1
            if entry[0] <= 0:
                del _pending[key]
                _show(entry[1], entry[1].desired_count)
    return _orig_describe(self)


_orig_reset = EC2ContainerServiceBackend.reset


def reset(self: EC2ContainerServiceBackend) -> None:
    with _lock:
        _pending.clear()
    _orig_reset(self)


def install() -> None:
    EC2ContainerServiceBackend.create_service = create_service
    EC2ContainerServiceBackend.update_service = update_service
    EC2ContainerServiceResponse.describe_services = describe_services
    EC2ContainerServiceResponse.create_service = create_service_response
    EC2ContainerServiceResponse.update_service = update_service_response
    EC2ContainerServiceBackend.reset = reset
