//! The command line: clap's types for every verb and option.

use crate::local;
use clap::{Parser, Subcommand, ValueEnum};
use lifeboat_core::request::Action;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Multi-Region disaster recovery for AWS: failover, failback and drills"
)]
pub struct Cli {
    /// Output format for results (progress always goes to stderr).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a full failover and failback of a sample estate on a local AWS emulator.
    Demo,
    /// Validate, apply or list the application registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Show what a failover, failback or drill would change (changes nothing).
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
    },
    /// Run the workflow with an input (an EventBridge event or a manual request).
    #[command(group(clap::ArgGroup::new("where").required(true).args(["local", "state_machine_arn"])))]
    Run {
        /// Input JSON file, or - for standard input.
        #[arg(long)]
        input: String,
        #[command(flatten)]
        place: RunPlace,
    },
    /// Recent runs from the journal.
    History {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Also list the deployed state machine's recent executions.
        #[arg(long)]
        state_machine_arn: Option<String>,
    },
    /// One run's record from the journal: text, `--output json` (the report's
    /// data, docs/report.md), or `--html FILE` (a page with its timeline).
    Report {
        run: String,
        /// Also write the run's report as one self-contained HTML file.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Each application's active Region and the latest run.
    Status {
        /// Also list the deployed state machine's running executions.
        #[arg(long)]
        state_machine_arn: Option<String>,
    },
    /// Could each app move now? The latest readiness evaluation (every 30
    /// minutes in the recovery Region), or `--now` to evaluate on the spot
    /// (recorded and published like the scheduled one). Exit 1 if any app is not ready.
    Readiness {
        #[arg(long)]
        now: bool,
    },
    /// The run lease: who holds it (show), or break it (release).
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// Triggers that did not run when they came: kept (to run later), logged
    /// (turned away or refused), dead-lettered (EventBridge, a schedule or
    /// Lambda could not deliver them); and re-driving a dead-lettered one.
    #[command(subcommand)]
    Triggers(TriggersCommand),
    /// One round of detection probes from this Region (AWS_REGION, the
    /// recovery Region): GET each primary endpoint and publish the results
    /// to CloudWatch, as the scheduled probe function does every minute.
    Probe,
    /// Sample inputs for a run, made from your registry: for trying a
    /// trigger on the emulator or in a drill.
    #[command(subcommand)]
    Sample(SampleCommand),
    /// Run the local AWS emulator (moto server with lifeboat's extensions) in
    /// the foreground, for your own tools (aws CLI, boto3, terraform).
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
    Validate { file: PathBuf },
    /// Write a registry file to the registry table (created if missing).
    Apply {
        file: PathBuf,
        /// Also delete applications that are in the table but not in the file.
        #[arg(long)]
        prune: bool,
    },
    /// List the applications in the registry table.
    List,
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
