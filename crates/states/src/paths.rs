//! Paths and payload templates as the Amazon States Language defines them.
//!
//! Reading uses RFC 9535 JSONPath (serde_json_path) for anything beyond a
//! plain reference path; writing (ResultPath) accepts reference paths only,
//! as AWS does.

use crate::error::ExecError;
use crate::intrinsics;
use serde_json::{Map, Value};

/// One step of a reference path: a field name or an array index.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Field(String),
    Index(usize),
}

/// Parses a reference path (`$`, `$.a.b`, `$['a b'][0]`); `None` if it is not one.
pub fn parse_reference_path(path: &str) -> Option<Vec<Segment>> {
    let rest = path.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    let c = chars[i];
                    if c == '*'
                        || c == '@'
                        || c == ','
                        || c == ':'
                        || c == '?'
                        || c == '('
                        || c == ')'
                        || c == '\''
                        || c == '"'
                    {
                        return None;
                    }
                    i += 1;
                }
                if start == i {
                    return None; // `..` (descendants) or a trailing dot
                }
                out.push(Segment::Field(chars[start..i].iter().collect()));
            }
            '[' => {
                i += 1;
                if i < chars.len() && (chars[i] == '\'' || chars[i] == '"') {
                    let quote = chars[i];
                    i += 1;
                    let mut name = String::new();
                    while i < chars.len() && chars[i] != quote {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        name.push(chars[i]);
                        i += 1;
                    }
                    if i + 1 >= chars.len() || chars[i + 1] != ']' {
                        return None;
                    }
                    i += 2;
                    out.push(Segment::Field(name));
                } else {
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    if start == i || i >= chars.len() || chars[i] != ']' {
                        return None;
                    }
                    let idx: usize = chars[start..i].iter().collect::<String>().parse().ok()?;
                    i += 1;
                    out.push(Segment::Index(idx));
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Checks a path's syntax at load time.
pub fn check_path(path: &str) -> Result<(), String> {
    let p = path
        .strip_prefix('$')
        .map(|_| path)
        .ok_or_else(|| format!("path \"{path}\" must start with $"))?;
    let p = if let Some(ctx) = p.strip_prefix("$$") {
        format!("${ctx}")
    } else {
        p.to_string()
    };
    if parse_reference_path(&p).is_some() {
        return Ok(());
    }
    serde_json_path::JsonPath::parse(&p)
        .map(|_| ())
        .map_err(|e| format!("invalid JSONPath \"{path}\": {e}"))
}

/// Checks a ResultPath: a reference path only.
pub fn check_reference_path(path: &str) -> Result<(), String> {
    parse_reference_path(path).map(|_| ()).ok_or_else(|| {
        format!("\"{path}\" is not a reference path (only $, .field, ['field'] and [index] are allowed)")
    })
}

/// Reads `path` from `input`, or from `context` for `$$` paths.
/// A definite path must match exactly one node; any other path yields an array.
pub fn read(path: &str, input: &Value, context: &Value) -> Result<Value, ExecError> {
    let (doc, p) = match path.strip_prefix("$$") {
        Some(rest) => (context, format!("${rest}")),
        None => (input, path.to_string()),
    };
    if let Some(segments) = parse_reference_path(&p) {
        return get(doc, &segments).cloned().ok_or_else(|| {
            ExecError::runtime(format!(
                "Invalid path '{path}': The path does not match any element of the input"
            ))
        });
    }
    let compiled =
        serde_json_path::JsonPath::parse(&p).map_err(|e| ExecError::runtime(format!("Invalid path '{path}': {e}")))?;
    Ok(Value::Array(compiled.query(doc).all().into_iter().cloned().collect()))
}

/// Whether `path` matches anything (Choice's IsPresent).
pub fn exists(path: &str, input: &Value, context: &Value) -> bool {
    match read(path, input, context) {
        Ok(Value::Array(a))
            if parse_reference_path(path.trim_start_matches('$')).is_none() && !path.starts_with("$$") =>
        {
            !a.is_empty() || parse_reference_path(path).is_some()
        }
        Ok(_) => true,
        Err(_) => false,
    }
}

fn get<'a>(mut v: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    for s in segments {
        v = match (s, v) {
            (Segment::Field(f), Value::Object(m)) => m.get(f)?,
            (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Writes `value` at reference path `path` inside `target` (ResultPath).
pub fn write(target: Value, path: &str, value: Value) -> Result<Value, ExecError> {
    let segments = parse_reference_path(path).ok_or_else(|| {
        ExecError::new(
            "States.ResultPathMatchFailure",
            format!("'{path}' is not a reference path"),
        )
    })?;
    if segments.is_empty() {
        return Ok(value);
    }
    let mut root = target;
    {
        let mut cur = &mut root;
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            match seg {
                Segment::Field(f) => {
                    let Value::Object(m) = cur else {
                        return Err(ExecError::new(
                            "States.ResultPathMatchFailure",
                            format!(
                                "Unable to apply ResultPath '{path}': '{f}' is inside a value that is not an object"
                            ),
                        ));
                    };
                    if last {
                        m.insert(f.clone(), value);
                        break;
                    }
                    cur = m.entry(f.clone()).or_insert_with(|| Value::Object(Map::new()));
                }
                Segment::Index(idx) => {
                    let Value::Array(a) = cur else {
                        return Err(ExecError::new(
                            "States.ResultPathMatchFailure",
                            format!(
                                "Unable to apply ResultPath '{path}': [{idx}] is inside a value that is not an array"
                            ),
                        ));
                    };
                    let Some(slot) = a.get_mut(*idx) else {
                        return Err(ExecError::new(
                            "States.ResultPathMatchFailure",
                            format!("Unable to apply ResultPath '{path}': index {idx} is out of range"),
                        ));
                    };
                    if last {
                        *slot = value;
                        break;
                    }
                    cur = slot;
                }
            }
        }
    }
    Ok(root)
}

/// Evaluates a payload template (Parameters, ResultSelector, ItemSelector):
/// keys ending in `.$` take the value of a path or intrinsic function.
pub fn render_template(template: &Value, input: &Value, context: &Value) -> Result<Value, ExecError> {
    match template {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if let Some(name) = k.strip_suffix(".$") {
                    let expr = v.as_str().ok_or_else(|| {
                        ExecError::new(
                            "States.ParameterPathFailure",
                            format!("the value of '{k}' must be a string"),
                        )
                    })?;
                    let value = eval_expression(expr, input, context).map_err(|e| {
                        if e.error == "States.Runtime" {
                            ExecError::new(
                                "States.Runtime",
                                format!(
                                    "The JSONPath '{expr}' specified for the field '{k}' could not be found in the input '{}'",
                                    input
                                ),
                            )
                        } else {
                            e
                        }
                    })?;
                    out.insert(name.to_string(), value);
                } else {
                    out.insert(k.clone(), render_template(v, input, context)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => Ok(Value::Array(
            a.iter()
                .map(|v| render_template(v, input, context))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other.clone()),
    }
}

/// A `.$` value: a path or an intrinsic function call.
pub fn eval_expression(expr: &str, input: &Value, context: &Value) -> Result<Value, ExecError> {
    if expr.starts_with("States.") {
        return intrinsics::evaluate(expr, input, context);
    }
    // AWS: a path that selects nothing is States.Runtime ("The JSONPath ...
    // could not be found in the input"), not ParameterPathFailure.
    read(expr, input, context).map_err(|e| {
        ExecError::new(
            "States.Runtime",
            format!("The JSONPath '{expr}' could not be found in the input: {}", e.cause),
        )
    })
}

/// Checks a payload template's `.$` values at load time.
pub fn check_template(template: &Value) -> Result<(), String> {
    match template {
        Value::Object(m) => {
            for (k, v) in m {
                if k.ends_with(".$") {
                    let expr = v
                        .as_str()
                        .ok_or_else(|| format!("the value of \"{k}\" must be a string"))?;
                    if expr.starts_with("States.") {
                        intrinsics::parse(expr).map_err(|e| format!("\"{k}\": {e}"))?;
                    } else {
                        check_path(expr).map_err(|e| format!("\"{k}\": {e}"))?;
                    }
                } else {
                    check_template(v)?;
                }
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(check_template),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_paths_parse_dots_brackets_and_indices() {
        assert_eq!(parse_reference_path("$"), Some(vec![]));
        assert_eq!(
            parse_reference_path("$.a['b c'][2]"),
            Some(vec![
                Segment::Field("a".into()),
                Segment::Field("b c".into()),
                Segment::Index(2)
            ])
        );
        assert_eq!(parse_reference_path("$..a"), None);
        assert_eq!(parse_reference_path("$.a[*]"), None);
        assert_eq!(parse_reference_path("a.b"), None);
    }

    #[test]
    fn read_definite_paths_and_query_indefinite_ones() {
        let input = json!({"a": {"b": [1, 2, 3]}, "items": [{"n": 1}, {"n": 2}]});
        let ctx = json!({"Execution": {"Name": "x"}});
        assert_eq!(read("$.a.b[1]", &input, &ctx).unwrap(), json!(2));
        assert_eq!(read("$", &input, &ctx).unwrap(), input);
        assert_eq!(read("$$.Execution.Name", &input, &ctx).unwrap(), json!("x"));
        assert_eq!(read("$.items[*].n", &input, &ctx).unwrap(), json!([1, 2]));
        assert_eq!(read("$.items[?@.n > 1]", &input, &ctx).unwrap(), json!([{"n": 2}]));
        let err = read("$.nope", &input, &ctx).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn write_creates_objects_and_replaces_values() {
        let v = write(json!({"a": 1}), "$.r.s", json!(true)).unwrap();
        assert_eq!(v, json!({"a": 1, "r": {"s": true}}));
        assert_eq!(write(json!({"a": 1}), "$", json!(5)).unwrap(), json!(5));
        assert_eq!(
            write(json!({"l": [0, 0]}), "$.l[1]", json!(9)).unwrap(),
            json!({"l": [0, 9]})
        );
        let err = write(json!({"a": 1}), "$.a.b", json!(1)).unwrap_err();
        assert_eq!(err.error, "States.ResultPathMatchFailure");
    }

    #[test]
    fn templates_resolve_paths_context_and_intrinsics() {
        let input = json!({"name": "db", "n": 2});
        let ctx = json!({"Map": {"Item": {"Index": 3}}});
        let t = json!({"static": {"k": [1]}, "app.$": "$.name", "i.$": "$$.Map.Item.Index", "msg.$": "States.Format('{} x{}', $.name, $.n)"});
        let out = render_template(&t, &input, &ctx).unwrap();
        assert_eq!(out, json!({"static": {"k": [1]}, "app": "db", "i": 3, "msg": "db x2"}));
        // AWS (Step Functions developer guide, "Error names"): a Parameters
        // path that matches nothing fails the state with States.Runtime.
        let err = render_template(&json!({"x.$": "$.missing"}), &input, &ctx).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(
            err.cause
                .contains("specified for the field 'x.$' could not be found in the input"),
            "{}",
            err.cause
        );
        assert!(check_template(&json!({"x.$": "States.Nope("})).is_err());
        assert!(check_template(&json!({"x.$": "not a path"})).is_err());
    }
}
