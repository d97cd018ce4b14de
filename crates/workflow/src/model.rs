//! The shapes the description is written in: a machine whose states keep
//! their order, the definition's own state types (Task, Pass, Wait, Fail,
//! Succeed), typed Choice rules and an inline Map. Each serialises as
//! Amazon States Language, fields in reading order.

use lifeboat_core::ErrorName;
use lifeboat_states::definition::{Catcher, FailState, PassState, SucceedState, TaskState, WaitState};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Value, json};

/// A state machine, or a Map's item processor: its states in the order
/// they are declared, which is the order the file shows them.
#[derive(Debug, Clone)]
pub struct Machine {
    pub comment: Option<String>,
    pub start_at: String,
    /// The execution's limit (top level only).
    pub timeout_seconds: Option<u64>,
    pub states: Vec<(String, Node)>,
}

impl Machine {
    pub fn new(start_at: &str) -> Machine {
        Machine {
            comment: None,
            start_at: start_at.to_string(),
            timeout_seconds: None,
            states: Vec::new(),
        }
    }

    /// Adds a state; a name used twice is a mistake in the description.
    pub fn add(&mut self, name: &str, state: impl Into<Node>) {
        assert!(
            !self.states.iter().any(|(n, _)| n == name),
            "state {name} declared twice"
        );
        self.states.push((name.to_string(), state.into()));
    }
}

/// One state.
#[derive(Debug, Clone)]
pub enum Node {
    Task(TaskState),
    Pass(PassState),
    Wait(WaitState),
    Fail(FailState),
    Succeed(SucceedState),
    Choice(Choice),
    Map(Box<MapNode>),
}

macro_rules! into_node {
    ($($ty:ty => $variant:ident),+ $(,)?) => {
        $(impl From<$ty> for Node {
            fn from(s: $ty) -> Node {
                Node::$variant(s)
            }
        })+
    };
}
into_node!(TaskState => Task, PassState => Pass, WaitState => Wait, FailState => Fail, SucceedState => Succeed, Choice => Choice);

impl From<MapNode> for Node {
    fn from(m: MapNode) -> Node {
        Node::Map(Box::new(m))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Task(t) => t.serialize(s),
            Node::Pass(p) => p.serialize(s),
            Node::Wait(w) => w.serialize(s),
            Node::Fail(f) => f.serialize(s),
            Node::Succeed(x) => x.serialize(s),
            Node::Choice(c) => c.serialize(s),
            Node::Map(m) => m.serialize(s),
        }
    }
}

/// `States`: a JSON object whose keys keep the declaration order.
struct States<'a>(&'a [(String, Node)]);

impl Serialize for States<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, node) in self.0 {
            map.serialize_entry(name, node)?;
        }
        map.end()
    }
}

impl Serialize for Machine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(c) = &self.comment {
            map.serialize_entry("Comment", c)?;
        }
        map.serialize_entry("StartAt", &self.start_at)?;
        if let Some(t) = self.timeout_seconds {
            map.serialize_entry("TimeoutSeconds", &t)?;
        }
        map.serialize_entry("States", &States(&self.states))?;
        map.end()
    }
}

/// A Choice state with typed rules.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    pub comment: Option<String>,
    pub rules: Vec<Rule>,
    pub default: Option<String>,
}

/// Where a Choice goes when its condition holds.
#[derive(Debug, Clone)]
pub struct Rule {
    pub when: When,
    pub next: String,
}

/// A rule's condition: one comparison, or any of several.
#[derive(Debug, Clone)]
pub enum When {
    Is(Condition),
    AnyOf(Vec<Condition>),
}

/// One comparison of the value at `variable`.
#[derive(Debug, Clone)]
pub struct Condition {
    pub variable: String,
    pub test: Test,
}

/// The comparison operators this workflow uses.
#[derive(Debug, Clone)]
pub enum Test {
    IsPresent(bool),
    IsNull(bool),
    BooleanEquals(bool),
    NumericEquals(u64),
    NumericGreaterThan(u64),
    StringEquals(String),
}

impl From<Condition> for When {
    fn from(c: Condition) -> When {
        When::Is(c)
    }
}

impl Condition {
    fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("Variable", &self.variable)?;
        match &self.test {
            Test::IsPresent(b) => map.serialize_entry("IsPresent", b),
            Test::IsNull(b) => map.serialize_entry("IsNull", b),
            Test::BooleanEquals(b) => map.serialize_entry("BooleanEquals", b),
            Test::NumericEquals(n) => map.serialize_entry("NumericEquals", n),
            Test::NumericGreaterThan(n) => map.serialize_entry("NumericGreaterThan", n),
            Test::StringEquals(v) => map.serialize_entry("StringEquals", v),
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        self.write(&mut map)?;
        map.end()
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match &self.when {
            When::Is(c) => c.write(&mut map)?,
            When::AnyOf(cs) => map.serialize_entry("Or", cs)?,
        }
        map.serialize_entry("Next", &self.next)?;
        map.end()
    }
}

impl Serialize for Choice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("Type", "Choice")?;
        if let Some(c) = &self.comment {
            map.serialize_entry("Comment", c)?;
        }
        map.serialize_entry("Choices", &self.rules)?;
        if let Some(d) = &self.default {
            map.serialize_entry("Default", d)?;
        }
        map.end()
    }
}

/// An inline Map: each item through `processor`, `max_concurrency` at a time.
#[derive(Debug, Clone)]
pub struct MapNode {
    pub comment: Option<String>,
    pub items_path: String,
    pub max_concurrency: u32,
    pub item_selector: Value,
    pub processor: Machine,
    pub result_path: Option<Value>,
    /// None: the Map ends its machine.
    pub next: Option<String>,
    pub catch: Vec<Catcher>,
}

/// An item processor: INLINE, then the machine's own fields.
struct Processor<'a>(&'a Machine);

impl Serialize for Processor<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("ProcessorConfig", &json!({"Mode": "INLINE"}))?;
        map.serialize_entry("StartAt", &self.0.start_at)?;
        map.serialize_entry("States", &States(&self.0.states))?;
        map.end()
    }
}

impl Serialize for MapNode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("Type", "Map")?;
        if let Some(c) = &self.comment {
            map.serialize_entry("Comment", c)?;
        }
        map.serialize_entry("ItemsPath", &self.items_path)?;
        map.serialize_entry("MaxConcurrency", &self.max_concurrency)?;
        map.serialize_entry("ItemSelector", &self.item_selector)?;
        map.serialize_entry("ItemProcessor", &Processor(&self.processor))?;
        if let Some(r) = &self.result_path {
            map.serialize_entry("ResultPath", r)?;
        }
        match &self.next {
            Some(n) => map.serialize_entry("Next", n)?,
            None => map.serialize_entry("End", &true)?,
        }
        if !self.catch.is_empty() {
            map.serialize_entry("Catch", &self.catch)?;
        }
        map.end()
    }
}

// Small constructors, so the description reads as the states it declares.

pub fn text(s: &str) -> Option<String> {
    Some(s.to_string())
}

pub fn to(next: &str) -> Option<String> {
    Some(next.to_string())
}

pub fn rule(when: impl Into<When>, next: &str) -> Rule {
    Rule {
        when: when.into(),
        next: next.to_string(),
    }
}

pub fn any_of<const N: usize>(conditions: [Condition; N]) -> When {
    When::AnyOf(conditions.into())
}

fn condition(variable: &str, test: Test) -> Condition {
    Condition {
        variable: variable.to_string(),
        test,
    }
}

pub fn is_present(variable: &str) -> Condition {
    condition(variable, Test::IsPresent(true))
}

pub fn is_not_null(variable: &str) -> Condition {
    condition(variable, Test::IsNull(false))
}

pub fn is_true(variable: &str) -> Condition {
    condition(variable, Test::BooleanEquals(true))
}

pub fn equals(variable: &str, n: u64) -> Condition {
    condition(variable, Test::NumericEquals(n))
}

pub fn above_zero(variable: &str) -> Condition {
    condition(variable, Test::NumericGreaterThan(0))
}

pub fn string_is(variable: &str, value: &str) -> Condition {
    condition(variable, Test::StringEquals(value.to_string()))
}

/// Catches `errors`, puts the error at `result_path`, goes to `next`.
pub fn catch(errors: &[ErrorName], result_path: &str, next: &str) -> Catcher {
    Catcher {
        error_equals: errors.iter().map(|e| e.as_str().to_string()).collect(),
        result_path: Some(Value::String(result_path.to_string())),
        next: next.to_string(),
        comment: None,
    }
}

/// Catches every error (`States.ALL`).
pub fn catch_all(result_path: &str, next: &str) -> Catcher {
    Catcher {
        error_equals: vec!["States.ALL".to_string()],
        ..catch(&[], result_path, next)
    }
}

pub fn pass() -> PassState {
    PassState {
        kind: "Pass".into(),
        ..Default::default()
    }
}

pub fn wait() -> WaitState {
    WaitState {
        kind: "Wait".into(),
        ..Default::default()
    }
}

pub fn fail() -> FailState {
    FailState {
        kind: "Fail".into(),
        ..Default::default()
    }
}

pub fn succeed() -> SucceedState {
    SucceedState {
        kind: "Succeed".into(),
        ..Default::default()
    }
}
