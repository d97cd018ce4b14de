//! Events as AWS delivers them, for starting runs the way AWS would.

use serde_json::{Value, json};

/// The EventBridge event CloudWatch sends when `alarm` goes to ALARM (shape
/// from the CloudWatch documentation's alarm event example).
pub fn alarm_event(alarm: &str, region: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    let ts = at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": lifeboat_core::request::ALARM_DETAIL_TYPE,
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": region,
        "resources": [format!("arn:aws:cloudwatch:{region}:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "Threshold Crossed: 3 out of the last 3 datapoints were less than the threshold (1.0).", "timestamp": ts},
            "previousState": {"value": "OK", "reason": "Threshold Crossed", "timestamp": ts},
            "configuration": {"description": "Primary Region health", "metrics": []}
        }
    })
}
