//! Translations: every fixed sentence of Vigie's pages and documents, in French and English,
//! from `locales/{fr,en}.toml` (nested tables, read as dotted keys: `[form] title = …` is
//! `form.title`). A sentence may hold `{name}` placeholders, filled by [`Tr::f`].

use crate::Lang;
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;
use std::sync::LazyLock;
use vigie_domain::policy::Localized;

const FR: &str = include_str!("../locales/fr.toml");
const EN: &str = include_str!("../locales/en.toml");

type Catalog = HashMap<String, String>;

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            // A catalogue holds sentences only; anything else is a mistake a test reports.
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn load(text: &str) -> Catalog {
    let mut out = Catalog::new();
    // The catalogues are compiled in and checked by the tests below: a parse error cannot ship.
    if let Ok(table) = text.parse::<toml::Table>() {
        flatten("", &table, &mut out);
    }
    out
}

static CATALOGS: LazyLock<[Catalog; 2]> = LazyLock::new(|| [load(FR), load(EN)]);

fn catalog(lang: Lang) -> &'static Catalog {
    &CATALOGS[match lang {
        Lang::Fr => 0,
        Lang::En => 1,
    }]
}

/// Whether a key exists (in both languages: a test keeps them equal).
pub fn has(key: &str) -> bool {
    catalog(Lang::Fr).contains_key(key)
}

/// The translator a template holds: `{{ t.t("form.title") }}`, `{{ t.f("form.intro", [("controller", name)]) }}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn lang(&self) -> Lang {
        self.0
    }

    /// `fr` or `en`, for `lang` attributes and links.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The other language's code, for the language switch.
    pub fn other(&self) -> &'static str {
        self.0.other().code()
    }

    /// A fixed sentence. A missing key (which the tests forbid) shows as a visible mark, never as nothing.
    pub fn t(&self, key: &str) -> &'static str {
        catalog(self.0).get(key).map_or("[?]", |s| s.as_str())
    }

    /// A sentence with its `{name}` placeholders filled.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.t(key), args)
    }

    /// A sentence whose form depends on a count: `key.one` (French: 0 and 1; English: 1) or
    /// `key.other`, with `{n}` filled.
    pub fn n(&self, key: &str, n: impl std::borrow::Borrow<i64>) -> String {
        let n = *n.borrow();
        let one = match self.0 {
            Lang::Fr => n == 0 || n.abs() == 1,
            Lang::En => n.abs() == 1,
        };
        let form = format!("{key}.{}", if one { "one" } else { "other" });
        fill(self.t(&form), &[("n", &n.to_string())])
    }

    /// A text of the policy, in this language.
    pub fn of<'a>(&self, text: &'a Localized) -> &'a str {
        text.get(self.0)
    }

    /// A date in words: `30 avril 2026`, `30 April 2026` (`1er` in French).
    pub fn date(&self, d: &NaiveDate) -> String {
        let month = self.t(&format!("month.{}", d.month()));
        match (self.0, d.day()) {
            (Lang::Fr, 1) => format!("1er {month} {}", d.year()),
            _ => format!("{} {month} {}", d.day(), d.year()),
        }
    }
}

impl Tr {
    /// A time in words, in UTC: `30 avril 2026, 14:05 UTC`.
    pub fn datetime(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        format!("{}, {} UTC", self.date(&at.date_naive()), at.format("%H:%M"))
    }

    /// An optional time in words, or a dash.
    pub fn maybe_datetime(&self, at: &Option<chrono::DateTime<chrono::Utc>>) -> String {
        at.as_ref().map_or_else(|| "—".to_string(), |a| self.datetime(a))
    }
}

/// Fills `{name}` placeholders in one pass (a value is never read as a placeholder).
fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(text: &str) -> BTreeSet<String> {
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => unreachable!("a catalogue does not parse: {e}"),
        };
        let mut out = Catalog::new();
        flatten("", &table, &mut out);
        out.into_keys().collect()
    }

    #[test]
    fn both_languages_have_the_same_sentences() {
        let (fr, en) = (keys(FR), keys(EN));
        let only_fr: Vec<_> = fr.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&fr).collect();
        assert!(only_fr.is_empty() && only_en.is_empty(), "only in fr: {only_fr:?}; only in en: {only_en:?}");
    }

    #[test]
    fn every_entry_is_a_sentence() {
        for text in [FR, EN] {
            let table: toml::Table = text.parse().unwrap_or_default();
            fn walk(t: &toml::Table, path: &str) {
                for (k, v) in t {
                    match v {
                        toml::Value::Table(t) => walk(t, &format!("{path}{k}.")),
                        toml::Value::String(s) => assert!(!s.trim().is_empty(), "{path}{k} is empty"),
                        other => unreachable!("{path}{k} is not a sentence: {other}"),
                    }
                }
            }
            walk(&table, "");
        }
    }

    /// Every `t.t("…")`, `t.f("…"`, `t.n("…"` of every template names a sentence that exists.
    #[test]
    fn every_key_the_templates_use_exists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut missing = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for call in ["t.t(\"", "t.f(\"", "t.n(\""] {
                    for (i, _) in text.match_indices(call) {
                        let rest = &text[i + call.len()..];
                        let key = &rest[..rest.find('"').unwrap_or(0)];
                        let exists = if call == "t.n(\"" {
                            has(&format!("{key}.one")) && has(&format!("{key}.other"))
                        } else {
                            has(key)
                        };
                        if !exists {
                            missing.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys used but not translated: {missing:?}");
    }

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(fill("à {who}, le {date}", &[("who", "{date}"), ("date", "1er mai")]), "à {date}, le 1er mai");
        assert_eq!(fill("{unknown} {", &[]), "{unknown} {");
        assert_eq!(fill("{a b}", &[("a", "x")]), "{a b}");
    }

    #[test]
    fn dates_and_counts_in_words() {
        let d = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default();
        assert_eq!(Tr(Lang::Fr).date(&d), "1er mai 2026");
        assert_eq!(Tr(Lang::En).date(&d), "1 May 2026");
        assert_eq!(Tr(Lang::Fr).n("common.days", 1), "1 jour");
        assert_eq!(Tr(Lang::Fr).n("common.days", 0), "0 jour");
        assert_eq!(Tr(Lang::En).n("common.days", 0), "0 days");
        assert_eq!(Tr(Lang::En).n("common.days", 2), "2 days");
    }
}
