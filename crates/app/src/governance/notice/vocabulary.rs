//! The words of the notice, from the catalogues: legal bases, categories, roles, durations, countries.

use super::*;
use vigie_domain::policy::DataCategory;

pub(super) fn basis_label(t: Tr, b: LegalBasis) -> &'static str {
    t.t(&format!("notice.basis.{}", b.as_str()))
}

pub(super) fn category_label(t: Tr, c: DataCategory) -> &'static str {
    t.t(&format!("notice.category.{}", c.as_str()))
}

/// A recipient's role in words; a role the catalogues do not know is the policy's own word.
pub(super) fn role_label(t: Tr, role: &str) -> String {
    let key = format!("notice.role.{role}");
    if vigie_ui::has(&key) { t.t(&key).to_string() } else { role.replace('_', " ") }
}

pub(super) fn kind_plural(t: Tr, k: SubjectKind) -> &'static str {
    t.t(&format!("notice.kind.{}", k.as_str()))
}

pub(super) fn years(t: Tr, n: u32) -> String {
    t.n("common.years", i64::from(n))
}

/// "a, b et c" / "a, b and c".
pub(super) fn join(t: Tr, items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}{}{last}", rest.join(", "), t.t("common.and")),
    }
}

/// The country's name and code, e.g. "France (FR)"; the code alone when unknown.
pub(super) fn country_name(t: Tr, code: &str, transfers: &TransferList) -> String {
    let key = format!("country.{code}");
    let name = if vigie_ui::has(&key) {
        Some(t.t(&key).to_string())
    } else {
        // The transfer list names its countries in English only.
        match t.lang() {
            Lang::En => transfers.adequacy(code).map(|a| a.name.clone()),
            Lang::Fr => None,
        }
    };
    match name {
        Some(n) => format!("{n} ({code})"),
        None => code.to_string(),
    }
}
