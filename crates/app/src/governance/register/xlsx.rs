//! The register as an XLSX workbook: a cover sheet and one sheet per activity.

use super::*;

/// Sheet names for the activities: the purpose ids, made valid for Excel
/// (at most 31 characters, none of `[]:*?/\`, unique ignoring case, not the cover's).
pub(super) fn sheet_names(reg: &Register) -> Vec<String> {
    let mut used: Vec<String> = vec![COVER.to_lowercase()];
    let mut out = Vec::new();
    for a in &reg.activities {
        let clean: String = a.id.chars().filter(|c| !"[]:*?/\\".contains(*c)).collect();
        let mut base: String = clean.trim_matches('\'').chars().take(31).collect();
        if base.is_empty() || base.eq_ignore_ascii_case("history") {
            base = format!("activite_{}", out.len() + 1);
        }
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name.to_lowercase()) {
            let suffix = format!("~{n}");
            name = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
            n += 1;
        }
        used.push(name.to_lowercase());
        out.push(name);
    }
    out
}

pub(super) const COVER: &str = "Registre";

pub(super) fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::failed("writing the register as XLSX", e)
}

pub(super) struct Formats {
    title: rust_xlsxwriter::Format,
    subtitle: rust_xlsxwriter::Format,
    section: rust_xlsxwriter::Format,
    label: rust_xlsxwriter::Format,
    value: rust_xlsxwriter::Format,
    number: rust_xlsxwriter::Format,
    head: rust_xlsxwriter::Format,
}

pub(super) fn formats() -> Formats {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder};
    let cell = || Format::new().set_border(FormatBorder::Thin).set_border_color("#BBBBBB").set_align(FormatAlign::Top);
    Formats {
        title: Format::new().set_bold().set_font_size(16),
        subtitle: Format::new().set_italic().set_font_color("#555555"),
        section: Format::new().set_bold().set_background_color("#DDE4EE").set_border(FormatBorder::Thin),
        label: cell().set_text_wrap().set_background_color("#F6F6F6"),
        value: cell().set_text_wrap(),
        number: cell().set_align(FormatAlign::Right),
        head: Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color("#F0F0F0"),
    }
}

/// Writes label-value lines from `row`; returns the next free row.
pub(super) fn xlsx_lines(
    ws: &mut rust_xlsxwriter::Worksheet,
    f: &Formats,
    mut row: u32,
    lines: &[Line],
) -> Result<u32, rust_xlsxwriter::XlsxError> {
    for line in lines {
        match line {
            Line::Section(s) => {
                row += 1; // a blank row before each section
                ws.merge_range(row, 0, row, 1, s, &f.section)?;
            }
            Line::Field(k, v) => {
                ws.write_string_with_format(row, 0, k, &f.label)?;
                match v {
                    Value::Text(t) => ws.write_string_with_format(row, 1, t, &f.value)?,
                    Value::Number(n) => ws.write_number_with_format(row, 1, *n as f64, &f.number)?,
                };
            }
        }
        row += 1;
    }
    Ok(row)
}

pub(super) fn page_setup(ws: &mut rust_xlsxwriter::Worksheet) -> Result<(), rust_xlsxwriter::XlsxError> {
    ws.set_column_width(0, 42)?;
    ws.set_column_width(1, 100)?;
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);
    Ok(())
}

/// The register as an XLSX workbook: a cover sheet (controller, DPO, policy,
/// volumes, table of contents, erasures) and one sheet per processing activity
/// laid out like the CNIL's register template.
pub fn to_xlsx(reg: &Register) -> Result<Vec<u8>> {
    xlsx(reg).map_err(xlsx_err)
}

pub(super) fn xlsx(reg: &Register) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Url, Workbook};
    let f = formats();
    let names = sheet_names(reg);
    let mut wb = Workbook::new();
    let mut props = DocProperties::new()
        .set_title(TITLE)
        .set_subject("Article 30 du RGPD")
        .set_company(&reg.controller.name)
        .set_author("Vigie");
    if let Ok(t) = ExcelDateTime::from_timestamp(reg.generated_at.timestamp()) {
        props = props.set_creation_datetime(&t);
    }
    wb.set_properties(&props);

    // The cover.
    let ws = wb.add_worksheet();
    ws.set_name(COVER)?;
    page_setup(ws)?;
    ws.write_string_with_format(0, 0, TITLE, &f.title)?;
    ws.write_string_with_format(
        1,
        0,
        format!(
            "Article 30 du RGPD : généré par Vigie le {} à partir de la politique et des données",
            when(reg.generated_at)
        ),
        &f.subtitle,
    )?;
    let mut row = xlsx_lines(ws, &f, 2, &cover_lines(reg))?;
    row += 1;
    ws.merge_range(row, 0, row, 1, "Table des matières : activités de traitement", &f.section)?;
    row += 1;
    ws.write_string_with_format(row, 0, "Feuille", &f.head)?;
    ws.write_string_with_format(row, 1, "Activité de traitement", &f.head)?;
    row += 1;
    for (a, name) in reg.activities.iter().zip(&names) {
        let link = Url::new(format!("internal:'{}'!A1", name.replace('\'', "''"))).set_text(name);
        ws.write_url_with_format(row, 0, link, &f.value)?;
        ws.write_string_with_format(row, 1, &a.name.fr, &f.value)?;
        row += 1;
    }
    row += 1;
    ws.merge_range(row, 0, row, 1, "Effacements effectués à l'échéance", &f.section)?;
    row += 1;
    if reg.totals.erasures.is_empty() {
        ws.write_string_with_format(row, 0, "Aucun effacement n'a encore été effectué", &f.value)?;
    } else {
        ws.write_string_with_format(row, 0, "Mois, catégorie, règle", &f.head)?;
        ws.write_string_with_format(row, 1, "Nombre", &f.head)?;
        for e in &reg.totals.erasures {
            row += 1;
            let what = format!("{} ; {} ; {}", e.month, kind_label_fr(&e.kind), rule_label_fr(&e.rule));
            ws.write_string_with_format(row, 0, what, &f.label)?;
            ws.write_number_with_format(row, 1, e.count as f64, &f.number)?;
        }
    }
    row += 2;
    if !reg.assumptions.is_empty() {
        ws.merge_range(row, 0, row, 1, "Hypothèses à confirmer", &f.section)?;
        for a in &reg.assumptions {
            row += 1;
            ws.write_string_with_format(row, 0, a, &f.label)?;
            ws.write_string_with_format(
                row,
                1,
                "Hypothèse, non établie par la politique source : à confirmer",
                &f.value,
            )?;
        }
    }

    // One sheet per activity.
    for (a, name) in reg.activities.iter().zip(&names) {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        page_setup(ws)?;
        ws.write_string_with_format(0, 0, SHEET_TITLE, &f.title)?;
        ws.write_url_with_format(
            0,
            1,
            Url::new(format!("internal:'{COVER}'!A1")).set_text("Retour au registre"),
            &f.subtitle,
        )?;
        ws.write_string_with_format(1, 0, &a.name.fr, &f.subtitle)?;
        xlsx_lines(ws, &f, 2, &activity_lines(reg, a))?;
    }
    wb.save_to_buffer()
}
