//! HTML escaping for the documents Vigie renders (notice, register, responses).

use std::fmt;

/// Displays a string with the HTML special characters escaped (text and attribute values).
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (i, c) in self.0.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[last..i])?;
            f.write_str(rep)?;
            last = i + c.len_utf8();
        }
        f.write_str(&self.0[last..])
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    Esc(text).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_the_five_special_characters() {
        assert_eq!(super::escape("A & B <b>\"x\" 'y'</b>"), "A &amp; B &lt;b&gt;&quot;x&quot; &#39;y&#39;&lt;/b&gt;");
    }
}
