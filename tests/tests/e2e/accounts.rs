//! Another account's role, assumed on the emulator (which, as AWS, puts an
//! assumed role's calls in the role's account): once per role and Region
//! for the process, its calls landing in that account and nowhere else.
//! The groundwork of apps in other accounts (issue 21, point 5).

#![allow(clippy::unwrap_used)]

use harness::{moto, sdk_config};
use lifeboat_aws::CallCounter;
use lifeboat_aws::accounts::{RoleRef, assumed_config};

fn zones_client(config: &aws_config::SdkConfig, counter: &CallCounter) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::from_conf(
        aws_sdk_route53::config::Builder::from(config)
            .interceptor(counter.clone())
            .build(),
    )
}

async fn zone_names(client: &aws_sdk_route53::Client) -> Vec<String> {
    let out = client.list_hosted_zones().send().await.unwrap();
    out.hosted_zones().iter().map(|z| z.name().to_string()).collect()
}

#[tokio::test]
async fn a_role_in_another_account_is_assumed_once_per_region_and_its_calls_land_there() {
    let base = sdk_config(&moto().endpoint()).await;
    let role = RoleRef {
        role_arn: "arn:aws:iam::222233334444:role/lifeboat-member".into(),
        external_id: Some("lifeboat".into()),
    };
    let first = CallCounter::new();
    let member = assumed_config(&base, &role, "us-west-2", &first);
    let sts = aws_sdk_sts::Client::new(&member);
    let who = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some("222233334444"));
    let zone = format!("member-{}.example.", harness::unique("z"));
    zones_client(&member, &first)
        .create_hosted_zone()
        .name(&zone)
        .caller_reference(harness::unique("ref"))
        .send()
        .await
        .unwrap();
    // Another task of the same process asks for the same role: the same session, no new AssumeRole.
    let second = CallCounter::new();
    let again = assumed_config(&base, &role, "us-west-2", &second);
    assert!(zone_names(&zones_client(&again, &second)).await.contains(&zone));
    assert_eq!(first.snapshot().get("sts:AssumeRole"), 1, "{:?}", first.snapshot());
    assert_eq!(second.snapshot().get("sts:AssumeRole"), 0);
    // The account lifeboat runs in does not see the member's zone.
    assert!(
        !zone_names(&zones_client(&base, &CallCounter::new()))
            .await
            .contains(&zone)
    );
    // Another Region's STS endpoint: a session of its own.
    let third = CallCounter::new();
    let east2 = assumed_config(&base, &role, "us-east-2", &third);
    aws_sdk_sts::Client::new(&east2)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(third.snapshot().get("sts:AssumeRole"), 1);
}
