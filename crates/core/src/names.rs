//! Closed sets of names (error names, actions, statuses, task kinds): each
//! name written once, beside its variant, and everything else (the serde
//! form, `as_str`, `parse`, `Display`, the list of all) generated from it.

/// A name that is not one of a closed set: says which were expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{given}\" is not one of {}", expected.join(", "))]
pub struct UnknownName {
    pub given: String,
    pub expected: &'static [&'static str],
}

/// Declares an enum whose variants each carry their one spelling:
///
/// ```
/// lifeboat_core::closed_names! {
///     /// What the run does.
///     pub enum Verb {
///         Go = "go",
///         Stop = "stop",
///     }
/// }
/// assert_eq!(Verb::Go.as_str(), "go");
/// assert_eq!("stop".parse::<Verb>(), Ok(Verb::Stop));
/// assert_eq!(serde_json::to_string(&Verb::Go).unwrap(), "\"go\"");
/// assert_eq!(Verb::NAMES, ["go", "stop"]);
/// ```
///
/// Serde derives its form from the same spelling (`#[serde(rename)]`), so
/// its error messages ("unknown variant ..., expected one of ...") and a
/// derived JSON Schema stay what a derived enum gives. More derives and
/// attributes may follow the doc comment.
#[macro_export]
macro_rules! closed_names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $text:literal
            ),+ $(,)?
        }
    ) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        $(#[$meta])*
        $vis enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                $variant
            ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name as the wire (ASL, JSON, the journal) spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant spelled `text`, if any.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::parse(text).ok_or_else(|| $crate::names::UnknownName {
                    given: text.to_string(),
                    expected: $name::NAMES,
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::closed_names! {
        /// A test set.
        #[derive(Default)]
        pub enum Sample {
            /// The first.
            #[default]
            First = "first-one",
            Second = "Sample.Second",
        }
    }

    #[test]
    fn each_spelling_is_the_same_everywhere() {
        for (v, n) in Sample::ALL.iter().zip(Sample::NAMES) {
            assert_eq!(v.as_str(), *n);
            assert_eq!(v.to_string(), *n);
            assert_eq!(Sample::parse(n), Some(*v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(n));
            assert_eq!(serde_json::from_value::<Sample>(serde_json::json!(n)).unwrap(), *v);
        }
        assert_eq!(Sample::default(), Sample::First);
    }

    #[test]
    fn an_unknown_name_says_which_are_known() {
        assert_eq!(Sample::parse("first"), None);
        let e = "first".parse::<Sample>().unwrap_err();
        assert_eq!(e.to_string(), "\"first\" is not one of first-one, Sample.Second");
        let e = serde_json::from_value::<Sample>(serde_json::json!("x")).unwrap_err();
        assert!(e.to_string().contains("expected `first-one` or `Sample.Second`"), "{e}");
    }
}
