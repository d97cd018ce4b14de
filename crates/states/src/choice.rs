//! Choice rules: comparisons, And/Or/Not, as the Amazon States Language defines them.

use crate::error::ExecError;
use crate::paths;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

fn operator_of(rule: &serde_json::Map<String, Value>) -> Vec<(&str, &Value)> {
    rule.iter()
        .filter(|(k, _)| {
            OPERATORS.contains(&k.as_str())
                || k.strip_suffix("Path")
                    .is_some_and(|b| OPERATORS.contains(&b) && !b.starts_with("Is") && b != "StringMatches")
        })
        .map(|(k, v)| (k.as_str(), v))
        .collect()
}

/// Checks a rule's shape at load time. Top-level rules need `Next`; nested ones must not have it.
pub fn check_rule(rule: &Value, top: bool) -> Result<(), String> {
    let obj = rule.as_object().ok_or("a choice rule must be a JSON object")?;
    match (top, obj.get("Next")) {
        (true, None) => return Err("a top-level choice rule needs Next".into()),
        (true, Some(n)) if !n.is_string() => return Err("Next must be a string".into()),
        (false, Some(_)) => return Err("a nested choice rule must not have Next".into()),
        _ => {}
    }
    let allowed_extra = |k: &str| k == "Next" || k == "Comment";
    if let Some(list) = obj.get("And").or_else(|| obj.get("Or")) {
        let arr = list
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or("And/Or needs a non-empty array of rules")?;
        for k in obj.keys() {
            if !(allowed_extra(k) || k == "And" || k == "Or") {
                return Err(format!("unexpected field \"{k}\" beside And/Or"));
            }
        }
        if obj.contains_key("And") && obj.contains_key("Or") {
            return Err("a rule cannot have both And and Or".into());
        }
        return arr.iter().try_for_each(|r| check_rule(r, false));
    }
    if let Some(inner) = obj.get("Not") {
        for k in obj.keys() {
            if !(allowed_extra(k) || k == "Not") {
                return Err(format!("unexpected field \"{k}\" beside Not"));
            }
        }
        return check_rule(inner, false);
    }
    let var = obj
        .get("Variable")
        .and_then(Value::as_str)
        .ok_or("a comparison needs a Variable path")?;
    paths::check_path(var)?;
    let ops = operator_of(obj);
    if ops.len() != 1 {
        return Err("needs exactly one comparison operator".into());
    }
    for k in obj.keys() {
        if !(allowed_extra(k) || k == "Variable" || k == ops[0].0) {
            return Err(format!("unknown field \"{k}\""));
        }
    }
    let (op, operand) = ops[0];
    if op.ends_with("Path") && !op.starts_with("Is") {
        let p = operand.as_str().ok_or_else(|| format!("{op} needs a path string"))?;
        paths::check_path(p)?;
    } else if op.starts_with("Is") || op == "BooleanEquals" {
        if !operand.is_boolean() {
            return Err(format!("{op} needs true or false"));
        }
    } else if op.starts_with("Numeric") {
        if !operand.is_number() {
            return Err(format!("{op} needs a number"));
        }
    } else if op.starts_with("Timestamp") {
        let s = operand
            .as_str()
            .ok_or_else(|| format!("{op} needs a timestamp string"))?;
        DateTime::parse_from_rfc3339(s).map_err(|e| format!("{op}: \"{s}\" is not an RFC 3339 timestamp: {e}"))?;
    } else if !operand.is_string() {
        return Err(format!("{op} needs a string"));
    }
    Ok(())
}

/// Evaluates a (checked) rule against the state's input.
pub fn evaluate(rule: &Value, input: &Value, context: &Value) -> Result<bool, ExecError> {
    let Some(obj) = rule.as_object() else { return Ok(false) };
    if let Some(Value::Array(rules)) = obj.get("And") {
        for r in rules {
            if !evaluate(r, input, context)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(Value::Array(rules)) = obj.get("Or") {
        for r in rules {
            if evaluate(r, input, context)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(inner) = obj.get("Not") {
        return Ok(!evaluate(inner, input, context)?);
    }
    let var = obj.get("Variable").and_then(Value::as_str).unwrap_or("$");
    let ops = operator_of(obj);
    let Some((op, operand)) = ops.first().copied() else {
        return Ok(false);
    };
    if op == "IsPresent" {
        return Ok(paths::exists(var, input, context) == operand.as_bool().unwrap_or(true));
    }
    let value = paths::read(var, input, context).map_err(|_| {
        ExecError::runtime(format!(
            "Invalid path '{var}': The choice state's condition path references an invalid value."
        ))
    })?;
    let expect = |b: bool| Ok(b == operand.as_bool().unwrap_or(true));
    match op {
        "IsNull" => return expect(value.is_null()),
        "IsNumeric" => return expect(value.is_number()),
        "IsString" => return expect(value.is_string()),
        "IsBoolean" => return expect(value.is_boolean()),
        "IsTimestamp" => return expect(value.as_str().is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok())),
        _ => {}
    }
    let (base, operand) = match op.strip_suffix("Path") {
        Some(base) => {
            let p = operand.as_str().unwrap_or("$");
            let resolved = paths::read(p, input, context).map_err(|_| {
                ExecError::runtime(format!(
                    "Invalid path '{p}': The choice state's condition path references an invalid value."
                ))
            })?;
            (base, resolved)
        }
        None => (op, operand.clone()),
    };
    Ok(compare(base, &value, &operand))
}

fn compare(op: &str, value: &Value, operand: &Value) -> bool {
    use std::cmp::Ordering::*;
    let ord = |o: std::cmp::Ordering, kind: &str| match kind {
        "Equals" => o == Equal,
        "LessThan" => o == Less,
        "GreaterThan" => o == Greater,
        "LessThanEquals" => o != Greater,
        "GreaterThanEquals" => o != Less,
        _ => false,
    };
    if let Some(kind) = op.strip_prefix("String") {
        let (Some(a), Some(b)) = (value.as_str(), operand.as_str()) else {
            return false;
        };
        if kind == "Matches" {
            return wildcard_match(b, a);
        }
        return ord(a.cmp(b), kind);
    }
    if let Some(kind) = op.strip_prefix("Numeric") {
        let (Some(a), Some(b)) = (value.as_f64(), operand.as_f64()) else {
            return false;
        };
        return a.partial_cmp(&b).is_some_and(|o| ord(o, kind));
    }
    if let Some(kind) = op.strip_prefix("Timestamp") {
        let parse = |v: &Value| v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        let (Some(a), Some(b)): (Option<DateTime<FixedOffset>>, _) = (parse(value), parse(operand)) else {
            return false;
        };
        return ord(a.cmp(&b), kind);
    }
    if op == "BooleanEquals" {
        return matches!((value.as_bool(), operand.as_bool()), (Some(a), Some(b)) if a == b);
    }
    false
}

/// `*` matches any run of characters; `\*` is a literal star.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut tokens: Vec<Option<char>> = Vec::new(); // None = wildcard
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => tokens.push(Some(it.next().unwrap_or('\\'))),
            '*' => tokens.push(None),
            other => tokens.push(Some(other)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic DP over (token, char).
    let mut dp = vec![vec![false; text.len() + 1]; tokens.len() + 1];
    dp[0][0] = true;
    for i in 1..=tokens.len() {
        for j in 0..=text.len() {
            dp[i][j] = match tokens[i - 1] {
                None => dp[i - 1][j] || (j > 0 && dp[i][j - 1]),
                Some(c) => j > 0 && dp[i - 1][j - 1] && text[j - 1] == c,
            };
        }
    }
    dp[tokens.len()][text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(rule: Value, input: Value) -> bool {
        check_rule(&rule, false).unwrap();
        evaluate(&rule, &input, &json!({})).unwrap()
    }

    #[test]
    fn every_comparison_operator() {
        let i = json!({"s": "b", "n": 5, "t": "2026-01-02T00:00:00Z", "b": true, "z": null, "other": "b", "m": 5});
        let cases = [
            (json!({"Variable": "$.s", "StringEquals": "b"}), true),
            (json!({"Variable": "$.s", "StringEqualsPath": "$.other"}), true),
            (json!({"Variable": "$.s", "StringLessThan": "c"}), true),
            (json!({"Variable": "$.s", "StringGreaterThan": "c"}), false),
            (json!({"Variable": "$.s", "StringLessThanEquals": "b"}), true),
            (json!({"Variable": "$.s", "StringGreaterThanEquals": "a"}), true),
            (json!({"Variable": "$.s", "StringMatches": "*"}), true),
            (json!({"Variable": "$.n", "NumericEquals": 5}), true),
            (json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}), true),
            (json!({"Variable": "$.n", "NumericLessThan": 5.5}), true),
            (json!({"Variable": "$.n", "NumericGreaterThan": 5}), false),
            (json!({"Variable": "$.n", "NumericLessThanEquals": 5}), true),
            (json!({"Variable": "$.n", "NumericGreaterThanEquals": 6}), false),
            (json!({"Variable": "$.n", "NumericLessThanPath": "$.m"}), false),
            (json!({"Variable": "$.b", "BooleanEquals": true}), true),
            (
                json!({"Variable": "$.t", "TimestampEquals": "2026-01-02T01:00:00+01:00"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThan": "2026-01-03T00:00:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThan": "2026-01-03T00:00:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.t", "TimestampLessThanEquals": "2026-01-02T00:00:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2026-01-01T00:00:00Z"}),
                true,
            ),
            (json!({"Variable": "$.z", "IsNull": true}), true),
            (json!({"Variable": "$.nope", "IsPresent": false}), true),
            (json!({"Variable": "$.s", "IsPresent": true}), true),
            (json!({"Variable": "$.n", "IsNumeric": true}), true),
            (json!({"Variable": "$.s", "IsString": true}), true),
            (json!({"Variable": "$.b", "IsBoolean": false}), false),
            (json!({"Variable": "$.t", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "NumericEquals": 5}), false),
        ];
        for (rule, expected) in cases {
            assert_eq!(eval(rule.clone(), i.clone()), expected, "{rule}");
        }
    }

    #[test]
    fn and_or_not_combine() {
        let i = json!({"a": 1, "b": "x"});
        assert!(eval(
            json!({"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "StringEquals": "x"}]}),
            i.clone()
        ));
        assert!(!eval(
            json!({"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "StringEquals": "y"}]}),
            i.clone()
        ));
        assert!(eval(
            json!({"Or": [{"Variable": "$.a", "NumericEquals": 2}, {"Variable": "$.b", "StringEquals": "x"}]}),
            i.clone()
        ));
        assert!(eval(json!({"Not": {"Variable": "$.a", "NumericEquals": 2}}), i));
    }

    #[test]
    fn string_matches_supports_wildcards_and_escapes() {
        assert!(wildcard_match("log-*.txt", "log-2026.txt"));
        assert!(!wildcard_match("log-*.txt", "log-2026.csv"));
        assert!(wildcard_match(r"a\*b", "a*b"));
        assert!(!wildcard_match(r"a\*b", "axb"));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let err = evaluate(
            &json!({"Variable": "$.nope", "StringEquals": "x"}),
            &json!({}),
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn malformed_rules_are_refused_at_load() {
        assert!(check_rule(&json!({"Variable": "$.a", "NumericEquals": "1", "Next": "X"}), true).is_err());
        assert!(check_rule(&json!({"Variable": "$.a", "StringEquals": "1"}), true).is_err());
        assert!(
            check_rule(
                &json!({"Not": {"Variable": "$.a", "StringEquals": "1", "Next": "X"}, "Next": "Y"}),
                true
            )
            .is_err()
        );
        assert!(
            check_rule(
                &json!({"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "X"}),
                true
            )
            .is_err()
        );
    }
}
