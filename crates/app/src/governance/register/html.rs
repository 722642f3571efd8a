//! The register as a self-contained HTML page.

use super::*;

use crate::render::escape as esc;

pub(super) fn html_table(out: &mut String, lines: &[Line]) {
    out.push_str("<table>\n");
    for line in lines {
        let _ = match line {
            Line::Section(s) => {
                writeln!(out, "<tr class=\"section\"><th colspan=\"2\" scope=\"colgroup\">{}</th></tr>", esc(s))
            }
            Line::Field(k, Value::Text(v)) => {
                writeln!(out, "<tr><th scope=\"row\">{}</th><td>{}</td></tr>", esc(k), esc(v))
            }
            Line::Field(k, Value::Number(n)) => {
                writeln!(out, "<tr><th scope=\"row\">{}</th><td class=\"n\">{n}</td></tr>", esc(k))
            }
        };
    }
    out.push_str("</table>\n");
}

pub(super) const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1a1a1a;line-height:1.45}\
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2.5rem;border-bottom:2px solid #1a1a1a}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #bbb;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th[scope=row]{width:32%;font-weight:normal;background:#f6f6f6}tr.section th{background:#dde4ee;font-weight:bold}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.meta{color:#555}\
@media print{section{break-before:page}h2{border:0}}";

/// The register as one self-contained HTML5 page in French.
pub fn to_html(reg: &Register) -> String {
    let mut o = String::with_capacity(32 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{TITLE} : {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{TITLE}</h1>\n\
         <p class=\"meta\">Article 30 du RGPD. Généré le {} à partir de la politique version {} (en vigueur depuis le {}) \
         et des données en base.</p>\n</header>\n<main>\n",
        esc(&reg.controller.name),
        esc(&when(reg.generated_at)),
        esc(&reg.policy_version),
        reg.policy_effective_date,
    );
    o.push_str("<section id=\"registre\">\n<h2>Responsable, délégué et volumes</h2>\n");
    html_table(&mut o, &cover_lines(reg));
    o.push_str("</section>\n<nav id=\"sommaire\">\n<h2>Activités de traitement</h2>\n<ol>\n");
    for a in &reg.activities {
        let _ = writeln!(o, "<li><a href=\"#{}\">{}</a></li>", esc(&a.id), esc(&a.name.fr));
    }
    o.push_str("</ol>\n</nav>\n");
    for a in &reg.activities {
        let _ = writeln!(o, "<section id=\"{}\">\n<h2>{SHEET_TITLE} : {}</h2>", esc(&a.id), esc(&a.name.fr));
        html_table(&mut o, &activity_lines(reg, a));
        o.push_str("</section>\n");
    }
    o.push_str("<section id=\"effacements\">\n<h2>Effacements effectués à l'échéance</h2>\n");
    if reg.totals.erasures.is_empty() {
        o.push_str("<p>Aucun effacement n'a encore été effectué.</p>\n");
    } else {
        o.push_str("<table>\n<tr><th>Mois</th><th>Catégorie de personnes</th><th>Règle de conservation</th><th>Nombre</th></tr>\n");
        for e in &reg.totals.erasures {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&e.month),
                esc(&kind_label_fr(&e.kind)),
                esc(&rule_label_fr(&e.rule)),
                e.count
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</section>\n");
    if !reg.assumptions.is_empty() {
        o.push_str("<section id=\"hypotheses\">\n<h2>Hypothèses à confirmer</h2>\n<p>Ces éléments de la politique ne sont pas des faits établis par la politique source : ils doivent être confirmés.</p>\n<ul>\n");
        for a in &reg.assumptions {
            let _ = writeln!(o, "<li><code>{}</code></li>", esc(a));
        }
        o.push_str("</ul>\n</section>\n");
    }
    o.push_str("</main>\n</body>\n</html>\n");
    o
}
