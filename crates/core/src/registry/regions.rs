//! Region names known to the AWS SDK, so that a typo (`us-wset-2`) is caught
//! offline when a registry is checked, not as an HTTP error mid-run.
//!
//! The list is the SDK's partition metadata (the `regions` of each partition
//! in the endpoint rules aws-sdk-rust embeds), without the `*-global`
//! pseudo-Regions. A test in lifeboat-aws keeps it a superset of the SDK's
//! own Region enum, so an SDK upgrade that adds a Region fails until it is here.

/// Every Region of every partition (aws, aws-cn, aws-eusc, aws-iso*, aws-us-gov).
pub const KNOWN_REGIONS: &[&str] = &[
    // aws
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    // aws-cn
    "cn-north-1",
    "cn-northwest-1",
    // aws-eusc
    "eusc-de-east-1",
    // aws-iso, aws-iso-b, aws-iso-e, aws-iso-f
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "eu-isoe-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    // aws-us-gov
    "us-gov-east-1",
    "us-gov-west-1",
];

/// Whether the SDK knows `region`.
pub fn is_known_region(region: &str) -> bool {
    KNOWN_REGIONS.contains(&region)
}

/// Why `region` is refused, with the closest known name when one is near.
pub fn unknown_region_message(region: &str) -> String {
    let closest = KNOWN_REGIONS
        .iter()
        .map(|k| (edit_distance(region, k), *k))
        .min()
        .filter(|(d, _)| *d <= 3);
    match closest {
        Some((_, k)) => format!("unknown Region \"{region}\" (did you mean {k}?)"),
        None => format!("unknown Region \"{region}\": not a Region of any AWS partition the SDK knows"),
    }
}

/// Levenshtein distance, with a swap of two neighbours counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_is_unknown_and_the_message_names_the_region_meant() {
        assert!(is_known_region("us-west-2"));
        assert!(is_known_region("us-gov-west-1"));
        assert!(!is_known_region("us-wset-2"));
        assert_eq!(
            unknown_region_message("us-wset-2"),
            "unknown Region \"us-wset-2\" (did you mean us-west-2?)"
        );
        assert!(unknown_region_message("mars-north-9").contains("not a Region of any AWS partition"));
    }
}
