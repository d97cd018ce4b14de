//! A person approves before anything changes: which triggers wait for it,
//! how long, and what the wait's end does.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::closed_names! {
    /// A kind of trigger that may wait for approval.
    #[derive(PartialOrd, Ord, JsonSchema)]
    pub enum ApprovalTrigger {
        /// A CloudWatch alarm (and the follow-up runs of alarms kept meanwhile).
        Alarm = "alarm",
        /// The scheduled drill.
        Schedule = "schedule",
        /// A StartExecution by hand (console, CLI).
        Manual = "manual",
        /// A request through the API (API Gateway).
        Api = "api",
    }
}

crate::closed_names! {
    /// What an approval nobody answered in time does.
    #[derive(Default, JsonSchema)]
    pub enum OnTimeout {
        /// Nothing changes; the run is recorded as refused.
        #[default]
        Reject = "reject",
        /// The run goes ahead, recorded as unapproved.
        Proceed = "proceed",
    }
}

fn default_approval_timeout() -> u32 {
    900
}

/// The registry's top-level `approval`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The trigger kinds whose runs wait for a person after Validate.
    #[schemars(length(min = 1))]
    pub required_for: Vec<ApprovalTrigger>,
    /// How long a run waits for an answer (60 s to 24 h, default 900).
    #[serde(default = "default_approval_timeout")]
    #[schemars(range(min = 60, max = 86400))]
    pub timeout_seconds: u32,
    /// What happens when nobody answers in time (default reject).
    #[serde(default)]
    pub on_timeout: OnTimeout,
}

impl Approval {
    /// Whether a run started by `trigger` waits for approval.
    pub fn required(&self, trigger: crate::request::TriggerKind) -> bool {
        use crate::request::TriggerKind;
        let kind = match trigger {
            TriggerKind::Alarm | TriggerKind::FollowUp => ApprovalTrigger::Alarm,
            TriggerKind::Schedule => ApprovalTrigger::Schedule,
            TriggerKind::Manual => ApprovalTrigger::Manual,
            TriggerKind::Api => ApprovalTrigger::Api,
        };
        self.required_for.contains(&kind)
    }
}
