//! The public privacy notice (Arts. 13, 14 and 21(4)): one model of the document, filled by
//! `vigie_app::governance::notice` from the policy, and two templates that write it out:
//! `notice/notice.html` (the page at `/privacy`, on the public layout) and `notice/notice.txt`
//! (Markdown-like text, for `vigie notice`).

use crate::Tr;
use askama::Template;
use chrono::NaiveDate;

/// A piece of inline text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    Text(String),
    Strong(String),
    /// A fact the policy does not state ("to be completed"), or only assumes ("to be confirmed").
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

impl Span {
    /// The span as plain text: `**strong**`, `[flag]`, a link as its text (and its address when
    /// it is not the text itself nor a path of this site).
    pub fn plain(&self) -> String {
        match self {
            Span::Text(t) => t.clone(),
            Span::Strong(t) => format!("**{t}**"),
            Span::Flag(t) => format!("[{t}]"),
            Span::Link { text, href } if href.strip_prefix("mailto:") == Some(text.as_str()) => text.clone(),
            Span::Link { text, href } if href.starts_with('/') => text.clone(),
            Span::Link { text, href } => format!("{text} <{href}>"),
            Span::Time { text, .. } => text.clone(),
        }
    }
}

/// A run of spans: a paragraph, a list item, a table cell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rich(pub Vec<Span>);

impl Rich {
    /// A sentence of the catalogues whose `{name}` placeholders are spans: the text around them
    /// is kept as text, each placeholder replaced by its spans (unknown ones are kept as written).
    pub fn sentence(text: &str, args: &[(&str, Vec<Span>)]) -> Rich {
        let mut out = Vec::new();
        let mut rest = text;
        let mut plain = String::new();
        while let Some(open) = rest.find('{') {
            plain.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let name = after.find('}').map(|close| &after[..close]);
            match name.and_then(|n| args.iter().find(|(k, _)| *k == n)) {
                Some((name, spans)) => {
                    if !plain.is_empty() {
                        out.push(Span::Text(std::mem::take(&mut plain)));
                    }
                    out.extend(spans.iter().cloned());
                    rest = &after[name.len() + 1..];
                }
                None => {
                    plain.push('{');
                    rest = after;
                }
            }
        }
        plain.push_str(rest);
        if !plain.is_empty() {
            out.push(Span::Text(plain));
        }
        Rich(out)
    }

    pub fn spans(&self) -> &[Span] {
        &self.0
    }

    /// The run as plain text.
    pub fn plain(&self) -> String {
        self.0.iter().map(Span::plain).collect()
    }

    /// The run as one cell of a text table: no bar, no line break.
    pub fn cell(&self) -> String {
        self.plain().replace('|', "\\|").replace('\n', " ")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Para(Rich),
    /// A heading inside a section.
    Heading(String),
    /// A bulleted list; `lang` when its items are in another language than the page.
    List {
        items: Vec<Rich>,
        lang: Option<String>,
    },
    /// The first cell of each row heads that row.
    Table {
        caption: String,
        head: Vec<String>,
        rows: Vec<Vec<Rich>>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The anchor of the section (a fixed word, never a value of the policy).
    pub id: &'static str,
    pub title: String,
    pub blocks: Vec<Block>,
    /// Shown apart from the rest (the right to object, Art. 21(4)).
    pub apart: bool,
}

/// The notice, in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    /// The controller's name, under the title.
    pub subtitle: String,
    pub lead: Vec<Block>,
    pub sections: Vec<Section>,
}

/// `GET /privacy`: the notice as a page.
#[derive(Template)]
#[template(path = "notice/notice.html")]
pub struct NoticePage<'a> {
    pub t: Tr,
    pub standalone: bool,
    /// The controller's name, in the site's header.
    pub controller: &'a str,
    pub notice: &'a Notice,
}

/// `vigie notice`: the notice as text.
#[derive(Template)]
#[template(path = "notice/notice.txt")]
pub struct NoticeText<'a> {
    pub t: Tr,
    pub notice: &'a Notice,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_takes_spans_for_its_placeholders() {
        let r = Rich::sentence(
            "Le responsable est {name}, {missing} {flag}.",
            &[("name", vec![Span::Strong("MSI".into())]), ("flag", vec![Span::Flag("à confirmer".into())])],
        );
        assert_eq!(
            r.0,
            vec![
                Span::Text("Le responsable est ".into()),
                Span::Strong("MSI".into()),
                Span::Text(", {missing} ".into()),
                Span::Flag("à confirmer".into()),
                Span::Text(".".into()),
            ]
        );
        assert_eq!(r.plain(), "Le responsable est **MSI**, {missing} [à confirmer].");
        assert_eq!(Rich::sentence("{a", &[]).plain(), "{a");
    }

    #[test]
    fn links_in_plain_text() {
        let mail = Span::Link { text: "dpo@x.eu".into(), href: "mailto:dpo@x.eu".into() };
        let here = Span::Link { text: "le formulaire".into(), href: "/rights?lang=fr".into() };
        let there = Span::Link { text: "CNIL".into(), href: "https://www.cnil.fr".into() };
        assert_eq!(
            (mail.plain(), here.plain(), there.plain()),
            ("dpo@x.eu".into(), "le formulaire".into(), "CNIL <https://www.cnil.fr>".into())
        );
        assert_eq!(Rich(vec![Span::Text("a | b\nc".into())]).cell(), "a \\| b c");
    }
}
