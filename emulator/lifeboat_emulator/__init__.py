"""moto server with lifeboat's extensions: one module per service.

Started by lifeboat (the demo, the test harness and `lifeboat emulator`, from
copies built into the `lifeboat` binary) as `python -m lifeboat_emulator -H
127.0.0.1 -p PORT`; everything not named in these modules is plain moto 5.2.5.

- rds: global database switchover/failover, replica promotion, replicated
  automated backups and restores, with intermediate statuses.
- docdb: DocumentDB clusters (the docdb engine on the RDS API DocumentDB
  uses), so its global clusters switch and fail over as rds.py models.
- dynamodb: conditional writes made atomic, as on AWS.
- globaltables: DynamoDB global tables across Regions, replicated after a
  delay (last writer wins) or with multi-Region strong consistency.
- arc: Route 53 ARC routing controls, which moto lacks: the control-config
  calls that create clusters, control panels, routing controls and assertion
  safety rules, and the cluster data plane on five regional endpoints.
- autoscaling: instances a raise launches are Pending before InService, and
  the desired capacity stays within MinSize and MaxSize.
- ecs: a created or raised service's new tasks are PENDING before RUNNING,
  its deployment IN_PROGRESS until steady.
- awslambda: hook functions answered without Docker, as their LIFEBOAT_HOOK
  environment variable says, every invocation kept.
- cloudwatch: metric alarms evaluated from the data put to them.
- stepfunctions: a callback's task token answered once, while it waits
  (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat).
- route53: RECOVERY_CONTROL health checks whose status follows their routing
  control, and TestDNSAnswer for weighted records with health checks.
"""
