"""EC2 Auto Scaling: what a capacity raise does that moto 5.2.5 does not,
the way AWS documents it.

- New instances are not in service at once. The "Amazon EC2 Auto Scaling
  instance lifecycle" guide: an instance a scale-out launches starts
  `Pending`, and moves to `InService` once it is running and has passed its
  lifecycle hooks and health checks (moto: `InService` at once). Here each
  instance a group launches (at its creation or a raise) is `Pending` until
  the LIFEBOAT_MOTO_ASG_STEPS-th (default 2) DescribeAutoScalingGroups call
  after its launch, which finds it `InService`. A Pending instance counts
  toward the desired capacity, as on AWS: the group launches no more for it. Counting
  calls, not seconds, keeps the emulator deterministic under a virtual clock.
- The desired capacity stays within the group's limits. The
  UpdateAutoScalingGroup and SetDesiredCapacity API references: the desired
  capacity "must be greater than or equal to the minimum size of the group
  and less than or equal to the maximum size of the group"; a request that
  breaks it is a ValidationError and changes nothing (moto: accepted, and
  the group holds more than its MaxSize).
- DescribeAutoScalingGroups takes at most MaxRecords names (default 50, at
  most 100), as its API reference says ("By default, you can only specify
  up to 50 names"); more is a ValidationError (moto: any number).
- DefaultInstanceWarmup is kept (moto: dropped). The CreateAutoScalingGroup
  and UpdateAutoScalingGroup references: the time, in seconds, until a new
  instance is considered to be contributing; DescribeAutoScalingGroups
  returns it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult

STEPS = int(os.environ.get("LIFEBOAT_MOTO_ASG_STEPS", "2"))

_lock = threading.RLock()
# Instance id -> describes left before it is InService.
_pending: dict[str, int] = {}


def _check_limits(group: FakeAutoScalingGroup, desired: int | None, min_size: int | None, max_size: int | None) -> None:
    low = group.min_size if min_size is None else min_size
    high = group.max_size if max_size is None else max_size
    want = group.desired_capacity if desired is None else desired
    if want is not None and not (low <= want <= high):
        raise ValidationError(
            f"Desired capacity:{want} must be between the specified min size:{low} and max size:{high}"
        )


def _group(response: AutoScalingResponse) -> FakeAutoScalingGroup:
    name = response._get_param("AutoScalingGroupName")
    group = response.autoscaling_backend.autoscaling_groups.get(name)
    if group is None:
        raise ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return group


_orig_create = AutoScalingResponse.create_auto_scaling_group
_orig_update = AutoScalingResponse.update_auto_scaling_group
_orig_set_desired = AutoScalingResponse.set_desired_capacity
_orig_describe = AutoScalingResponse.describe_auto_scaling_groups
_orig_group_set_desired = FakeAutoScalingGroup.set_desired_capacity


def _keep_warmup(response: AutoScalingResponse) -> None:
    warmup = response._get_int_param("DefaultInstanceWarmup")
    if warmup is not None:
        _group(response).default_instance_warmup = warmup


def create_auto_scaling_group(self: AutoScalingResponse) -> ActionResult:
    result = _orig_create(self)
    _keep_warmup(self)
    return result


def update_auto_scaling_group(self: AutoScalingResponse) -> ActionResult:
    _check_limits(
        _group(self),
        self._get_int_param("DesiredCapacity"),
        self._get_int_param("MinSize"),
        self._get_int_param("MaxSize"),
    )
    result = _orig_update(self)
    _keep_warmup(self)
    return result


def set_desired_capacity(self: AutoScalingResponse) -> ActionResult:
    _check_limits(_group(self), self._get_int_param("DesiredCapacity"), None, None)
    return _orig_set_desired(self)


def group_set_desired_capacity(self: FakeAutoScalingGroup, new_capacity: int | None) -> None:
    """moto's, then the instances it launched start Pending."""
    before = {state.instance.id for state in self.instance_states}
    _orig_group_set_desired(self, new_capacity)
    with _lock:
        for state in self.instance_states:
            if state.instance.id not in before:
                state.lifecycle_state = "Pending"
                _pending[state.instance.id] = STEPS


def active_instances(self: FakeAutoScalingGroup) -> list[Any]:
    """The instances that count toward the desired capacity: launching (Pending) or in service."""
    return [x for x in self.instance_states if x.lifecycle_state in ("Pending", "InService")]


def describe_auto_scaling_groups(self: AutoScalingResponse) -> ActionResult:
    """Each describe moves every pending instance one step towards InService."""
    names = self._get_param("AutoScalingGroupNames", [])
    most = min(int(self._get_param("MaxRecords") or 50), 100)
    if len(names) > most:
        raise ValidationError(f"{len(names)} group names: at most {most} a call (MaxRecords, up to 100)")
    with _lock:
        for backend_group in self.autoscaling_backend.autoscaling_groups.values():
            for state in backend_group.instance_states:
                left = _pending.get(state.instance.id)
                if left is None:
                    continue
                if left <= 1:
                    del _pending[state.instance.id]
                    state.lifecycle_state = "InService"
                else:
                    _pending[state.instance.id] = left - 1
    return _orig_describe(self)


_orig_reset = AutoScalingBackend.reset


def reset(self: AutoScalingBackend) -> None:
    with _lock:
        _pending.clear()
    _orig_reset(self)


def install() -> None:
    AutoScalingResponse.create_auto_scaling_group = create_auto_scaling_group
    AutoScalingResponse.update_auto_scaling_group = update_auto_scaling_group
    AutoScalingResponse.set_desired_capacity = set_desired_capacity
    AutoScalingResponse.describe_auto_scaling_groups = describe_auto_scaling_groups
    FakeAutoScalingGroup.set_desired_capacity = group_set_desired_capacity
    FakeAutoScalingGroup.active_instances = active_instances
    AutoScalingBackend.reset = reset
