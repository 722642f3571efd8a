//! The notice as a self-contained HTML5 page.

use super::*;

use crate::render::Esc;

pub(super) fn html_spans(spans: &[Span], out: &mut String) -> fmt::Result {
    for s in spans {
        match s {
            Span::Text(t) => write!(out, "{}", Esc(t))?,
            Span::Strong(t) => write!(out, "<strong>{}</strong>", Esc(t))?,
            Span::Flag(t) => write!(out, "<em class=\"flag\">{}</em>", Esc(t))?,
            Span::Link { text, href } => write!(out, "<a href=\"{}\">{}</a>", Esc(href), Esc(text))?,
            Span::Time { date, text } => write!(out, "<time datetime=\"{date}\">{}</time>", Esc(text))?,
        }
    }
    Ok(())
}

pub(super) const CSS: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;line-height:1.55;color:#1a1a1a;background:#fff;max-width:50rem;margin:0 auto;padding:1rem 1.25rem 3rem}\
h1{font-size:1.8rem;margin-bottom:.25rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}\
.controller{font-size:1.1rem;margin-top:0;color:#444}\
nav.lang{text-align:right}a{color:#0b4f9c}a:focus{outline:3px solid #f9a825;outline-offset:2px}\
table{border-collapse:collapse;width:100%;margin:1rem 0}caption{text-align:left;font-weight:600;padding-bottom:.4rem}\
th,td{border:1px solid #bbb;padding:.4rem .55rem;text-align:left;vertical-align:top}thead th{background:#eef2f7}\
.flag{font-style:normal;font-weight:600;background:#fff1c2;color:#5c4400;padding:0 .25rem;border-radius:3px}\
footer{margin-top:3rem;font-size:.9rem;color:#444}";

pub(super) fn write_html(n: &Notice, out: &mut String) -> fmt::Result {
    let lang = n.lang;
    let other = lang.other();
    writeln!(out, "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>", lang.code())?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(out, "<title>{} — {}</title>", Esc(&n.title), Esc(&n.subtitle))?;
    writeln!(out, "<link rel=\"alternate\" hreflang=\"{0}\" href=\"?lang={0}\">", other.code())?;
    writeln!(out, "<style>{CSS}</style>\n</head>\n<body>")?;
    let (nav_label, other_label) = match lang {
        Lang::Fr => ("Langue", "English version"),
        Lang::En => ("Language", "Version française"),
    };
    writeln!(
        out,
        "<header>\n<nav class=\"lang\" aria-label=\"{nav_label}\"><a href=\"?lang={0}\" hreflang=\"{0}\" lang=\"{0}\">{other_label}</a></nav>",
        other.code()
    )?;
    writeln!(out, "<h1>{}</h1>\n<p class=\"controller\">{}</p>\n</header>\n<main>", Esc(&n.title), Esc(&n.subtitle))?;
    html_blocks(&n.lead, out)?;
    writeln!(out, "<nav aria-labelledby=\"toc\">\n<h2 id=\"toc\">{}</h2>\n<ol>", lang.pick("Sommaire", "Contents"))?;
    for s in &n.sections {
        writeln!(out, "<li><a href=\"#{}\">{}</a></li>", s.id, Esc(&s.title))?;
    }
    writeln!(out, "</ol>\n</nav>")?;
    for (i, s) in n.sections.iter().enumerate() {
        writeln!(out, "<section aria-labelledby=\"{0}\">\n<h2 id=\"{0}\">{1}. {2}</h2>", s.id, i + 1, Esc(&s.title))?;
        html_blocks(&s.blocks, out)?;
        writeln!(out, "</section>")?;
    }
    writeln!(out, "</main>\n<footer>")?;
    writeln!(
        out,
        "<p>{}</p>",
        lang.pick(
            "Notice générée à partir de notre politique de protection des données.",
            "Notice generated from our data protection policy."
        )
    )?;
    writeln!(out, "</footer>\n</body>\n</html>")
}

pub(super) fn html_blocks(blocks: &[Block], out: &mut String) -> fmt::Result {
    for b in blocks {
        match b {
            Block::Para(spans) => {
                out.push_str("<p>");
                html_spans(spans, out)?;
                out.push_str("</p>\n");
            }
            Block::List { items, lang } => {
                match lang {
                    Some(l) => writeln!(out, "<ul lang=\"{}\">", Esc(l))?,
                    None => writeln!(out, "<ul>")?,
                }
                for item in items {
                    out.push_str("<li>");
                    html_spans(item, out)?;
                    out.push_str("</li>\n");
                }
                out.push_str("</ul>\n");
            }
            Block::Table { caption, head, rows } => {
                writeln!(out, "<table>\n<caption>{}</caption>\n<thead>\n<tr>", Esc(caption))?;
                for h in head {
                    writeln!(out, "<th scope=\"col\">{}</th>", Esc(h))?;
                }
                writeln!(out, "</tr>\n</thead>\n<tbody>")?;
                for row in rows {
                    out.push_str("<tr>");
                    for (i, cell) in row.iter().enumerate() {
                        out.push_str(if i == 0 { "<th scope=\"row\">" } else { "<td>" });
                        html_spans(cell, out)?;
                        out.push_str(if i == 0 { "</th>" } else { "</td>" });
                    }
                    out.push_str("</tr>\n");
                }
                writeln!(out, "</tbody>\n</table>")?;
            }
        }
    }
    Ok(())
}
