//! How Route 53 decides whether a health check is healthy ("How Amazon Route 53
//! determines whether a health check is healthy", Route 53 developer guide):
//! an endpoint check by the share of its checkers that report healthy, a
//! calculated check by how many of its children are healthy.

/// The share of checkers that must report healthy, exclusive: "more than 18
/// percent" healthy is healthy; 18 % or fewer is unhealthy.
pub const HEALTHY_CHECKER_PERCENT: usize = 18;

/// An endpoint health check's verdict from its checkers' reports: healthy
/// when more than 18 % of the checkers reporting say so (none reporting yet:
/// not healthy).
pub fn checkers_say_healthy(healthy: usize, reporting: usize) -> bool {
    reporting > 0 && healthy * 100 > reporting * HEALTHY_CHECKER_PERCENT
}

/// A calculated health check's verdict: at least `threshold` of its
/// `children` healthy (0: always healthy; more than it has: never healthy,
/// as the HealthThreshold reference says), inverted when `inverted`.
pub fn calculated_is_healthy(healthy_children: usize, children: usize, threshold: usize, inverted: bool) -> bool {
    let healthy = threshold <= children && healthy_children >= threshold;
    healthy != inverted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_18_percent_of_checkers_is_healthy() {
        // 16 checkers: 3 (18.75 %) is healthy, 2 (12.5 %) is not.
        assert!(checkers_say_healthy(3, 16));
        assert!(!checkers_say_healthy(2, 16));
        // Exactly 18 % is not "more than".
        assert!(!checkers_say_healthy(18, 100));
        assert!(checkers_say_healthy(19, 100));
        assert!(!checkers_say_healthy(0, 0));
    }

    #[test]
    fn a_calculated_check_counts_its_healthy_children_against_its_threshold() {
        assert!(calculated_is_healthy(2, 3, 2, false));
        assert!(!calculated_is_healthy(1, 3, 2, false));
        assert!(calculated_is_healthy(0, 3, 0, false), "0: always healthy");
        assert!(!calculated_is_healthy(3, 3, 4, false), "over the children: never");
        assert!(calculated_is_healthy(1, 3, 2, true), "inverted");
    }
}
