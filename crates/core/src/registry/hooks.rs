//! An application's own steps: Lambda functions lifeboat invokes in the
//! target Region at set points of its move.

use super::BySide;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::closed_names! {
    /// When a hook runs in an app's move.
    #[derive(PartialOrd, Ord, JsonSchema)]
    pub enum HookWhen {
        /// Before its database is promoted: a failure stops the app's move.
        BeforeDatabase = "before_database",
        /// Once its database and capacity are ready, before its traffic moves: a failure stops the app's move.
        BeforeTraffic = "before_traffic",
        /// Once its traffic verified in the target Region: a failure is reported.
        AfterVerify = "after_verify",
    }
}

fn default_hook_timeout() -> u32 {
    60
}

fn default_hook_retries() -> u32 {
    2
}

/// The longest a hook's attempts may take together: they run inside one
/// wave task, whose function must outlive them.
pub const HOOK_BUDGET_SECONDS: u32 = 240;

/// One hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// Unique within the app: lowercase letters, digits and dashes.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub name: String,
    pub when: HookWhen,
    /// The function's ARN in each Region: the target Region's is invoked
    /// (tagged `lifeboat:hook=true`; lifeboat's policy requires it).
    pub function: BySide<String>,
    /// How long one invocation may take (1-240, default 60).
    #[serde(default = "default_hook_timeout")]
    #[schemars(range(min = 1, max = 240))]
    pub timeout_seconds: u32,
    /// Attempts after a failed one (0-5, default 2); all of them together
    /// within 240 s.
    #[serde(default = "default_hook_retries")]
    #[schemars(range(max = 5))]
    pub retries: u32,
}
