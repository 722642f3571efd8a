//! The policy loader fed arbitrary text and mutations of the default policy: never a panic;
//! a policy is returned exactly when no diagnostic is an error, and every diagnostic points
//! inside the text. Bounded for CI; run longer with e.g.
//! `PROPTEST_CASES=100000 cargo test -p vigie-domain fuzz_policy`.

use super::{DEFAULT_POLICY, Policy, Severity};
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn assert_checked(text: &str) -> Result<(), TestCaseError> {
    let checked = Policy::from_toml(text);
    let errors = checked.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    prop_assert_eq!(checked.policy.is_some(), errors == 0, "{:?}", checked.diagnostics);
    let lines = text.split('\n').count();
    for d in &checked.diagnostics {
        prop_assert!(d.line >= 1 && d.line <= lines && d.column >= 1, "{d:?} in {lines} lines");
        prop_assert!(!d.message.is_empty());
    }
    Ok(())
}

/// Values a policy key may be given, wrong ones above all.
const VALUES: &[&str] = &[
    "\"\"",
    "0",
    "-1",
    "5",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "nan",
    "inf",
    "true",
    "[]",
    "{}",
    "[[]]",
    "\"9999-12-31\"",
    "0000-00-00",
    "2024-02-30",
    "9999-12-31T23:59:59Z",
    "\"\u{202e}\u{0}x\"",
    "\"a\\u0000b\"",
    "'''multi\nline'''",
    "\"x\"",
];

/// The default policy with one to four edits: a line dropped, doubled or moved, a value
/// replaced, bytes inserted, the text cut short.
fn mutated_default() -> impl Strategy<Value = String> {
    let edit = prop_oneof![
        any::<prop::sample::Index>().prop_map(Edit::Drop),
        any::<prop::sample::Index>().prop_map(Edit::Double),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<prop::sample::Index>(), prop::sample::select(VALUES.to_vec())).prop_map(|(i, v)| Edit::Value(i, v)),
        (any::<prop::sample::Index>(), any::<String>()).prop_map(|(i, s)| Edit::Insert(i, s)),
        any::<prop::sample::Index>().prop_map(Edit::Cut),
    ];
    prop::collection::vec(edit, 1..5).prop_map(|edits| {
        let mut lines: Vec<String> = DEFAULT_POLICY.lines().map(str::to_string).collect();
        for edit in edits {
            if lines.is_empty() {
                break;
            }
            match edit {
                Edit::Drop(i) => {
                    lines.remove(i.index(lines.len()));
                }
                Edit::Double(i) => {
                    let i = i.index(lines.len());
                    lines.insert(i, lines[i].clone());
                }
                Edit::Swap(a, b) => {
                    let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                    lines.swap(a, b);
                }
                Edit::Value(i, v) => {
                    let i = i.index(lines.len());
                    if let Some((key, _)) = lines[i].split_once(" = ") {
                        lines[i] = format!("{key} = {v}");
                    }
                }
                Edit::Insert(i, s) => {
                    let i = i.index(lines.len());
                    let at = lines[i].char_indices().map(|(k, _)| k).nth(s.len() % 7).unwrap_or(lines[i].len());
                    lines[i].insert_str(at, &s);
                }
                Edit::Cut(i) => lines.truncate(i.index(lines.len())),
            }
        }
        lines.join("\n")
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Drop(prop::sample::Index),
    Double(prop::sample::Index),
    Swap(prop::sample::Index, prop::sample::Index),
    Value(prop::sample::Index, &'static str),
    Insert(prop::sample::Index, String),
    Cut(prop::sample::Index),
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn fuzz_policy_arbitrary_text(text in any::<String>()) {
        assert_checked(&text)?;
    }

    #[test]
    fn fuzz_policy_toml_shaped_text(text in "(\\[{1,2}[a-z_.]{0,12}\\]{1,2}\n|[a-z_]{1,12} = (\"[^\"\n]{0,8}\"|-?[0-9]{1,22}|\\[[0-9a-z\", ]{0,12}\\]|true)\n|#[^\n]{0,10}\n){0,12}") {
        assert_checked(&text)?;
    }

    #[test]
    fn fuzz_policy_mutations_of_the_default(text in mutated_default()) {
        assert_checked(&text)?;
    }
}
