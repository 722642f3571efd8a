//! The notice as Markdown-like text.

use super::*;

pub(super) fn text_spans(spans: &[Span], out: &mut String) -> fmt::Result {
    for s in spans {
        match s {
            Span::Text(t) => out.push_str(t),
            Span::Strong(t) => write!(out, "**{t}**")?,
            Span::Flag(t) => write!(out, "[{t}]")?,
            Span::Link { text, href } if href.strip_prefix("mailto:") == Some(text.as_str()) => out.push_str(text),
            Span::Link { text, href } => write!(out, "{text} <{href}>")?,
            Span::Time { text, .. } => out.push_str(text),
        }
    }
    Ok(())
}

pub(super) fn write_text(n: &Notice, out: &mut String) -> fmt::Result {
    writeln!(out, "# {}\n\n{}\n", n.title, n.subtitle)?;
    let blocks = |blocks: &[Block], out: &mut String| -> fmt::Result {
        for b in blocks {
            match b {
                Block::Para(spans) => {
                    text_spans(spans, out)?;
                    out.push_str("\n\n");
                }
                Block::List { items, .. } => {
                    for item in items {
                        out.push_str("- ");
                        text_spans(item, out)?;
                        out.push('\n');
                    }
                    out.push('\n');
                }
                Block::Table { caption, head, rows } => {
                    writeln!(out, "{caption}\n")?;
                    writeln!(out, "| {} |", head.join(" | "))?;
                    writeln!(out, "|{}", "---|".repeat(head.len()))?;
                    for row in rows {
                        out.push('|');
                        for cell in row {
                            let mut text = String::new();
                            text_spans(cell, &mut text)?;
                            write!(out, " {} |", text.replace('|', "\\|").replace('\n', " "))?;
                        }
                        out.push('\n');
                    }
                    out.push('\n');
                }
            }
        }
        Ok(())
    };
    blocks(&n.lead, out)?;
    for (i, s) in n.sections.iter().enumerate() {
        writeln!(out, "## {}. {}\n", i + 1, s.title)?;
        blocks(&s.blocks, out)?;
    }
    // One trailing newline, not two.
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(())
}
