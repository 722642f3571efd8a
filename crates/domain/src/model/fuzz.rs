//! Email and phone normalisation, and every identity field's: never a panic, idempotent
//! (normalising twice is normalising once), and equivalent inputs give equal values, since the
//! blind index that finds a person is computed over them. Bounded for CI; run longer with e.g.
//! `PROPTEST_CASES=100000 cargo test -p vigie-domain fuzz_normal`.

use super::{FieldName, normalize_email, normalize_field, normalize_phone};
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// ASCII letters' case flipped where `flips` says: an equivalent address.
fn flip_case(s: &str, flips: &[bool]) -> String {
    s.chars()
        .zip(flips.iter().cycle())
        .map(|(c, &f)| {
            if f && c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else if f {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect()
}

fn email_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9._%+\\-]{1,20}@[a-zA-Z0-9\\-]{1,12}(\\.[a-zA-Z]{2,6}){1,3}",
        "[a-zA-Z0-9.\u{e9}\u{df}\u{130}\u{3a3}]{1,12}@[a-z\u{e9}\u{131}]{1,8}\\.[a-z\u{e9}]{2,4}",
        "[ \t]{0,2}[a-zA-Z.@\\-]{0,30}[ \t]{0,2}",
    ]
}

fn phone_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\+?[0-9 .()\\-\u{a0}]{0,24}",
        "0[1-9]([ .\\-]?[0-9]{2}){4}",
        "(\\+|00)[1-9][0-9]{7,14}",
    ]
}

/// A phone number written another way: separators between its digits, `00` for `+`, or the
/// French national form for a +33 number.
fn rewrite_phone(e164: &str, seps: &[usize], form: u8) -> String {
    let digits = e164.trim_start_matches('+');
    let written: String = digits
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let sep = [" ", ".", "-", "", "\u{a0}", ""][seps[i % seps.len()] % 6];
            format!("{c}{sep}")
        })
        .collect();
    let written = written.trim_end_matches([' ', '.', '-', '\u{a0}']).to_string();
    match (form, digits.strip_prefix("33")) {
        (1, _) => format!("00{written}"),
        (2, Some(national)) if national.len() == 9 => format!("0{national}"),
        _ => format!(" +{written} "),
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn fuzz_normalize_email_is_idempotent_and_case_blind(raw in email_like(), flips in prop::collection::vec(any::<bool>(), 1..8)) {
        let once = normalize_email(&raw);
        if let Ok(v) = &once {
            prop_assert_eq!(normalize_email(v), Ok(v.clone()));
            prop_assert_eq!(normalize_field(FieldName::Email, v), Ok(v.clone()));
        }
        let equivalent = format!(" \t{}\u{a0}", flip_case(&raw, &flips));
        prop_assert_eq!(normalize_email(&equivalent), once);
    }

    #[test]
    fn fuzz_normalize_phone_is_idempotent_and_form_blind(raw in phone_like(), seps in prop::collection::vec(0usize..6, 1..6), form in 0u8..3) {
        let once = normalize_phone(&raw);
        if let Ok(v) = &once {
            prop_assert_eq!(normalize_phone(v), Ok(v.clone()));
            prop_assert_eq!(normalize_field(FieldName::Phone, v), Ok(v.clone()));
            let other = rewrite_phone(v, &seps, form);
            prop_assert_eq!(normalize_phone(&other), Ok(v.clone()), "{}", other);
        }
    }

    #[test]
    fn fuzz_normalize_field_never_panics_and_is_idempotent(field in prop::sample::select(FieldName::ALL.to_vec()), raw in prop_oneof![any::<String>(), "[ \t\n]{0,2}[a-zA-Z.@+0-9 \u{e9}]{0,40}[ \t\n]{0,2}"]) {
        if let Ok(v) = normalize_field(field, &raw) {
            prop_assert_eq!(normalize_field(field, &v), Ok(v.clone()), "{}", field);
        }
    }
}
