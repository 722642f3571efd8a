//! HTML escaping for the one document still rendered by hand (`rights::document_html`, moving
//! onto the templates of `vigie-ui`, which escape every value themselves).

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_the_five_special_characters() {
        assert_eq!(super::escape("A & B <b>\"x\" 'y'</b>"), "A &amp; B &lt;b&gt;&quot;x&quot; &#39;y&#39;&lt;/b&gt;");
    }
}
