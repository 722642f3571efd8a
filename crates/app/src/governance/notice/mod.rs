//! The public privacy notice (SPEC 2, 4.8, 5.1, 5.4), generated from the
//! policy and the transfer list, so that what the company tells people and
//! what Vigie enforces cannot drift apart.
//!
//! One model of the document is built per language ([`Notice`]: sections of
//! paragraphs, lists and tables, each made of [`Span`]s); two renderers write
//! it out: Markdown-like text for `vigie notice`, and a self-contained HTML5
//! page for `GET /privacy`. Nothing here invents a fact: what the policy does
//! not state is shown as "to be completed", and every field the policy lists
//! under `assumptions` as "to be confirmed". Pure functions: no IO.

use chrono::{Datelike, NaiveDate};
use std::cell::Cell;
use std::fmt::{self, Write as _};
use vigie_domain::SubjectKind;
use vigie_domain::policy::{DataCategory, LegalBasis, Localized, Policy, Purpose, Recipient, RecipientKind};
use vigie_domain::transfers::TransferList;

pub use vigie_domain::Lang;

/// The notice's own helpers on a language.
trait Pick {
    fn pick(self, fr: &'static str, en: &'static str) -> &'static str;
    fn of(self, text: &Localized) -> &str;
}

impl Pick for Lang {
    fn pick(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    fn of(self, text: &Localized) -> &str {
        match self {
            Lang::Fr => &text.fr,
            Lang::En => &text.en,
        }
    }
}

/// `format!` in the notice's language.
macro_rules! tr {
    ($lang:expr, $fr:literal, $en:literal $(,)?) => {
        match $lang {
            Lang::Fr => format!($fr),
            Lang::En => format!($en),
        }
    };
}

/// The notice as plain text (Markdown-like), for the command line.
pub fn render_text(policy: &Policy, transfers: &TransferList, lang: Lang) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_text(&build(policy, transfers, lang), &mut out);
    out
}

/// The notice as a complete, self-contained HTML5 page.
pub fn render_html(policy: &Policy, transfers: &TransferList, lang: Lang) -> String {
    let mut out = String::new();
    let _ = write_html(&build(policy, transfers, lang), &mut out);
    out
}

// ---- the model of the document ----

/// A piece of inline text.
#[derive(Debug)]
enum Span {
    Text(String),
    Strong(String),
    /// A fact the policy does not state, or only assumes.
    Flag(String),
    Link {
        text: String,
        href: String,
    },
    Time {
        date: NaiveDate,
        text: String,
    },
}

#[derive(Debug)]
enum Block {
    Para(Vec<Span>),
    /// A bulleted list; `lang` when its items are in another language than the page.
    List {
        items: Vec<Vec<Span>>,
        lang: Option<String>,
    },
    /// The first cell of each row heads that row.
    Table {
        caption: String,
        head: Vec<String>,
        rows: Vec<Vec<Vec<Span>>>,
    },
}

#[derive(Debug)]
struct Section {
    id: &'static str,
    title: String,
    blocks: Vec<Block>,
}

#[derive(Debug)]
struct Notice {
    lang: Lang,
    title: String,
    /// The controller's name, under the title.
    subtitle: String,
    lead: Vec<Block>,
    sections: Vec<Section>,
}

/// A run of spans, built fluently.
#[derive(Default)]
struct Line(Vec<Span>);

impl Line {
    fn t(mut self, s: impl Into<String>) -> Line {
        self.0.push(Span::Text(s.into()));
        self
    }
    fn b(mut self, s: impl Into<String>) -> Line {
        self.0.push(Span::Strong(s.into()));
        self
    }
    fn span(mut self, s: Span) -> Line {
        self.0.push(s);
        self
    }
    /// Appends a flag, after a space, when there is one.
    fn flag(self, f: Option<Span>) -> Line {
        match f {
            Some(f) => self.t(" ").span(f),
            None => self,
        }
    }
    fn para(self) -> Block {
        Block::Para(self.0)
    }
}

fn list(items: Vec<Line>) -> Block {
    Block::List { items: items.into_iter().map(|l| l.0).collect(), lang: None }
}

/// What the builder reads, and whether it has flagged anything.
struct Ctx<'a> {
    p: &'a Policy,
    transfers: &'a TransferList,
    lang: Lang,
    flagged: Cell<bool>,
}

impl Ctx<'_> {
    /// "to be confirmed", when the policy lists `path` among its assumptions.
    fn assumed(&self, path: &str) -> Option<Span> {
        self.p.assumptions.iter().any(|a| a == path).then(|| {
            self.flagged.set(true);
            Span::Flag(self.lang.pick("à confirmer", "to be confirmed").into())
        })
    }

    /// "to be completed", for a fact the policy does not state.
    fn missing(&self) -> Span {
        self.flagged.set(true);
        Span::Flag(self.lang.pick("à compléter", "to be completed").into())
    }

    fn date(&self, date: NaiveDate) -> Span {
        Span::Time { date, text: long_date(self.lang, date) }
    }

    fn quote(&self, s: &str) -> String {
        match self.lang {
            Lang::Fr => format!("« {s} »"),
            Lang::En => format!("“{s}”"),
        }
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
                    Some(self.quote(self.lang.of(&p.name)))
                } else {
                    let kinds: Vec<&str> = kinds.iter().map(|k| kind_plural(self.lang, *k)).collect();
                    Some(format!("{} ({})", self.quote(self.lang.of(&p.name)), kinds.join(", ")))
                }
            })
            .collect()
    }

    fn purpose_names(&self, ids: &[String]) -> String {
        let names: Vec<String> = ids
            .iter()
            .map(|id| self.p.purpose(id).map_or_else(|| id.clone(), |p| self.quote(self.lang.of(&p.name))))
            .collect();
        join(self.lang, &names)
    }

    fn country(&self, code: &str) -> String {
        country_name(self.lang, code, self.transfers)
    }
}

mod html;
mod sections;
#[cfg(test)]
mod tests;
mod text;
mod vocabulary;

use self::{html::*, sections::*, text::*, vocabulary::*};
