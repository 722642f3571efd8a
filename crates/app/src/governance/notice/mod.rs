//! The public privacy notice (SPEC 2, 4.8, 5.1, 5.4; GDPR Arts. 13, 14 and 21(4)), generated
//! from the policy and the transfer list, so that what the company tells people and what Vigie
//! enforces cannot drift apart.
//!
//! [`build`] makes one model of the document per language (`vigie_ui::notice::Notice`: sections
//! of paragraphs, headings, lists and tables, each made of spans), every sentence taken from the
//! catalogues of `vigie-ui`; the templates of `vigie-ui` write it out: Markdown-like text for
//! `vigie notice`, an HTML page on the public layout for `GET /privacy`. Nothing here invents a
//! fact: what the policy does not state is shown as "to be completed", and every field the
//! policy lists under `assumptions` as "to be confirmed". Pure functions: no IO.

use chrono::NaiveDate;
use std::cell::Cell;
use vigie_domain::SubjectKind;
use vigie_domain::policy::{LegalBasis, Localized, Policy, Purpose, Recipient, RecipientKind};
use vigie_domain::transfers::TransferList;
use vigie_ui::notice::{Block, Notice, NoticePage, NoticeText, Rich, Section, Span};
use vigie_ui::{Rendered, Template, Tr};

pub use vigie_domain::Lang;

/// The notice as plain text (Markdown-like), for the command line: one trailing newline.
pub fn render_text(policy: &Policy, transfers: &TransferList, lang: Lang) -> Rendered {
    let notice = build(policy, transfers, lang);
    let text = NoticeText { t: Tr(lang), notice: &notice }.render()?;
    Ok(format!("{}\n", text.trim_end()))
}

/// The notice as the page `GET /privacy` serves (the stylesheet linked, not inlined).
pub fn render_html(policy: &Policy, transfers: &TransferList, lang: Lang) -> Rendered {
    let notice = build(policy, transfers, lang);
    page(policy, &notice, lang).render()
}

/// The page of a notice built by [`build`].
pub fn page<'a>(policy: &'a Policy, notice: &'a Notice, lang: Lang) -> NoticePage<'a> {
    NoticePage { t: Tr(lang), standalone: false, controller: &policy.controller.name, notice }
}

/// What the builder reads, and whether it has flagged anything.
struct Ctx<'a> {
    p: &'a Policy,
    transfers: &'a TransferList,
    t: Tr,
    flagged: Cell<bool>,
}

/// Spans: a text.
fn text(s: impl Into<String>) -> Vec<Span> {
    vec![Span::Text(s.into())]
}

/// Spans: a text in bold.
fn strong(s: impl Into<String>) -> Vec<Span> {
    vec![Span::Strong(s.into())]
}

/// Spans followed, after a space, by a flag when there is one.
fn flagged(mut spans: Vec<Span>, flag: Option<Span>) -> Vec<Span> {
    if let Some(f) = flag {
        spans.push(Span::Text(" ".into()));
        spans.push(f);
    }
    spans
}

fn list(items: Vec<Rich>) -> Block {
    Block::List { items, lang: None }
}

impl Ctx<'_> {
    /// A sentence of the catalogues with spans for its placeholders.
    fn s(&self, key: &str, args: &[(&str, Vec<Span>)]) -> Rich {
        Rich::sentence(self.t.t(key), args)
    }

    /// A paragraph of one sentence.
    fn para(&self, key: &str, args: &[(&str, Vec<Span>)]) -> Block {
        Block::Para(self.s(key, args))
    }

    /// A bold name followed by a sentence: a list item such as "**access**: to know…".
    fn item(&self, name: &str, rest: &str, args: &[(&str, Vec<Span>)]) -> Rich {
        let mut spans = strong(self.t.t(name));
        spans.extend(self.s(rest, args).0);
        Rich(spans)
    }

    /// "to be confirmed", when the policy lists `path` among its assumptions.
    fn assumed(&self, path: &str) -> Option<Span> {
        self.p.assumptions.iter().any(|a| a == path).then(|| {
            self.flagged.set(true);
            Span::Flag(self.t.t("notice.assumed").into())
        })
    }

    /// "to be completed", for a fact the policy does not state.
    fn missing(&self) -> Vec<Span> {
        self.flagged.set(true);
        vec![Span::Flag(self.t.t("notice.missing").into())]
    }

    /// A text of the policy, flagged when it is an assumption; "to be completed" when absent.
    fn stated(&self, text: Option<&Localized>, path: &str) -> Option<Vec<Span>> {
        text.map(|x| flagged(self.text_of(x), self.assumed(path)))
    }

    fn text_of(&self, text: &Localized) -> Vec<Span> {
        vec![Span::Text(self.t.of(text).to_string())]
    }

    fn date(&self, date: NaiveDate) -> Vec<Span> {
        vec![Span::Time { date, text: self.t.date(&date) }]
    }

    fn quote(&self, s: &str) -> String {
        self.t.f("notice.quote", &[("text", s)])
    }

    fn name_of(&self, purpose: &Purpose) -> String {
        self.quote(self.t.of(&purpose.name))
    }

    /// ", namely a, b and c", or nothing for no name.
    fn namely(&self, names: &[String]) -> Vec<Span> {
        if names.is_empty() { Vec::new() } else { text(self.t.f("notice.namely", &[("list", &self.join(names))])) }
    }

    /// The quoted names of the purposes one of whose bases is `basis`,
    /// each followed by the subject kinds it applies to when not all.
    fn purposes_on(&self, basis: LegalBasis) -> Vec<String> {
        self.p
            .purposes
            .iter()
            .filter_map(|p| {
                let kinds: Vec<SubjectKind> = p.bases.iter().filter(|(_, b)| **b == basis).map(|(k, _)| *k).collect();
                if kinds.is_empty() {
                    None
                } else if kinds.len() == SubjectKind::ALL.len() {
                    Some(self.name_of(p))
                } else {
                    let kinds: Vec<&str> = kinds.iter().map(|k| kind_plural(self.t, *k)).collect();
                    Some(format!("{} ({})", self.name_of(p), kinds.join(", ")))
                }
            })
            .collect()
    }

    fn purpose_names(&self, ids: &[String]) -> String {
        let names: Vec<String> =
            ids.iter().map(|id| self.p.purpose(id).map_or_else(|| id.clone(), |p| self.name_of(p))).collect();
        self.join(&names)
    }

    fn join(&self, items: &[String]) -> String {
        join(self.t, items)
    }

    fn country(&self, code: &str) -> String {
        country_name(self.t, code, self.transfers)
    }
}

mod sections;
#[cfg(test)]
mod tests;
mod vocabulary;

pub use self::sections::build;
use self::vocabulary::*;
