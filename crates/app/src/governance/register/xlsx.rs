//! The register as an XLSX workbook: a cover sheet and one sheet per activity.

use super::*;
use vigie_ui::register::Row;

/// Sheet names for the activities: the purpose ids, made valid for Excel
/// (at most 31 characters, none of `[]:*?/\`, unique ignoring case, not the cover's).
pub(super) fn sheet_names(reg: &Register, cover: &str) -> Vec<String> {
    let mut used: Vec<String> = vec![cover.to_lowercase()];
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

/// Writes label-value rows from `row`; returns the next free row.
pub(super) fn xlsx_lines(
    ws: &mut rust_xlsxwriter::Worksheet,
    f: &Formats,
    mut row: u32,
    lines: &[Row],
) -> Result<u32, rust_xlsxwriter::XlsxError> {
    for line in lines {
        match line {
            Row::Part(s) => {
                row += 1; // a blank row before each part
                ws.merge_range(row, 0, row, 1, s, &f.section)?;
            }
            Row::Field { label, value } => {
                ws.write_string_with_format(row, 0, label, &f.label)?;
                ws.write_string_with_format(row, 1, value, &f.value)?;
            }
            Row::Count { label, value } => {
                ws.write_string_with_format(row, 0, label, &f.label)?;
                ws.write_number_with_format(row, 1, *value as f64, &f.number)?;
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

/// The register as an XLSX workbook in `lang`: a cover sheet (controller, DPO, policy,
/// volumes, table of contents, erasures, assumptions) and one sheet per processing activity
/// laid out like the CNIL's register template.
pub fn to_xlsx(reg: &Register, lang: Lang) -> Result<Vec<u8>> {
    xlsx(reg, Tr(lang)).map_err(xlsx_err)
}

pub(super) fn xlsx(reg: &Register, t: Tr) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Url, Workbook};
    let lang = t.lang();
    let f = formats();
    let cover = t.t("register.xlsx.cover_sheet");
    let title = t.t("register.title");
    let names = sheet_names(reg, cover);
    let mut wb = Workbook::new();
    let mut props = DocProperties::new()
        .set_title(title)
        .set_subject(t.t("register.xlsx.subject"))
        .set_company(&reg.controller.name)
        .set_author("Vigie");
    if let Ok(t) = ExcelDateTime::from_timestamp(reg.generated_at.timestamp()) {
        props = props.set_creation_datetime(&t);
    }
    wb.set_properties(&props);

    // The cover.
    let ws = wb.add_worksheet();
    ws.set_name(cover)?;
    page_setup(ws)?;
    ws.write_string_with_format(0, 0, title, &f.title)?;
    ws.write_string_with_format(1, 0, t.f("register.xlsx.subtitle", &[("at", &when(reg.generated_at))]), &f.subtitle)?;
    let mut row = xlsx_lines(ws, &f, 2, &cover_rows(t, reg))?;
    row += 1;
    ws.merge_range(row, 0, row, 1, t.t("register.xlsx.contents"), &f.section)?;
    row += 1;
    ws.write_string_with_format(row, 0, t.t("register.xlsx.sheet"), &f.head)?;
    ws.write_string_with_format(row, 1, t.t("register.xlsx.activity"), &f.head)?;
    row += 1;
    for (a, name) in reg.activities.iter().zip(&names) {
        let link = Url::new(format!("internal:'{}'!A1", name.replace('\'', "''"))).set_text(name);
        ws.write_url_with_format(row, 0, link, &f.value)?;
        ws.write_string_with_format(row, 1, a.name.get(lang), &f.value)?;
        row += 1;
    }
    row += 1;
    ws.merge_range(row, 0, row, 1, t.t("register.erasures"), &f.section)?;
    row += 1;
    if reg.totals.erasures.is_empty() {
        ws.write_string_with_format(row, 0, t.t("register.no_erasure"), &f.value)?;
    } else {
        ws.write_string_with_format(row, 0, t.t("register.xlsx.erasures_head"), &f.head)?;
        ws.write_string_with_format(row, 1, t.t("register.number"), &f.head)?;
        for e in &reg.totals.erasures {
            row += 1;
            let what = format!("{} ; {} ; {}", e.month, kind_words(t, &e.kind), rule_label(t, &e.rule));
            ws.write_string_with_format(row, 0, what, &f.label)?;
            ws.write_number_with_format(row, 1, e.count as f64, &f.number)?;
        }
    }
    row += 2;
    if !reg.assumptions.is_empty() {
        ws.merge_range(row, 0, row, 1, t.t("register.assumptions"), &f.section)?;
        for a in &reg.assumptions {
            row += 1;
            ws.write_string_with_format(row, 0, a.label.get(lang), &f.label)?;
            ws.write_string_with_format(row, 1, t.t("register.assumption_value"), &f.value)?;
        }
    }

    // One sheet per activity.
    for (a, name) in reg.activities.iter().zip(&names) {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        page_setup(ws)?;
        ws.write_string_with_format(0, 0, t.t("register.sheet_title"), &f.title)?;
        ws.write_url_with_format(
            0,
            1,
            Url::new(format!("internal:'{}'!A1", cover.replace('\'', "''"))).set_text(t.t("register.xlsx.back")),
            &f.subtitle,
        )?;
        ws.write_string_with_format(1, 0, a.name.get(lang), &f.subtitle)?;
        xlsx_lines(ws, &f, 2, &activity_rows(t, reg, a))?;
    }
    wb.save_to_buffer()
}
