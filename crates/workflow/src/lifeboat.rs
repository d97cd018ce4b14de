//! The lifeboat state machine, declared state by state in the order the
//! file shows them: validate, then per phase and wave promote, shift, wait
//! INSYNC, verify and put back what failed; record the outcome.

use crate::model::*;
use crate::policy::{Policy, lambda, lambda_callback, put_events, select_output};
use lifeboat_core::ErrorName;
use lifeboat_core::outcome::RunStatus;
use lifeboat_core::registry::{HookWhen, OnTimeout};
use lifeboat_core::timing::{DNS_SYNC_POLL_SECONDS, EXECUTION_TIMEOUT_SECONDS};
use lifeboat_states::definition::{Catcher, FailState, PassState, SucceedState, TaskState, WaitState};
use lifeboat_tasks::approval::AwaitApproval;
use lifeboat_tasks::check_dns_sync::{CheckDnsSync, CheckDnsSyncOutput};
use lifeboat_tasks::contract::WaveRef;
use lifeboat_tasks::contract::WaveStep;
use lifeboat_tasks::record_outcome::{RecordIgnored, RecordOutcome, RecordRefused, ReleaseLease, TakeUpKept, TakenUp};
use lifeboat_tasks::shift_dns::ShiftMode;
use lifeboat_tasks::task::Task;
use lifeboat_tasks::validate::{Validate, ValidateAnswer};
use lifeboat_tasks::wave::{
    CheckDatabases, PromoteDatabases, RunHooks, ScaleCapacity, ShiftDns, VerifyApps, WaveInput,
};
use serde_json::Value;
use serde_json::json;

pub fn definition() -> Machine {
    let mut machine = Machine::new("Start");
    machine.comment = text(
        "lifeboat: multi-Region failover, failback and drills. Validate, then per phase and \
        wave: raise the target's capacity and promote the wave's databases, move its traffic (routing controls, weights), wait \
        INSYNC, verify its apps, put back the ones that fail; record the outcome. The state \
        carries waves and counts; per-app plans and progress are in the journal.",
    );
    machine.timeout_seconds = Some(EXECUTION_TIMEOUT_SECONDS);
    machine.add(
        "Start",
        Choice {
            comment: text(
                "The retry schedule's executions ({\"take_up_kept\": ...}) take up kept triggers; \
                every other input is a trigger to validate.",
            ),
            rules: vec![rule(is_present("$.take_up_kept"), "TakeUpKept")],
            default: to("Validate"),
        },
    );
    machine.add(
        "Validate",
        TaskState {
            comment: text(
                "Normalise the trigger, load the registry, check the recovery Region, plan (into \
                the journal; the state carries its summary), take the lease. Changes nothing.",
            ),
            result_selector: select_output::<ValidateAnswer>(),
            result_path: Some(json!("$")),
            next: to("CheckPlan"),
            retry: Policy::Validate.rules(),
            catch: vec![
                catch(&[ErrorName::LeaseHeld], "$.error", "RecordIgnored"),
                catch_all("$.error", "RecordRefused"),
            ],
            ..lambda::<Validate>(json!({
                "trigger.$": "$",
                "run_id.$": "$$.Execution.Name",
                "started_at.$": "$$.Execution.StartTime",
                "entered_at.$": "$$.State.EnteredTime"
            }))
        },
    );
    machine.add(
        "RecordRefused",
        TaskState {
            comment: text(
                "Validate refused the trigger: log it in the journal; an alarm or a follow-up \
                refused for anything but bad input (the recovery Region not ready, throttling \
                that outlasted the retries) is kept, to run at the next run's end or the retry \
                schedule's take-up. Then fail with validate's error.",
            ),
            ..record_turned_away::<RecordRefused>("$.refusal", "Rejected", "Rejected")
        },
    );
    machine.add(
        "Rejected",
        FailState {
            comment: text(
                "Validate refused the trigger (logged, and kept unless it was bad input): nothing was changed.",
            ),
            error_path: text("$.error.Error"),
            cause_path: text("$.error.Cause"),
            ..fail()
        },
    );
    machine.add(
        "RecordIgnored",
        TaskState {
            comment: text(
                "Another run holds the lease, or an alarm came in the cooldown: record the \
                trigger and keep its alarm for when the lease or the cooldown frees.",
            ),
            ..record_turned_away::<RecordIgnored>("$.outcome", "InCooldown", "IgnoredNotRecorded")
        },
    );
    machine.add(
        "IgnoredNotRecorded",
        FailState {
            comment: text(
                "A turned-away trigger could not be recorded or kept: fail where it shows (the \
                execution's failure alarms), never succeed quietly.",
            ),
            error_path: text("$.record_error.Error"),
            cause_path: text("$.record_error.Cause"),
            ..fail()
        },
    );
    machine.add(
        "InCooldown",
        Choice {
            comment: text(
                "Turned away by the cooldown with an alarm kept: wait it out, then take up what \
                was kept.",
            ),
            rules: vec![rule(is_present("$.outcome.record.retry_at"), "WaitOutCooldown")],
            default: to("Ignored"),
        },
    );
    machine.add(
        "WaitOutCooldown",
        WaitState {
            timestamp_path: text("$.outcome.record.retry_at"),
            next: to("TakeUpKept"),
            ..wait()
        },
    );
    machine.add(
        "TakeUpKept",
        TaskState {
            comment: text(
                "The kept triggers whose alarms are still in ALARM: a follow-up for their apps, \
                run by this execution under the lease it takes (after waiting out a cooldown, or \
                started by the retry schedule).",
            ),
            result_selector: select_output::<TakenUp>(),
            result_path: Some(json!("$.taken")),
            next: to("AnyFollowUp"),
            retry: Policy::KeepsTrigger.rules(),
            catch: vec![catch_all("$.record_error", "TakeUpFailed")],
            ..lambda::<TakeUpKept>(json!({
                "run_id.$": "$$.Execution.Name",
                "now.$": "$$.State.EnteredTime"
            }))
        },
    );
    machine.add(
        "TakeUpFailed",
        FailState {
            comment: text("Kept triggers could not be taken up: they stay kept for the next take-up."),
            error_path: text("$.record_error.Error"),
            cause_path: text("$.record_error.Cause"),
            ..fail()
        },
    );
    machine.add(
        "AnyFollowUp",
        Choice {
            comment: None,
            rules: vec![rule(is_not_null("$.taken.follow_up"), "StartFollowUp")],
            default: to("Ignored"),
        },
    );
    machine.add(
        "StartFollowUp",
        PassState {
            comment: text("This execution becomes the follow-up run: validate it like any trigger."),
            parameters: Some(json!({"follow_up.$": "$.taken.follow_up"})),
            next: to("Validate"),
            ..pass()
        },
    );
    machine.add(
        "Ignored",
        SucceedState {
            comment: text("Nothing was run: the trigger is in the journal."),
            ..succeed()
        },
    );
    machine.add(
        "CheckPlan",
        Choice {
            comment: None,
            rules: vec![rule(
                any_of([is_true("$.plan.empty"), is_true("$.plan.dry_run")]),
                "NoPhases",
            )],
            default: to("NeedsApproval"),
        },
    );
    machine.add(
        "NeedsApproval",
        Choice {
            comment: text("The registry's approval lists this run's trigger kind: a person answers first."),
            rules: vec![rule(is_true("$.plan.approval_required"), "AwaitApproval")],
            default: to("RunPhases"),
        },
    );
    machine.add(
        "AwaitApproval",
        TaskState {
            comment: text(
                "Keep the task token in the journal and tell people (the log, the approval topic); \
                then wait for `lifeboat approve` (SendTaskSuccess) or `lifeboat reject` \
                (SendTaskFailure), up to the registry's approval timeout. Nothing has changed yet.",
            ),
            result_path: Some(json!("$.approval")),
            next: to("RunPhases"),
            retry: Policy::Record.rules(),
            catch: vec![
                catch(&[ErrorName::ApprovalRejected], "$.error", "RecordFailure"),
                Catcher {
                    error_equals: vec![lifeboat_core::FailureName::TIMED_OUT.to_string()],
                    result_path: Some(json!("$.approval_timeout")),
                    next: "ApprovalTimedOut".into(),
                    comment: None,
                },
                catch_all("$.error", "RecordFailure"),
            ],
            ..lambda_callback::<AwaitApproval>(
                json!({
                    "run_id.$": "$.plan.run_id",
                    "token.$": "$$.Task.Token",
                    "requested_at.$": "$$.State.EnteredTime",
                    "timeout_seconds.$": "$.plan.approval_timeout_seconds",
                    "on_timeout.$": "$.plan.approval_on_timeout",
                    "summary.$": "$.plan.summary"
                }),
                "$.plan.approval_timeout_seconds",
            )
        },
    );
    machine.add(
        "ApprovalTimedOut",
        Choice {
            comment: text("Nobody answered in time: the registry's on_timeout decides."),
            rules: vec![rule(
                string_is("$.plan.approval_on_timeout", OnTimeout::Proceed.as_str()),
                "RunPhases",
            )],
            default: to("NotApprovedInTime"),
        },
    );
    machine.add(
        "NotApprovedInTime",
        PassState {
            comment: text("on_timeout: reject. Nothing was changed; the record says so."),
            result: Some(json!({
                "Error": ErrorName::ApprovalTimedOut.as_str(),
                "Cause": "nobody approved the run within the registry's approval timeout_seconds (on_timeout: reject); nothing was changed"
            })),
            result_path: Some(json!("$.error")),
            next: to("RecordFailure"),
            ..pass()
        },
    );
    machine.add(
        "NoPhases",
        PassState {
            comment: text("Dry run, practice drill, or nothing to do: record the plan only."),
            result: Some(json!([])),
            result_path: Some(json!("$.results")),
            next: to("RecordOutcome"),
            ..pass()
        },
    );
    let mut run_phases = Machine::new("IsFirstPhase");
    run_phases.add(
        "IsFirstPhase",
        Choice {
            comment: None,
            rules: vec![rule(equals("$.index", 0), "RunWaves")],
            default: to("Soak"),
        },
    );
    run_phases.add(
        "Soak",
        WaitState {
            comment: text("A drill soaks in the secondary Region before failing back."),
            seconds_path: text("$.soak_seconds"),
            next: to("RunWaves"),
            ..wait()
        },
    );
    let mut run_waves = Machine::new("StartWave");
    run_waves.add(
        "StartWave",
        PassState {
            comment: text(
                "The wave's coordinates; everything else about it is in the journal. Per-app \
                recovery times are measured from here.",
            ),
            parameters: Some(json!({
                "run_id.$": "$.run_id",
                "phase.$": "$.phase",
                "wave.$": "$.wave.index",
                "apps.$": "$.wave.apps",
                "capacity_steps.$": "$.wave.capacity",
                "restore_steps.$": "$.wave.restore_capacity",
                "hooks_at.$": "$.wave",
                "capacity": WaveStep::default(),
                "restored": WaveStep::default(),
                "hooks_before_database": WaveStep::default(),
                "hooks_before_traffic": WaveStep::default(),
                "hooks_after_verify": WaveStep::default(),
                "started_at.$": "$$.State.EnteredTime"
            })),
            next: to("AnyCapacity"),
            ..pass()
        },
    );
    run_waves.add(
        "AnyCapacity",
        Choice {
            comment: None,
            rules: vec![rule(above_zero("$.capacity_steps"), "ScaleCapacity")],
            default: to("AnyHooksBeforeDatabase"),
        },
    );
    run_waves.add(
        "ScaleCapacity",
        TaskState {
            comment: text(
                "Raise each app's Auto Scaling groups and ECS services in the target Region to \
                their percent of the source's desired count (never lower them), then one look; \
                they come into service while the databases promote.",
            ),
            ..wave_step::<ScaleCapacity>(json!({}), "$.capacity", "AnyHooksBeforeDatabase", fail_the_wave())
        },
    );
    add_hooks(
        &mut run_waves,
        HookWhen::BeforeDatabase,
        "PromoteDatabases",
        fail_the_wave(),
        "The apps' own steps before their databases are promoted; an app whose hook fails is held back.",
    );
    run_waves.add(
        "PromoteDatabases",
        TaskState {
            comment: text(
                "Every database of the wave made writable in the target Region before any of the \
                wave's traffic moves (a bounded number at a time), then one look whether each \
                is.",
            ),
            ..wave_step::<PromoteDatabases>(
                json!({"started_at.$": "$.started_at"}),
                "$.db",
                "DatabasesPending",
                fail_the_wave(),
            )
        },
    );
    run_waves.add(
        "DatabasesPending",
        Choice {
            comment: None,
            rules: vec![rule(above_zero("$.db.pending"), "WaitForDatabases")],
            default: to("AnyCapacityLeft"),
        },
    );
    run_waves.add(
        "AnyCapacityLeft",
        Choice {
            comment: text(
                "The databases are done: look at the capacity at once (it has been coming up \
                meanwhile), without waiting an interval first.",
            ),
            rules: vec![rule(above_zero("$.capacity.pending"), "CheckCapacity")],
            default: to("AnyHooksBeforeTraffic"),
        },
    );
    run_waves.add(
        "CapacityPending",
        Choice {
            comment: None,
            rules: vec![rule(above_zero("$.capacity.pending"), "WaitForCapacity")],
            default: to("AnyHooksBeforeTraffic"),
        },
    );
    run_waves.add(
        "WaitForCapacity",
        WaitState {
            seconds_path: text("$.capacity.interval_seconds"),
            next: to("CheckCapacity"),
            ..wait()
        },
    );
    run_waves.add(
        "CheckCapacity",
        TaskState {
            comment: text(
                "One more look at each app's capacity not yet in service (the next step raised \
                once the one before is); each step gives up at its own deadline, and its app's \
                traffic stays.",
            ),
            ..wave_step::<ScaleCapacity>(
                json!({"api_calls.$": "$.capacity.api_calls"}),
                "$.capacity",
                "CapacityPending",
                fail_the_wave(),
            )
        },
    );
    run_waves.add(
        "WaitForDatabases",
        WaitState {
            seconds_path: text("$.db.interval_seconds"),
            next: to("CheckDatabases"),
            ..wait()
        },
    );
    run_waves.add(
        "CheckDatabases",
        TaskState {
            comment: text(
                "One more look at each database still promoting; each app gives up at its own \
                deadline.",
            ),
            ..wave_step::<CheckDatabases>(
                json!({"api_calls.$": "$.db.api_calls"}),
                "$.db",
                "DatabasesPending",
                fail_the_wave(),
            )
        },
    );
    add_hooks(
        &mut run_waves,
        HookWhen::BeforeTraffic,
        "ShiftDns",
        fail_the_wave(),
        "The apps' own steps once their database and capacity are ready, before their traffic \
        moves; an app whose hook fails keeps its traffic where it is.",
    );
    run_waves.add(
        "ShiftDns",
        TaskState {
            comment: text(
                "The traffic of the wave's apps whose database is writable (or needs nothing): \
                routing controls through ARC's data plane, weights and database endpoint CNAMEs \
                in one ChangeBatch per hosted zone; nothing if already in place.",
            ),
            retry: Policy::ShiftDns.rules(),
            ..wave_step::<ShiftDns>(
                json!({"mode": ShiftMode::Shift}),
                "$.shift",
                "CheckDnsSync",
                roll_back_the_wave(),
            )
        },
    );
    add_dns_sync_loop(
        &mut run_waves,
        DnsSyncLoop {
            states: ["CheckDnsSync", "DnsPending", "WaitForDnsSync", "RecheckDnsSync"],
            changes: "$.shift.changes",
            answer: "$.sync",
            then: "VerifyApps",
            catch: roll_back_the_wave,
            comments: Some((
                "One look whether the wave's Route 53 changes are INSYNC.",
                "Again, until INSYNC or out of checks (then the wave is rolled back).",
            )),
        },
    );
    run_waves.add(
        "VerifyApps",
        TaskState {
            comment: text(
                "One check of every moved app not yet verified (alarms read 100 a call, health \
                checks and probes at once); each app gives up at its own deadline.",
            ),
            ..wave_step::<VerifyApps>(json!({}), "$.verify", "VerifyPending", roll_back_the_wave())
        },
    );
    run_waves.add(
        "VerifyPending",
        Choice {
            comment: None,
            rules: vec![rule(above_zero("$.verify.pending"), "WaitBeforeRecheck")],
            default: to("AnyHooksAfterVerify"),
        },
    );
    run_waves.add(
        "WaitBeforeRecheck",
        WaitState {
            seconds_path: text("$.verify.interval_seconds"),
            next: to("RecheckApps"),
            ..wait()
        },
    );
    run_waves.add(
        "RecheckApps",
        wave_step::<VerifyApps>(
            json!({"api_calls.$": "$.verify.api_calls"}),
            "$.verify",
            "VerifyPending",
            roll_back_the_wave(),
        ),
    );
    add_hooks(
        &mut run_waves,
        HookWhen::AfterVerify,
        "AnyUnverified",
        vec![catch_all("$.hooks_error", "AnyUnverified")],
        "The verified apps' own steps after their traffic verified; a failure is reported, the \
        app stays moved.",
    );
    run_waves.add(
        "AnyUnverified",
        Choice {
            comment: None,
            rules: vec![rule(above_zero("$.verify.failed"), "RollbackUnverified")],
            default: to("AnyRestore"),
        },
    );
    run_waves.add(
        "AnyRestore",
        Choice {
            comment: None,
            rules: vec![rule(above_zero("$.restore_steps"), "RestoreCapacity")],
            default: to("WaveResult"),
        },
    );
    run_waves.add(
        "RestoreCapacity",
        TaskState {
            comment: text(
                "A drill's failback, home and verified: put the drill Region's capacity back as \
                the failover found it (unless changed since). A failure is recorded, not fatal.",
            ),
            ..wave_step::<ScaleCapacity>(
                json!({"restore": true}),
                "$.restored",
                "WaveResult",
                vec![catch_all("$.restore_error", "WaveResult")],
            )
        },
    );
    run_waves.add(
        "RollbackUnverified",
        TaskState {
            comment: text("Put back the traffic of the apps that failed verification, only those."),
            ..wave_step::<ShiftDns>(
                json!({"mode": ShiftMode::Rollback}),
                "$.rollback",
                "CheckRollbackSync",
                rollback_failed(),
            )
        },
    );
    add_dns_sync_loop(
        &mut run_waves,
        DnsSyncLoop {
            states: [
                "CheckRollbackSync",
                "RollbackPending",
                "WaitForRollbackSync",
                "RecheckRollbackSync",
            ],
            changes: "$.rollback.changes",
            answer: "$.rollback_sync",
            then: "RolledBackResult",
            catch: rollback_failed,
            comments: None,
        },
    );
    run_waves.add(
        "WaveResult",
        PassState {
            comment: text("The wave's counts and calls (per-app detail is in the journal)."),
            parameters: Some(json!({
                "phase.$": "$.phase",
                "wave.$": "$.wave",
                "apps.$": "$.apps",
                "started_at.$": "$.started_at",
                "capacity.$": "$.capacity",
                "hooks_before_database.$": "$.hooks_before_database",
                "hooks_before_traffic.$": "$.hooks_before_traffic",
                "hooks_after_verify.$": "$.hooks_after_verify",
                "databases.$": "$.db",
                "shift.$": "$.shift",
                "sync.$": "$.sync",
                "verify.$": "$.verify",
                "restored.$": "$.restored"
            })),
            end: Some(true),
            ..pass()
        },
    );
    run_waves.add(
        "RolledBackResult",
        PassState {
            comment: text("The wave's counts and calls, its rollback's too."),
            parameters: Some(json!({
                "phase.$": "$.phase",
                "wave.$": "$.wave",
                "apps.$": "$.apps",
                "started_at.$": "$.started_at",
                "capacity.$": "$.capacity",
                "hooks_before_database.$": "$.hooks_before_database",
                "hooks_before_traffic.$": "$.hooks_before_traffic",
                "hooks_after_verify.$": "$.hooks_after_verify",
                "databases.$": "$.db",
                "shift.$": "$.shift",
                "sync.$": "$.sync",
                "verify.$": "$.verify",
                "rollback.$": "$.rollback",
                "rollback_sync.$": "$.rollback_sync"
            })),
            end: Some(true),
            ..pass()
        },
    );
    run_waves.add(
        "RollbackFailedResult",
        PassState {
            comment: text(
                "Putting the unverified apps back failed: the record says which apps are left moved and unverified.",
            ),
            parameters: Some(json!({
                "phase.$": "$.phase",
                "wave.$": "$.wave",
                "apps.$": "$.apps",
                "started_at.$": "$.started_at",
                "capacity.$": "$.capacity",
                "hooks_before_database.$": "$.hooks_before_database",
                "hooks_before_traffic.$": "$.hooks_before_traffic",
                "hooks_after_verify.$": "$.hooks_after_verify",
                "databases.$": "$.db",
                "shift.$": "$.shift",
                "sync.$": "$.sync",
                "verify.$": "$.verify",
                "rollback_error.$": "$.rollback_error"
            })),
            end: Some(true),
            ..pass()
        },
    );
    run_waves.add(
        "RollbackWave",
        TaskState {
            comment: text("A step of the wave failed: put every app of the wave back as it was."),
            ..wave_step::<ShiftDns>(
                json!({"mode": ShiftMode::Rollback, "error.$": "$.error"}),
                "$.rollback",
                "WaveFailed",
                vec![catch_all("$.rollback_error", "WaveFailed")],
            )
        },
    );
    run_waves.add(
        "WaveFailed",
        FailState {
            comment: text("Later waves depend on this one: stop the run."),
            error_path: text("$.error.Error"),
            cause_path: text("$.error.Cause"),
            ..fail()
        },
    );
    run_phases.add(
        "RunWaves",
        MapNode {
            comment: text("Waves in order: a wave's apps depend on the earlier waves'."),
            items_path: "$.phase.waves".into(),
            max_concurrency: 1,
            item_selector: json!({
                "wave.$": "$$.Map.Item.Value",
                "phase.$": "$.index",
                "run_id.$": "$.run_id"
            }),
            processor: run_waves,
            result_path: None,
            next: None,
            catch: vec![],
        },
    );
    machine.add(
        "RunPhases",
        MapNode {
            comment: text("Failover, failback, or a drill's failover then failback."),
            items_path: "$.plan.phases".into(),
            max_concurrency: 1,
            item_selector: json!({
                "phase.$": "$$.Map.Item.Value",
                "index.$": "$$.Map.Item.Index",
                "run_id.$": "$.plan.run_id",
                "soak_seconds.$": "$.plan.soak_seconds"
            }),
            processor: run_phases,
            result_path: Some(json!("$.results")),
            next: to("RecordOutcome"),
            catch: vec![catch_all("$.error", "RecordFailure")],
        },
    );
    machine.add(
        "RecordOutcome",
        TaskState {
            comment: text(
                "Journal every app's outcome, set each moved app's active Region, release the \
                lease. The record that goes on lists the exceptions first, at most 100 apps.",
            ),
            result_selector: Some(json!({"record.$": "$.Payload"})),
            result_path: Some(json!("$.outcome")),
            next: to("PublishOutcome"),
            retry: Policy::Record.rules(),
            catch: vec![catch_all("$.record_error", "ReleaseLease")],
            ..lambda::<RecordOutcome>(json!({
                "plan.$": "$.plan",
                "results.$": "$.results",
                "api_calls.$": "$.api_calls",
                "started_at.$": "$$.Execution.StartTime",
                "finished_at.$": "$$.State.EnteredTime"
            }))
        },
    );
    machine.add(
        "PublishOutcome",
        publish_outcome(
            "Tell subscribers how the run ended (a failed publish does not fail the run).",
            "CheckOutcome",
        ),
    );
    machine.add(
        "CheckOutcome",
        Choice {
            comment: None,
            rules: vec![rule(
                any_of([
                    string_is("$.outcome.record.status", RunStatus::Partial.as_str()),
                    string_is("$.outcome.record.status", RunStatus::Failed.as_str()),
                ]),
                "RunIncomplete",
            )],
            default: to("Done"),
        },
    );
    machine.add(
        "Done",
        SucceedState {
            output_path: Some(json!("$.outcome.record")),
            ..succeed()
        },
    );
    machine.add(
        "RunIncomplete",
        FailState {
            comment: text(
                "Some app did not move: its database was not writable (the RPO gate, a deadline), \
                Route 53 did not answer, or its traffic failed verification and was put back.",
            ),
            cause_path: text("$.outcome.record.summary"),
            error_path: text("$.outcome.record.error_name"),
            ..fail()
        },
    );
    machine.add(
        "ReleaseLease",
        TaskState {
            comment: text(
                "The record could not be written: free the lease (the journal may lack this run), \
                then fail with the record's error.",
            ),
            result_path: Some(json!(null)),
            next: to("RecordFailed"),
            retry: Policy::Record.rules(),
            catch: vec![catch_all("$.release_error", "RecordFailed")],
            ..lambda::<ReleaseLease>(json!({
                "run_id.$": "$.plan.run_id",
                "action.$": "$.plan.action"
            }))
        },
    );
    machine.add(
        "RecordFailed",
        FailState {
            error_path: text("$.record_error.Error"),
            cause_path: text("$.record_error.Cause"),
            ..fail()
        },
    );
    machine.add(
        "RecordFailure",
        TaskState {
            comment: text(
                "Journal the stopped run; apps of waves not reached are reported where Route 53 \
                says they are. The run's error stays in the state for RunFailed.",
            ),
            result_selector: Some(json!({"record.$": "$.Payload"})),
            result_path: Some(json!("$.outcome")),
            next: to("PublishFailure"),
            retry: Policy::Record.rules(),
            catch: vec![catch_all("$.record_error", "ReleaseLeaseAfterFailure")],
            ..lambda::<RecordOutcome>(json!({
                "plan.$": "$.plan",
                "error.$": "$.error",
                "api_calls.$": "$.api_calls",
                "started_at.$": "$$.Execution.StartTime",
                "finished_at.$": "$$.State.EnteredTime"
            }))
        },
    );
    machine.add(
        "PublishFailure",
        publish_outcome("Tell subscribers the run stopped.", "RunFailed"),
    );
    machine.add(
        "ReleaseLeaseAfterFailure",
        TaskState {
            comment: text(
                "The stopped run's record could not be written: free the lease, then fail with the run's own error.",
            ),
            result_path: Some(json!(null)),
            next: to("RunFailed"),
            retry: Policy::Record.rules(),
            catch: vec![catch_all("$.release_error", "RunFailed")],
            ..lambda::<ReleaseLease>(json!({"run_id.$": "$.plan.run_id", "action.$": "$.plan.action"}))
        },
    );
    machine.add(
        "RunFailed",
        FailState {
            comment: text("The run stopped: its own error."),
            error_path: text("$.error.Error"),
            cause_path: text("$.error.Cause"),
            ..fail()
        },
    );
    machine
}

/// A Choice and a RunHooks Task for the wave's hooks at `when` (skipped
/// when the wave has none there), then `then`.
fn add_hooks(machine: &mut Machine, when: HookWhen, then: &str, catch: Vec<Catcher>, comment: &str) {
    let (choice, task, count) = match when {
        HookWhen::BeforeDatabase => (
            "AnyHooksBeforeDatabase",
            "HooksBeforeDatabase",
            "$.hooks_at.hooks_before_database",
        ),
        HookWhen::BeforeTraffic => (
            "AnyHooksBeforeTraffic",
            "HooksBeforeTraffic",
            "$.hooks_at.hooks_before_traffic",
        ),
        HookWhen::AfterVerify => (
            "AnyHooksAfterVerify",
            "HooksAfterVerify",
            "$.hooks_at.hooks_after_verify",
        ),
    };
    machine.add(
        choice,
        Choice {
            comment: None,
            rules: vec![rule(above_zero(count), task)],
            default: to(then),
        },
    );
    machine.add(
        task,
        TaskState {
            comment: text(comment),
            ..wave_step::<RunHooks>(
                json!({"when": when}),
                &format!("$.hooks_{}", when.as_str()),
                then,
                catch,
            )
        },
    );
}

/// A step that fails after traffic may have moved: the wave is put back.
fn roll_back_the_wave() -> Vec<Catcher> {
    vec![catch_all("$.error", "RollbackWave")]
}

/// A database step that fails before any traffic moved: the wave fails.
fn fail_the_wave() -> Vec<Catcher> {
    vec![catch_all("$.error", "WaveFailed")]
}

/// Putting back the apps that failed verification failed: the wave says so.
fn rollback_failed() -> Vec<Catcher> {
    vec![catch_all("$.rollback_error", "RollbackFailedResult")]
}

/// One wait for Route 53 changes to be INSYNC: a first look, then, while
/// any is pending, a Wait of [`DNS_SYNC_POLL_SECONDS`] and another look
/// (CheckDnsSync gives up after its checks; the Catch takes it from there).
struct DnsSyncLoop {
    /// The first look, the Choice, the Wait, the next looks.
    states: [&'static str; 4],
    /// Where the changes to wait for are.
    changes: &'static str,
    /// Where each look's answer goes.
    answer: &'static str,
    /// Where to go once every change is INSYNC.
    then: &'static str,
    catch: fn() -> Vec<Catcher>,
    /// The two looks' comments, if any.
    comments: Option<(&'static str, &'static str)>,
}

fn add_dns_sync_loop(machine: &mut Machine, l: DnsSyncLoop) {
    let [check, pending, wait_state, recheck] = l.states;
    let (check_comment, recheck_comment) = match l.comments {
        Some((a, b)) => (text(a), text(b)),
        None => (None, None),
    };
    let look = |comment, payload| TaskState {
        comment,
        result_selector: select_output::<CheckDnsSyncOutput>(),
        result_path: Some(json!(l.answer)),
        next: to(pending),
        retry: Policy::WaveStep.rules(),
        catch: (l.catch)(),
        ..lambda::<CheckDnsSync>(payload)
    };
    machine.add(check, look(check_comment, json!({"changes.$": l.changes, "checks": 0})));
    machine.add(
        pending,
        Choice {
            comment: None,
            rules: vec![rule(above_zero(&format!("{}.pending", l.answer)), wait_state)],
            default: to(l.then),
        },
    );
    machine.add(
        wait_state,
        WaitState {
            seconds: Some(DNS_SYNC_POLL_SECONDS),
            next: to(recheck),
            ..wait()
        },
    );
    machine.add(
        recheck,
        look(
            recheck_comment,
            json!({
                "changes.$": l.changes,
                "checks.$": format!("{}.checks", l.answer),
                "api_calls.$": format!("{}.api_calls", l.answer)
            }),
        ),
    );
}

/// The run's outcome record, published on the outcome bus (only the state
/// machine's role may put there).
fn publish_outcome(comment: &str, next: &str) -> TaskState {
    TaskState {
        comment: text(comment),
        result_path: Some(json!(null)),
        next: to(next),
        retry: Policy::Publish.rules(),
        catch: vec![catch_all("$.publish_error", next)],
        ..put_events(json!({
            "Entries": [
                {
                    "Source": "lifeboat",
                    "DetailType": "lifeboat run outcome",
                    "Detail.$": "$.outcome.record",
                    "EventBusName": "${OutcomeBusName}"
                }
            ]
        }))
    }
}

/// Recording a trigger turned away (refused by validate, or by the lease or
/// the cooldown): the error, the execution and the trigger to keep; retried
/// as long as a trigger must never be lost.
fn record_turned_away<T: Task>(answer: &str, next: &str, on_error: &str) -> TaskState {
    TaskState {
        result_selector: Some(json!({"record.$": "$.Payload"})),
        result_path: Some(json!(answer)),
        next: to(next),
        retry: Policy::KeepsTrigger.rules(),
        catch: vec![catch_all("$.record_error", on_error)],
        ..lambda::<T>(json!({
            "error.$": "$.error",
            "run_id.$": "$$.Execution.Name",
            "trigger.$": "$"
        }))
    }
}

/// A step on the state's wave, answering a [`WaveStep`] at `answer` and
/// retried as one (`Policy::WaveStep`). Its payload: the [`WaveRef`] (each
/// field from the state's own), the moment the state was entered (the clock
/// its progress is stamped with), and `extra`.
fn wave_step<T: Task<Input = WaveInput>>(extra: Value, answer: &str, next: &str, catch: Vec<Catcher>) -> TaskState {
    let mut payload: serde_json::Map<String, Value> = crate::fields::fields_of::<WaveRef>()
        .iter()
        .map(|f| (format!("{f}.$"), json!(format!("$.{f}"))))
        .collect();
    payload.insert("entered_at.$".into(), json!("$$.State.EnteredTime"));
    if let Value::Object(extra) = extra {
        payload.extend(extra);
    }
    TaskState {
        result_selector: select_output::<WaveStep>(),
        result_path: Some(json!(answer)),
        next: to(next),
        retry: Policy::WaveStep.rules(),
        catch,
        ..lambda::<T>(Value::Object(payload))
    }
}
