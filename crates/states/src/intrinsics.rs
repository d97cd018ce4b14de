//! Intrinsic functions (`States.Format(...)` and friends) as AWS documents them.

use crate::error::ExecError;
use crate::paths;
use serde_json::{Map, Value};
use sha2::Digest;

/// A parsed argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(String),
    Call(Call),
}

/// A parsed intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Arg>,
}

const FUNCTIONS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
];

/// Parses an intrinsic call, checking the function is one we support.
pub fn parse(text: &str) -> Result<Call, String> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut pos = 0;
    let call = parse_call(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!("unexpected text after the call in \"{text}\""));
    }
    Ok(call)
}

fn parse_call(c: &[char], pos: &mut usize) -> Result<Call, String> {
    let start = *pos;
    while *pos < c.len() && (c[*pos].is_ascii_alphanumeric() || c[*pos] == '.') {
        *pos += 1;
    }
    let name: String = c[start..*pos].iter().collect();
    if !FUNCTIONS.contains(&name.as_str()) {
        return Err(format!("unsupported intrinsic function \"{name}\""));
    }
    if *pos >= c.len() || c[*pos] != '(' {
        return Err(format!("expected '(' after {name}"));
    }
    *pos += 1;
    let mut args = Vec::new();
    skip_ws(c, pos);
    if *pos < c.len() && c[*pos] == ')' {
        *pos += 1;
        return Ok(Call { name, args });
    }
    loop {
        skip_ws(c, pos);
        args.push(parse_arg(c, pos)?);
        skip_ws(c, pos);
        match c.get(*pos) {
            Some(',') => *pos += 1,
            Some(')') => {
                *pos += 1;
                return Ok(Call { name, args });
            }
            _ => return Err(format!("expected ',' or ')' in the arguments of {name}")),
        }
    }
}

fn skip_ws(c: &[char], pos: &mut usize) {
    while *pos < c.len() && c[*pos].is_whitespace() {
        *pos += 1;
    }
}

fn parse_arg(c: &[char], pos: &mut usize) -> Result<Arg, String> {
    match c.get(*pos) {
        Some('\'') => {
            *pos += 1;
            let mut s = String::new();
            while *pos < c.len() && c[*pos] != '\'' {
                if c[*pos] == '\\' && *pos + 1 < c.len() {
                    *pos += 1;
                    // Keep `\{`, `\}` and `\\` escaped: States.Format's template
                    // unescapes them once (eval_call does for other arguments).
                    if matches!(c[*pos], '{' | '}' | '\\') {
                        s.push('\\');
                    }
                }
                s.push(c[*pos]);
                *pos += 1;
            }
            if *pos >= c.len() {
                return Err("unterminated string literal".into());
            }
            *pos += 1;
            Ok(Arg::Literal(Value::String(s)))
        }
        Some('$') => {
            let start = *pos;
            let mut depth = 0i32;
            let mut quote: Option<char> = None;
            while *pos < c.len() {
                let ch = c[*pos];
                match (quote, ch) {
                    (Some(q), _) if ch == q => quote = None,
                    (Some(_), _) => {}
                    (None, '\'' | '"') => quote = Some(ch),
                    (None, '[' | '(') => depth += 1,
                    (None, ']') => depth -= 1,
                    (None, ')') if depth == 0 => break,
                    (None, ')') => depth -= 1,
                    (None, ',') if depth == 0 => break,
                    _ => {}
                }
                *pos += 1;
            }
            let path: String = c[start..*pos].iter().collect::<String>().trim().to_string();
            paths::check_path(&path)?;
            Ok(Arg::Path(path))
        }
        Some(ch) if ch.is_ascii_alphabetic() => {
            let save = *pos;
            let mut word = String::new();
            while *pos < c.len() && (c[*pos].is_ascii_alphanumeric() || c[*pos] == '.') {
                word.push(c[*pos]);
                *pos += 1;
            }
            match word.as_str() {
                "true" => Ok(Arg::Literal(Value::Bool(true))),
                "false" => Ok(Arg::Literal(Value::Bool(false))),
                "null" => Ok(Arg::Literal(Value::Null)),
                _ => {
                    *pos = save;
                    Ok(Arg::Call(parse_call(c, pos)?))
                }
            }
        }
        Some(ch) if ch.is_ascii_digit() || *ch == '-' => {
            let start = *pos;
            *pos += 1;
            while *pos < c.len() && (c[*pos].is_ascii_digit() || matches!(c[*pos], '.' | 'e' | 'E' | '+' | '-')) {
                *pos += 1;
            }
            let text: String = c[start..*pos].iter().collect();
            serde_json::from_str::<Value>(&text)
                .map(Arg::Literal)
                .map_err(|_| format!("invalid number {text}"))
        }
        _ => Err("expected an argument".into()),
    }
}

/// Parses and evaluates an intrinsic call.
pub fn evaluate(text: &str, input: &Value, context: &Value) -> Result<Value, ExecError> {
    let call = parse(text).map_err(|e| ExecError::new("States.IntrinsicFailure", e))?;
    eval_call(&call, input, context)
}

fn fail(name: &str, msg: impl Into<String>) -> ExecError {
    ExecError::new("States.IntrinsicFailure", format!("{name}: {}", msg.into()))
}

fn eval_call(call: &Call, input: &Value, context: &Value) -> Result<Value, ExecError> {
    let mut args = Vec::with_capacity(call.args.len());
    for (i, a) in call.args.iter().enumerate() {
        args.push(match a {
            // States.Format's template keeps its escapes for format_template.
            Arg::Literal(Value::String(s)) if !(i == 0 && call.name == "States.Format") => Value::String(unescape(s)),
            Arg::Literal(v) => v.clone(),
            Arg::Path(p) => paths::read(p, input, context).map_err(|e| fail(&call.name, e.cause))?,
            Arg::Call(c) => eval_call(c, input, context)?,
        });
    }
    let n = call.name.as_str();
    let want = |count: usize| -> Result<(), ExecError> {
        if args.len() == count {
            Ok(())
        } else {
            Err(fail(n, format!("expects {count} argument(s), got {}", args.len())))
        }
    };
    let int = |v: &Value| -> Result<i64, ExecError> {
        v.as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| fail(n, format!("{v} is not an integer")))
    };
    let arr = |v: &Value| -> Result<Vec<Value>, ExecError> {
        v.as_array()
            .cloned()
            .ok_or_else(|| fail(n, format!("{v} is not an array")))
    };
    let string = |v: &Value| -> Result<String, ExecError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| fail(n, format!("{v} is not a string")))
    };
    match n {
        "States.Format" => {
            let template = string(args.first().ok_or_else(|| fail(n, "needs a template"))?)?;
            format_template(&template, &args[1..])
                .map(Value::String)
                .map_err(|e| fail(n, e))
        }
        "States.StringToJson" => {
            want(1)?;
            serde_json::from_str(&string(&args[0])?).map_err(|e| fail(n, e.to_string()))
        }
        "States.JsonToString" => {
            want(1)?;
            Ok(Value::String(args[0].to_string()))
        }
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayPartition" => {
            want(2)?;
            let size = int(&args[1])?;
            if size <= 0 {
                return Err(fail(n, "chunk size must be positive"));
            }
            let items = arr(&args[0])?;
            Ok(Value::Array(
                items.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect(),
            ))
        }
        "States.ArrayContains" => {
            want(2)?;
            Ok(Value::Bool(arr(&args[0])?.contains(&args[1])))
        }
        "States.ArrayRange" => {
            want(3)?;
            let (start, end, step) = (int(&args[0])?, int(&args[1])?, int(&args[2])?);
            if step == 0 {
                return Err(fail(n, "step must not be 0"));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                out.push(Value::from(i));
                if out.len() > 1000 {
                    return Err(fail(n, "more than 1000 items"));
                }
                // At the ends of i64 the range simply stops.
                match i.checked_add(step) {
                    Some(next) => i = next,
                    None => break,
                }
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            want(2)?;
            let items = arr(&args[0])?;
            let i = int(&args[1])?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| fail(n, format!("index {i} is out of range")))
        }
        "States.ArrayLength" => {
            want(1)?;
            Ok(Value::from(arr(&args[0])?.len()))
        }
        "States.ArrayUnique" => {
            want(1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in arr(&args[0])? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        "States.JsonMerge" => {
            want(3)?;
            if args[2] != Value::Bool(false) {
                return Err(fail(n, "only shallow merges (false) are supported, as on AWS"));
            }
            let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                return Err(fail(n, "both arguments must be objects"));
            };
            let mut m: Map<String, Value> = a.clone();
            for (k, v) in b {
                m.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(m))
        }
        "States.MathRandom" => {
            if args.len() < 2 || args.len() > 3 {
                return Err(fail(n, "expects 2 or 3 arguments"));
            }
            let (lo, hi) = (int(&args[0])?, int(&args[1])?);
            if lo >= hi {
                return Err(fail(n, "start must be less than end"));
            }
            let mut rng = match args.get(2) {
                Some(seed) => fastrand::Rng::with_seed(int(seed)? as u64),
                None => fastrand::Rng::new(),
            };
            Ok(Value::from(rng.i64(lo..hi)))
        }
        "States.MathAdd" => {
            want(2)?;
            let sum = int(&args[0])?
                .checked_add(int(&args[1])?)
                .ok_or_else(|| fail(n, "overflow"))?;
            Ok(Value::from(sum))
        }
        "States.StringSplit" => {
            want(2)?;
            let (s, d) = (string(&args[0])?, string(&args[1])?);
            let delims: Vec<char> = d.chars().collect();
            Ok(Value::Array(
                s.split(|c| delims.contains(&c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        "States.UUID" => {
            want(0)?;
            Ok(Value::String(uuid_v4()))
        }
        "States.Base64Encode" => {
            want(1)?;
            Ok(Value::String(base64_encode(string(&args[0])?.as_bytes())))
        }
        "States.Hash" => {
            want(2)?;
            let data = string(&args[0])?;
            if data.chars().count() > 10_000 {
                return Err(fail(n, "the input is over 10,000 characters"));
            }
            let bytes = data.as_bytes();
            let digest: Vec<u8> = match string(&args[1])?.as_str() {
                "MD5" => md5::Md5::digest(bytes).to_vec(),
                "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
                "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
                "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
                "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
                other => {
                    return Err(fail(
                        n,
                        format!("unsupported algorithm \"{other}\" (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"),
                    ));
                }
            };
            Ok(Value::String(digest.iter().map(|b| format!("{b:02x}")).collect()))
        }
        "States.Base64Decode" => {
            want(1)?;
            let bytes = base64_decode(&string(&args[0])?).ok_or_else(|| fail(n, "invalid base64"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| fail(n, "decoded bytes are not UTF-8"))
        }
        other => Err(fail(other, "unsupported")),
    }
}

/// `\X` → `X`: what an escaped string literal means outside a Format template.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => out.extend(it.next()),
            _ => out.push(c),
        }
    }
    out
}

fn format_template(template: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut it = template.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                if let Some(n) = it.next() {
                    out.push(n);
                }
            }
            '{' if it.peek() == Some(&'}') => {
                it.next();
                let v = args.get(next_arg).ok_or("more {} placeholders than arguments")?;
                next_arg += 1;
                match v {
                    Value::String(s) => out.push_str(s),
                    Value::Object(_) | Value::Array(_) => {
                        return Err("arguments must be strings, numbers, booleans or null".into());
                    }
                    other => out.push_str(&other.to_string()),
                }
            }
            _ => out.push(c),
        }
    }
    if next_arg != args.len() {
        return Err(format!("{} arguments for {} placeholders", args.len(), next_arg));
    }
    Ok(out)
}

fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    for x in &mut b {
        *x = fastrand::u8(..);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let clean: Vec<u8> = text.bytes().filter(|b| *b != b'=').collect();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = B64.iter().position(|x| x == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(expr: &str) -> Value {
        evaluate(
            expr,
            &json!({"a": [1, 2, 2, 3], "s": "x,y", "o": {"k": 1}, "n": 5}),
            &json!({}),
        )
        .unwrap()
    }

    #[test]
    fn the_documented_functions_compute_what_aws_documents() {
        assert_eq!(
            ev("States.Format('Hello, {}! n={}', 'world', $.n)"),
            json!("Hello, world! n=5")
        );
        assert_eq!(ev(r"States.Format('literal \{\} {}', 'x')"), json!("literal {} x"));
        assert_eq!(ev("States.StringToJson('{\"a\": 1}')"), json!({"a": 1}));
        assert_eq!(ev("States.JsonToString($.o)"), json!("{\"k\":1}"));
        assert_eq!(
            ev("States.Array(1, 'two', $.n, null, true)"),
            json!([1, "two", 5, null, true])
        );
        assert_eq!(ev("States.ArrayPartition($.a, 3)"), json!([[1, 2, 2], [3]]));
        assert_eq!(ev("States.ArrayContains($.a, 3)"), json!(true));
        assert_eq!(ev("States.ArrayRange(1, 9, 2)"), json!([1, 3, 5, 7, 9]));
        assert_eq!(ev("States.ArrayGetItem($.a, 3)"), json!(3));
        assert_eq!(ev("States.ArrayLength($.a)"), json!(4));
        assert_eq!(ev("States.ArrayUnique($.a)"), json!([1, 2, 3]));
        assert_eq!(
            ev("States.JsonMerge($.o, States.StringToJson('{\"z\": 2}'), false)"),
            json!({"k": 1, "z": 2})
        );
        assert_eq!(ev("States.MathAdd($.n, -1)"), json!(4));
        assert_eq!(ev("States.StringSplit($.s, ',')"), json!(["x", "y"]));
        assert_eq!(
            ev("States.Base64Encode('Data to encode')"),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')"),
            json!("Data to encode")
        );
        let r = ev("States.MathRandom(1, 10)").as_i64().unwrap();
        assert!((1..10).contains(&r));
        assert_eq!(ev("States.UUID()").as_str().unwrap().len(), 36);
    }

    #[test]
    fn bad_calls_fail_with_intrinsic_failure_or_do_not_parse() {
        let err = evaluate("States.ArrayGetItem($.a, 9)", &json!({"a": []}), &json!({})).unwrap_err();
        assert_eq!(err.error, "States.IntrinsicFailure");
        assert!(parse("States.Nope('x')").unwrap_err().contains("unsupported"));
        assert!(parse("States.Format('x'").is_err());
    }

    #[test]
    fn array_range_stops_at_the_ends_of_the_integers() {
        let v = ev("States.ArrayRange(9223372036854775806, 9223372036854775807, 5)");
        assert_eq!(v, json!([9223372036854775806i64]));
        let v = ev("States.ArrayRange(-9223372036854775807, -9223372036854775808, -3)");
        assert_eq!(v.as_array().map(Vec::len), Some(1));
    }

    /// AWS "Intrinsic functions" (States.Hash): MD5, SHA-1, SHA-256, SHA-384
    /// and SHA-512, the digest as lowercase hex; others are refused.
    #[test]
    fn hash_computes_the_documented_algorithms() {
        assert_eq!(
            ev("States.Hash('abc', 'MD5')"),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            ev("States.Hash('abc', 'SHA-1')"),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            ev("States.Hash('abc', 'SHA-256')"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(ev("States.Hash('abc', 'SHA-384')").as_str().map(str::len), Some(96));
        assert_eq!(ev("States.Hash('abc', 'SHA-512')").as_str().map(str::len), Some(128));
        let err = evaluate("States.Hash('abc', 'CRC32')", &json!({}), &json!({})).unwrap_err();
        assert!(err.cause.contains("unsupported algorithm"), "{}", err.cause);
    }

    /// AWS "Intrinsic functions": the characters ' { } and the backslash are
    /// escaped with a backslash in a string literal, so in States.Format a
    /// written `\\` is one backslash and `\{` a literal brace.
    #[test]
    fn format_keeps_an_escaped_backslash_once() {
        assert_eq!(ev(r"States.Format('a\\b {}', 'x')"), json!(r"a\b x"));
        assert_eq!(ev(r"States.Format('\\{}', 'x')"), json!(r"\x"));
        assert_eq!(ev(r"States.Format('{}', 'c\\d')"), json!(r"c\d"));
        assert_eq!(ev(r"States.StringSplit('a\\b', '\\')"), json!(["a", "b"]));
    }
}
