//! The views of `/console/register` (filled by `web/src/console/register.rs`): the Art. 30
//! register as its standalone export shows it (`register/body.html`, the same rows), within the
//! shell, with links to its exports.

use super::Shell;
use crate::Tr;
use crate::register::{Erasure, RegisterPage, Row, Sheet};
use askama::Template;

/// One export of the register: where to download it, its format's name.
#[derive(Clone, Debug)]
pub struct Export {
    pub href: &'static str,
    /// The sentence key of its format (`console_register.xlsx`).
    pub label: &'static str,
}

/// The exports the page links to, in the order shown.
pub const EXPORTS: &[Export] = &[
    Export { href: "/console/register/export.xlsx", label: "console_register.xlsx" },
    Export { href: "/console/register/export.csv", label: "console_register.csv" },
    Export { href: "/console/register/export.json", label: "console_register.json" },
    Export { href: "/console/register/export.html", label: "console_register.html" },
];

/// `GET /console/register` (DPO, auditor): the register, its exports.
#[derive(Template)]
#[template(path = "console/register/page.html")]
pub struct RegisterConsole {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub exports: &'static [Export],
    // The register's own model (`crate::register::RegisterPage`), for `register/body.html`.
    pub controller: String,
    pub intro: String,
    pub cover: Vec<Row>,
    pub sheets: Vec<Sheet>,
    pub erasures: Vec<Erasure>,
    pub assumptions: Vec<String>,
}

impl RegisterConsole {
    /// The register's page within the shell.
    pub fn new(shell: Shell, page: RegisterPage) -> RegisterConsole {
        RegisterConsole {
            t: page.t,
            standalone: false,
            shell,
            exports: EXPORTS,
            controller: page.controller,
            intro: page.intro,
            cover: page.cover,
            sheets: page.sheets,
            erasures: page.erasures,
            assumptions: page.assumptions,
        }
    }
}
