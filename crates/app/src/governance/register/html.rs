//! The register as one HTML page that stands alone (the stylesheet inlined: the export is a file).

use super::*;
use vigie_ui::Template;
use vigie_ui::register::{Erasure, RegisterPage, Sheet};

/// The register as an HTML page in `lang`, on the layout of every Vigie page.
pub fn to_html(reg: &Register, lang: Lang) -> vigie_ui::Rendered {
    page(reg, lang).render()
}

/// The register's page model in `lang` (what the HTML export renders; the console shows the same
/// rows within its shell).
pub fn page(reg: &Register, lang: Lang) -> RegisterPage {
    let t = Tr(lang);
    RegisterPage {
        t,
        standalone: true,
        controller: reg.controller.name.clone(),
        intro: t.f(
            "register.intro",
            &[
                ("at", &when(reg.generated_at)),
                ("version", &reg.policy_version),
                ("date", &reg.policy_effective_date.to_string()),
            ],
        ),
        cover: cover_rows(t, reg),
        sheets: reg
            .activities
            .iter()
            .map(|a| Sheet { id: a.id.clone(), name: a.name.get(lang).to_string(), rows: activity_rows(t, reg, a) })
            .collect(),
        erasures: reg
            .totals
            .erasures
            .iter()
            .map(|e| Erasure {
                month: e.month.clone(),
                kind: kind_words(t, &e.kind),
                rule: rule_label(t, &e.rule),
                count: e.count,
            })
            .collect(),
        assumptions: reg.assumptions.iter().map(|a| a.label.get(lang).to_string()).collect(),
    }
}
