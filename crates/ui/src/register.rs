//! The record of processing activities (Art. 30) as a document: the rows of its cover and of
//! one sheet per activity, laid out like the CNIL's register model. `vigie_app` fills them from
//! the register; the HTML export renders them with `register/register.html` (a file that stands
//! alone: the stylesheet inlined), the XLSX export writes the same rows.

use crate::Tr;
use askama::Template;

/// One row of a sheet: the heading of a part, or a label and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    Part(String),
    Field { label: String, value: String },
    Count { label: String, value: i64 },
}

/// One processing activity's sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sheet {
    /// The anchor (the activity's reference).
    pub id: String,
    pub name: String,
    pub rows: Vec<Row>,
}

/// One line of the erasures made, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub month: String,
    pub kind: String,
    pub rule: String,
    pub count: i64,
}

/// The register as one page.
#[derive(Template)]
#[template(path = "register/register.html")]
pub struct RegisterPage {
    pub t: Tr,
    pub standalone: bool,
    pub controller: String,
    /// What the register is, when and from what it was generated.
    pub intro: String,
    pub cover: Vec<Row>,
    pub sheets: Vec<Sheet>,
    pub erasures: Vec<Erasure>,
    /// The policy's assumptions, in words.
    pub assumptions: Vec<String>,
}
