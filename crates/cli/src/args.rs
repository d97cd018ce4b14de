//! The command line: clap's types for every verb and option.

use crate::local;
use clap::{Parser, Subcommand, ValueEnum};
pub use lifeboat_console::OutputFormat;
use lifeboat_core::request::Action;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Multi-Region disaster recovery for AWS: failover, failback and drills",
    after_help = "Examples:\n  lifeboat demo                                   a full failover and failback on a local emulator\n  lifeboat plan --action failover                 what a failover would change\n  lifeboat run --local --input alarm.json         run the state machine here\n  lifeboat report RUN --html report.html          one run's report"
)]
pub struct Cli {
    /// Output format for results (progress always goes to stderr).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// The DynamoDB tables a verb reads or writes: only the verbs that use them take these flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Tables {
    /// DynamoDB table holding the application registry.
    #[arg(
        long,
        global = true,
        env = "LIFEBOAT_REGISTRY_TABLE",
        default_value = "lifeboat-registry"
    )]
    pub registry_table: String,
    /// DynamoDB table holding the run journal.
    #[arg(
        long,
        global = true,
        env = "LIFEBOAT_JOURNAL_TABLE",
        default_value = "lifeboat-journal"
    )]
    pub journal_table: String,
    /// DynamoDB table holding the run lease (on AWS: strongly consistent across Regions).
    #[arg(long, global = true, env = "LIFEBOAT_LEASE_TABLE", default_value = "lifeboat-lease")]
    pub lease_table: String,
}

impl Cli {
    /// The tables the verb named, if it uses any.
    pub fn tables(&self) -> Option<&Tables> {
        match &self.command {
            Command::Plan { tables, .. }
            | Command::Run { tables, .. }
            | Command::History { tables, .. }
            | Command::Report { tables, .. }
            | Command::Status { tables, .. }
            | Command::Readiness { tables, .. }
            | Command::Probe { tables }
            | Command::Lease { tables, .. }
            | Command::Approve { tables, .. }
            | Command::Reject { tables, .. }
            | Command::Triggers { tables, .. }
            | Command::Registry(RegistryCommand::Apply { tables, .. })
            | Command::Registry(RegistryCommand::List { tables })
            | Command::Sample(SampleCommand::AlarmEvent { tables, .. }) => Some(tables),
            Command::Demo
            | Command::Emulator { .. }
            | Command::Registry(RegistryCommand::Validate { .. })
            | Command::Registry(RegistryCommand::Schema) => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a full failover and failback of a sample estate on a local AWS emulator.
    #[command(after_help = "Example:\n  lifeboat demo    (about 10 s; writes target/demo/failover-report.html here)")]
    Demo,
    /// Validate, apply or list the application registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Show what a failover, failback or drill would change (changes nothing).
    #[command(
        after_help = "Examples:\n  lifeboat plan --action failover\n  lifeboat plan --action failover --apps payments --disaster\n  lifeboat plan --action failback --apps orders --move-dns-without-database"
    )]
    Plan {
        #[arg(long, value_enum)]
        action: ActionArg,
        /// Comma-separated application names (default: all).
        #[arg(long, value_delimiter = ',')]
        apps: Vec<String>,
        /// Plan a failover for a disaster (the primary is down): Aurora global
        /// databases fail over with data loss, after the RPO gate.
        #[arg(long)]
        disaster: bool,
        /// Fail over even if the replication lag is over an app's max_rpo_seconds.
        #[arg(long)]
        accept_data_loss: bool,
        /// Failback: move the traffic of apps whose database was rebuilt by hand.
        #[arg(long)]
        move_dns_without_database: bool,
        #[command(flatten)]
        tables: Tables,
    },
    /// Run the workflow with an input (an EventBridge event or a manual request).
    #[command(group(clap::ArgGroup::new("where").required(true).args(["local", "state_machine_arn"])))]
    #[command(
        after_help = "Examples:\n  lifeboat run --local --input alarm.json                 (lifeboat sample alarm-event APP > alarm.json)\n  echo '{\"action\": \"drill\", \"apps\": [\"payments\"]}' | lifeboat run --local --input -\n  lifeboat run --state-machine-arn ARN --input - <<< '{\"action\": \"failover\", \"mode\": \"disaster\"}'"
    )]
    Run {
        /// Input JSON file, or - for standard input.
        #[arg(long)]
        input: String,
        #[command(flatten)]
        place: RunPlace,
        #[command(flatten)]
        tables: Tables,
    },
    /// Recent runs from the journal.
    #[command(after_help = "Example:\n  lifeboat history --limit 5 --output json")]
    History {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Also list the deployed state machine's recent executions.
        #[arg(long)]
        state_machine_arn: Option<String>,
        #[command(flatten)]
        tables: Tables,
    },
    /// One run's record from the journal: text, `--output json` (the report's
    /// data, docs/report.md), or `--html FILE` (a page with its timeline).
    #[command(after_help = "Example:\n  lifeboat report alarm-use1-region-health-20261205T071200Z --html report.html")]
    Report {
        run: String,
        /// Also write the run's report as one self-contained HTML file.
        #[arg(long)]
        html: Option<PathBuf>,
        #[command(flatten)]
        tables: Tables,
    },
    /// Each application's active Region and the latest run.
    #[command(after_help = "Example:\n  lifeboat status --state-machine-arn ARN")]
    Status {
        /// Also list the deployed state machine's running executions.
        #[arg(long)]
        state_machine_arn: Option<String>,
        #[command(flatten)]
        tables: Tables,
    },
    /// Could each app move now? The latest readiness evaluation (every 30
    /// minutes in the recovery Region), or `--now` to evaluate on the spot
    /// (recorded and published like the scheduled one). Exit 1 if any app is not ready.
    #[command(after_help = "Example:\n  AWS_REGION=us-west-2 lifeboat readiness --now")]
    Readiness {
        #[arg(long)]
        now: bool,
        #[command(flatten)]
        tables: Tables,
    },
    /// Approve a run that waits for approval (the registry's `approval`):
    /// recorded with who and when, then the run goes on.
    #[command(
        after_help = "Examples:\n  lifeboat approve alarm-use1-region-health-20261205T071200Z --note \"INC-123, checked the dashboards\"\n  lifeboat approve RUN --local    (a run on this machine's emulator)"
    )]
    Approve {
        /// The run (execution name) that waits.
        run: String,
        /// A note for the record.
        #[arg(long)]
        note: Option<String>,
        /// The run runs locally (`lifeboat run --local`): write the decision
        /// for its runner, instead of answering Step Functions.
        #[arg(long)]
        local: bool,
        #[command(flatten)]
        tables: Tables,
    },
    /// Reject a run that waits for approval: nothing changes, and the record
    /// says who rejected it and why.
    #[command(
        after_help = "Example:\n  lifeboat reject alarm-use1-region-health-20261205T071200Z --reason \"false alarm: the canary's own Region is down\""
    )]
    Reject {
        run: String,
        /// Why (recorded; required).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        local: bool,
        #[command(flatten)]
        tables: Tables,
    },
    /// The run lease: who holds it (show), or break it (release).
    #[command(
        after_help = "Examples:\n  lifeboat lease show\n  lifeboat lease release --reason \"run died with its Lambda; INC-123\"\n  lifeboat lease release --cooldown --reason \"a real outage right after the failback\""
    )]
    Lease {
        #[command(subcommand)]
        command: LeaseCommand,
        #[command(flatten)]
        tables: Tables,
    },
    /// Triggers that did not run when they came: kept (to run later), logged
    /// (turned away or refused), dead-lettered (EventBridge, a schedule or
    /// Lambda could not deliver them); and re-driving a dead-lettered one.
    #[command(after_help = "Examples:\n  lifeboat triggers list\n  lifeboat triggers redrive MESSAGE_ID --local")]
    Triggers {
        #[command(subcommand)]
        command: TriggersCommand,
        #[command(flatten)]
        tables: Tables,
    },
    /// One round of detection probes from this Region (AWS_REGION, the
    /// recovery Region): GET each primary endpoint and publish the results
    /// to CloudWatch, as the scheduled probe function does every minute.
    #[command(after_help = "Example:\n  AWS_REGION=us-west-2 lifeboat probe")]
    Probe {
        #[command(flatten)]
        tables: Tables,
    },
    /// Sample inputs for a run, made from your registry: for trying a
    /// trigger on the emulator or in a drill.
    #[command(subcommand)]
    Sample(SampleCommand),
    /// Run the local AWS emulator (moto server with lifeboat's extensions) in
    /// the foreground, for your own tools (aws CLI, boto3, terraform).
    /// moto comes from LIFEBOAT_MOTO_SERVER, a checkout's .venv, moto_server
    /// 5.2.5 on PATH, or a one-time install into ~/.cache/lifeboat.
    #[command(
        after_help = "Example:\n  lifeboat emulator --port 4566    (then use the exports it prints)\n  lifeboat emulator --output json  (its endpoint and environment as one JSON line, for scripts)"
    )]
    Emulator {
        /// The loopback port to listen on (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Do not throttle: without this, the emulator throttles as AWS's
        /// documented rate quotas do (Route 53, ARC, CloudWatch, RDS, Step
        /// Functions), answering each service's own throttling error.
        #[arg(long)]
        no_quotas: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// The EventBridge event CloudWatch sends when APP's trigger alarm goes
    /// to ALARM, stamped now: `lifeboat run --local --input` takes it as
    /// EventBridge would deliver it.
    #[command(
        after_help = "Example:\n  lifeboat sample alarm-event checkout > alarm.json\n  lifeboat run --local --input alarm.json"
    )]
    AlarmEvent {
        /// The application whose alarm fires.
        app: String,
        /// Read the application from this registry file instead of the registry table.
        #[arg(long)]
        registry: Option<PathBuf>,
        /// The alarm, if the app has several (default: its first trigger alarm, else its probe's).
        #[arg(long)]
        alarm: Option<String>,
        #[command(flatten)]
        tables: Tables,
    },
}

#[derive(Debug, Subcommand)]
pub enum TriggersCommand {
    /// Kept triggers (waiting or taken up), the trigger log, and the dead-letter queue.
    List {
        /// The triggers' dead-letter queue: its URL, or its name in this Region.
        #[arg(long, env = "LIFEBOAT_TRIGGER_DLQ", default_value = crate::dead_letters::DEFAULT_QUEUE)]
        queue: String,
    },
    /// Re-drive one dead-lettered message (its id, from `triggers list`): a
    /// trigger starts a run (--local, or --state-machine-arn); a run's end is
    /// recorded from the journal, as the record task would. The message is
    /// deleted once re-driven, and stays queued if re-driving fails.
    #[command(group(clap::ArgGroup::new("where").args(["local", "state_machine_arn"])))]
    Redrive {
        /// The message id.
        id: String,
        #[arg(long, env = "LIFEBOAT_TRIGGER_DLQ", default_value = crate::dead_letters::DEFAULT_QUEUE)]
        queue: String,
        #[command(flatten)]
        place: RunPlace,
    },
}

/// Where a run happens: on the local executor, or on a deployed state machine.
#[derive(Debug, clap::Args)]
pub struct RunPlace {
    /// Run the definition in this process against the AWS endpoint of the
    /// environment (AWS_ENDPOINT_URL, profile, ...).
    #[arg(long)]
    pub local: bool,
    /// Start an execution of this deployed state machine and follow it.
    #[arg(long)]
    pub state_machine_arn: Option<String>,
    /// With --state-machine-arn: how long to follow the execution before leaving it running.
    #[arg(long, default_value_t = 3600)]
    pub wait_seconds: u64,
    /// With --local: the ASL definition to run.
    #[arg(long, default_value = local::DEFAULT_DEFINITION)]
    pub definition: PathBuf,
    /// With --local: `system` waits for real; `virtual` moves time forward at once (tests, emulators).
    #[arg(long, value_enum, default_value_t = ClockArg::System)]
    pub clock: ClockArg,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Check a registry file and report every problem with its field path.
    #[command(after_help = "Example:\n  lifeboat registry validate examples/registry.yaml")]
    Validate { file: PathBuf },
    /// Write a registry file to the registry table (created if missing).
    #[command(after_help = "Example:\n  lifeboat registry apply registry.yaml --prune")]
    Apply {
        file: PathBuf,
        /// Also delete applications that are in the table but not in the file.
        #[arg(long)]
        prune: bool,
        #[command(flatten)]
        tables: Tables,
    },
    /// List the applications in the registry table.
    List {
        #[command(flatten)]
        tables: Tables,
    },
    /// Print the registry file's JSON Schema.
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Who holds the run lease, since when, until when, and the cooldown.
    Show,
    /// Break the lease whoever holds it (a run that died, or one to stop):
    /// the holder's next step changes nothing. With --cooldown, end the
    /// cooldown after a failback instead, so an alarm's failover runs now.
    /// Recorded in the journal with your identity and the reason.
    Release {
        /// Why (recorded in the journal).
        #[arg(long)]
        reason: String,
        /// End the cooldown, not the lease.
        #[arg(long)]
        cooldown: bool,
    },
}

/// `--action`: clap's face of [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionArg {
    Failover,
    Failback,
    Drill,
}

impl From<ActionArg> for Action {
    fn from(arg: ActionArg) -> Self {
        match arg {
            ActionArg::Failover => Action::Failover,
            ActionArg::Failback => Action::Failback,
            ActionArg::Drill => Action::Drill,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    System,
    Virtual,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `lifeboat VERB ... --help`, rendered.
    fn help(path: &[&str]) -> String {
        let mut cmd = Cli::command();
        cmd.build();
        let mut at = &mut cmd;
        for name in path {
            at = at.find_subcommand_mut(name).unwrap_or_else(|| panic!("no verb {name}"));
        }
        at.render_long_help().to_string()
    }

    #[test]
    fn the_table_flags_show_only_on_the_verbs_that_use_tables() {
        for verb in [
            &["demo"][..],
            &["emulator"],
            &["registry", "validate"],
            &["registry", "schema"],
        ] {
            assert!(!help(verb).contains("--registry-table"), "{verb:?}");
        }
        for verb in [
            &["plan"][..],
            &["run"],
            &["history"],
            &["report"],
            &["status"],
            &["readiness"],
            &["probe"],
            &["registry", "apply"],
            &["registry", "list"],
            &["lease", "show"],
            &["lease", "release"],
            &["triggers", "list"],
            &["triggers", "redrive"],
            &["sample", "alarm-event"],
        ] {
            let h = help(verb);
            for flag in ["--registry-table", "--journal-table", "--lease-table"] {
                assert!(h.contains(flag), "{verb:?} lacks {flag}");
            }
        }
    }

    #[test]
    fn every_verb_that_does_something_has_an_example() {
        for verb in [
            &["demo"][..],
            &["emulator"],
            &["plan"],
            &["run"],
            &["history"],
            &["report"],
            &["status"],
            &["readiness"],
            &["probe"],
            &["registry", "validate"],
            &["registry", "apply"],
            &["lease"],
            &["triggers"],
            &["sample", "alarm-event"],
        ] {
            assert!(help(verb).contains("Example"), "{verb:?} has no example");
        }
    }

    #[test]
    fn table_flags_go_before_or_after_a_lease_verb() {
        for args in [
            &["lifeboat", "lease", "--lease-table", "x", "show"][..],
            &["lifeboat", "lease", "show", "--lease-table", "x"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.tables().unwrap().lease_table, "x");
        }
        assert!(Cli::try_parse_from(["lifeboat", "emulator", "--registry-table", "x"]).is_err());
    }
}
