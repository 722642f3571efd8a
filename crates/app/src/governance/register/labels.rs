//! The register's words, from the catalogues of `vigie-ui`: kinds, bases, categories, roles,
//! durations, safeguards, assumptions.

use super::*;

pub(super) fn kind_label(k: SubjectKind) -> Label {
    Label::key(&format!("register.kind.{}", k.as_str()))
}

pub(super) fn kind_description(k: SubjectKind) -> Label {
    Label::key(&format!("register.kind.{}_description", k.as_str()))
}

pub(super) fn basis_label(b: LegalBasis) -> Label {
    Label::key(&format!("register.basis.{}", b.as_str()))
}

/// A category's name and what it holds.
pub(super) fn category(id: CategoryId) -> DataCategoryEntry {
    DataCategoryEntry {
        id,
        label: Label::key(&format!("register.category.{}", id.as_str())),
        detail: Label::key(&format!("register.category.{}_detail", id.as_str())),
    }
}

pub(super) fn category_of(c: vigie_domain::policy::DataCategory) -> CategoryId {
    use vigie_domain::policy::DataCategory as D;
    match c {
        D::Identity => CategoryId::Identity,
        D::Contact => CategoryId::Contact,
        D::Professional => CategoryId::Professional,
        D::Notes => CategoryId::Notes,
        D::Contract => CategoryId::Contract,
        D::Interactions => CategoryId::Interactions,
    }
}

pub(super) fn role_label(kind: RecipientKind, role: Option<&str>) -> Label {
    match (kind, role) {
        (RecipientKind::Internal, _) => Label::key("register.role.internal"),
        (_, Some(r @ ("processor" | "service_provider" | "partner"))) => Label::key(&format!("register.role.{r}")),
        // A role the catalogues do not know is the policy's own word.
        (_, Some(other)) => Label::same(other),
        (_, None) => Label::key("register.role.external"),
    }
}

pub(super) fn years(t: Tr, n: u32) -> String {
    t.n("common.years", i64::from(n))
}

/// A retention period of `n` years, in the sentence `key` (`{years}`).
pub(super) fn years_label(key: &str, n: u32) -> Label {
    Label::with(|t| t.f(key, &[("years", &years(t, n))]))
}

pub(super) fn retention_label(basis: RetentionBasis, n: u32) -> Label {
    years_label(&format!("register.retention.{}", basis.as_str()), n)
}

/// An erasure's retention rule in words (the rule as the tombstone records it).
pub(super) fn rule_label(t: Tr, rule: &str) -> String {
    match rule.parse::<RetentionBasis>() {
        Ok(b) => t.t(&format!("register.retention.rule_{}", b.as_str())).to_string(),
        Err(_) => rule.to_string(),
    }
}

/// An erasure's kind of subject in words.
pub(super) fn kind_words(t: Tr, kind: &str) -> String {
    kind.parse::<SubjectKind>().map_or_else(|_| kind.to_string(), |k| kind_label(k).get(t.lang()).to_string())
}

/// A safeguard in words, with its date and, where recorded, its document's reference.
pub(super) fn safeguard_label(kind: SafeguardKind, on: NaiveDate, reference: Option<&str>) -> Label {
    Label::with(|t| {
        let what = t.f(&format!("register.transfer.{}", kind.as_str()), &[("date", &t.date(&on))]);
        match reference {
            Some(r) => t.f("register.transfer.reference", &[("safeguard", &what), ("reference", r)]),
            None => what,
        }
    })
}

/// An assumption of the policy in words: the field and what it belongs to, never its path.
pub(super) fn assumption_label(policy: &Policy, path: &str) -> Label {
    let parts: Vec<&str> = path.split('.').collect();
    let field = |t: Tr, f: &str| {
        let key = format!("register.assumption.{f}");
        if vigie_ui::has(&key) { t.t(&key).to_string() } else { f.replace('_', " ") }
    };
    match parts.as_slice() {
        ["purposes", id, f] => {
            let name = policy.purpose(id).map(|p| p.name.clone());
            Label::with(|t| {
                let name = name.as_ref().map_or_else(|| id.to_string(), |n| t.of(n).to_string());
                t.f("register.assumption.purpose", &[("name", &name), ("field", &field(t, f))])
            })
        }
        ["recipients", id, f] => {
            let name = policy.recipient(id).map(|r| r.name.clone());
            Label::with(|t| {
                let name = name.as_ref().map_or_else(|| id.to_string(), |n| t.of(n).to_string());
                t.f("register.assumption.recipient", &[("name", &name), ("field", &field(t, f))])
            })
        }
        _ => {
            let key = format!("register.assumption.{}", parts.join("_"));
            if vigie_ui::has(&key) { Label::key(&key) } else { Label::same(path) }
        }
    }
}
