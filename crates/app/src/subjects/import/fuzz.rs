//! The CSV import fed arbitrary bytes and structured but hostile files (BOMs, quotes, CR, CRLF,
//! empty and duplicate headers, huge fields, invalid UTF-8, impossible and extreme dates):
//! never a panic; the file is refused naming line 1, or every bad row is reported with its line.
//!
//! Bounded for CI (`cargo test -p vigie-app fuzz_`); run longer with e.g.
//! `PROPTEST_CASES=100000 cargo test -p vigie-app fuzz_csv`.

use super::{check_contract, layout, rows, validate};
use crate::AppError;
use proptest::prelude::*;
use std::path::PathBuf;

/// `PROPTEST_CASES`, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// A file of its own in a directory of its own, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(bytes: &[u8]) -> TempFile {
        let dir = std::env::temp_dir().join(format!("vigie-fuzz-{}", vigie_store::new_id()));
        let made = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join("in.csv"), bytes));
        assert!(made.is_ok(), "temporary file: {made:?}");
        TempFile(dir)
    }
    fn path(&self) -> PathBuf {
        self.0.join("in.csv")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A data row's line, and whether pass 1 accepts it (else why not).
type Verdict = (u64, Result<(), String>);

/// What pass 1 of an import says of a file: the file refused (an error naming line 1 or the
/// file), or each data row's line and verdict. Panics are what the properties look for.
fn check(bytes: &[u8]) -> Result<Vec<Verdict>, AppError> {
    let file = TempFile::new(bytes);
    let layout = layout(&file.path())?;
    let at = chrono::Utc::now();
    let verdicts = rows(&file.path(), &layout)?
        .map(|(line, row)| {
            let verdict = row.and_then(|(s, c)| {
                validate(&s, at, vigie_domain::model::DEFAULT_PHONE_REGION)
                    .and_then(|()| check_contract(&c).map(|_| ()))
            });
            (line, verdict)
        })
        .collect();
    Ok(verdicts)
}

/// The properties every file has: a refusal names line 1 or the file; every row has a line
/// after the header's and within the file, and a bad row's message is not empty.
fn assert_well_reported(bytes: &[u8]) -> Result<(), TestCaseError> {
    let lines = bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
    match check(bytes) {
        Err(AppError::Invalid { field, message }) => {
            prop_assert!(field == "line 1" || field == "file", "{field}: {message}");
            prop_assert!(!message.is_empty());
        }
        Err(e) => prop_assert!(false, "not an invalid-input error: {e}"),
        Ok(verdicts) => {
            for (line, verdict) in verdicts {
                prop_assert!(line >= 2 && line <= lines, "line {line} of {lines}: {verdict:?}");
                if let Err(message) = verdict {
                    prop_assert!(!message.is_empty(), "line {line}");
                }
            }
        }
    }
    Ok(())
}

const COLUMNS: &[&str] = &[
    "kind",
    "email",
    "phone",
    "first_name",
    "last_name",
    "civility",
    "notes",
    "postal_address",
    "collected_at",
    "provenance",
    "contract_reference",
    "contract_start",
    "contract_end",
    "",
    "Kind",
    " \"email\" ",
    "unknown",
    "\u{feff}kind",
    "kind\"",
];

const DATES: &[&str] = &[
    "2024-02-30",
    "0000-00-00",
    "9999-12-31",
    "2024-02-29",
    "2023-02-29",
    "1000-01-01",
    "0999-12-31",
    "2024-13-01",
    "2024-1-1",
    "+2024-01-01",
    "2024-01-01T00:00:00Z",
    "2024-01-01T25:61:61Z",
    "9999-12-31T23:59:59Z",
    "-0001-01-01",
    "",
];

/// One field's text, from values that pass to values built to hurt.
fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec!["client", "prospect", "CLIENT", "", " ", "third_party", "observed"])
            .prop_map(|s| s.as_bytes().to_vec()),
        prop::sample::select(DATES.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
        prop::sample::select(vec![
            "camille.martin@example.fr",
            "Camille.Martin@EXAMPLE.FR",
            "a@b",
            "@example.fr",
            "06 12 34 56 78",
            "+33612345678",
            "0033612345678",
            "++33",
            "M.",
            "Madame",
            "C-2024-001",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        // Quoted, with quotes, delimiters and line breaks inside.
        "[a-z,;\"\r\n ]{0,12}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\"")).into_bytes()),
        // An unbalanced quote.
        "[a-z]{0,5}".prop_map(|s| format!("\"{s}").into_bytes()),
        any::<String>().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..12),
        // Invalid UTF-8.
        Just(vec![0xff, 0xfe, b'a', 0xc3]),
        // Huge: over every field's limit.
        (1usize..4).prop_map(|n| vec![b'x'; n * 60_000]),
    ]
}

/// A CSV file: a header of known, unknown, empty and duplicate names, then rows of hostile
/// fields, with any delimiter and line ending, a BOM or not.
fn hostile_csv() -> impl Strategy<Value = Vec<u8>> {
    let header = prop::collection::vec(prop::sample::select(COLUMNS.to_vec()), 0..8);
    let rows = prop::collection::vec(prop::collection::vec(field(), 0..9), 0..8);
    (
        header,
        rows,
        prop::sample::select(vec![b',', b';']),
        prop::sample::select(vec!["\n", "\r\n", "\r"]),
        any::<bool>(),
    )
        .prop_map(|(header, rows, delimiter, eol, bom)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            out.extend_from_slice(header.join(&(delimiter as char).to_string()).as_bytes());
            for row in rows {
                out.extend_from_slice(eol.as_bytes());
                out.extend_from_slice(&row.join(&delimiter));
            }
            out
        })
}

/// A file whose header is right, so that its rows reach the checks.
fn plausible_csv() -> impl Strategy<Value = Vec<u8>> {
    let rows = prop::collection::vec(prop::collection::vec(field(), 5..7), 0..8);
    (rows, prop::sample::select(vec!["\n", "\r\n"])).prop_map(|(rows, eol)| {
        let mut out = b"kind,email,collected_at,contract_start,contract_end,contract_reference".to_vec();
        for row in rows {
            out.extend_from_slice(eol.as_bytes());
            out.extend_from_slice(&row.join(&b','));
        }
        out
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn fuzz_csv_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_well_reported(&bytes)?;
        // The same bytes after a valid header reach the row checks.
        let mut with_header = b"kind,email,phone,collected_at,contract_start\n".to_vec();
        with_header.extend_from_slice(&bytes);
        assert_well_reported(&with_header)?;
    }

    #[test]
    fn fuzz_csv_hostile_files(bytes in hostile_csv()) {
        assert_well_reported(&bytes)?;
    }

    #[test]
    fn fuzz_csv_rows_with_a_good_header(bytes in plausible_csv()) {
        assert_well_reported(&bytes)?;
    }
}

/// The whole import (both passes, sealing and writing included) on one database: a report or
/// a refusal of the file, never a panic or an internal error; all or nothing by default.
#[test]
fn fuzz_csv_import_end_to_end() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("vigie-fuzz-app-{}", vigie_store::new_id()));
    let settings = crate::Settings {
        data_dir: dir.clone(),
        database: std::sync::Arc::new(vigie_store_sqlite::SqliteFile::in_dir(&dir)),
        master_key_file: None,
        policy_file: None,
        transfers_file: None,
        erasure_journal: None,
    };
    let app = crate::App::open(&settings)?;
    let strategy = (prop_oneof![plausible_csv(), hostile_csv()], any::<bool>());
    let mut runner = proptest::test_runner::TestRunner::new(cases(48));
    let outcome = runner.run(&strategy, |(bytes, skip_invalid)| {
        let file = TempFile::new(&bytes);
        match app.import_csv(&file.path(), skip_invalid) {
            Ok(report) => {
                prop_assert_eq!(report.errors.len() as u64, report.rejected.min(super::MAX_LISTED as u64));
                prop_assert!(report.errors.iter().all(|e| e.line >= 2 && !e.message.is_empty()), "{:?}", report);
                if report.rejected > 0 && !skip_invalid {
                    prop_assert_eq!(report.imported, 0);
                }
            }
            Err(AppError::Invalid { field, .. }) => prop_assert!(field == "line 1" || field == "file", "{field}"),
            Err(e) => prop_assert!(false, "{e}"),
        }
        Ok(())
    });
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
    outcome.map_err(|e| e.to_string().into())
}

/// Found by `fuzz_csv_hostile_files`: in a file with Windows line endings (as spreadsheets
/// export them), every bad row was reported one line early, the first one on the header's line.
#[test]
fn crlf_and_cr_rows_are_reported_on_their_own_lines() -> Result<(), Box<dyn std::error::Error>> {
    for eol in ["\n", "\r\n", "\r"] {
        for end in ["", eol] {
            let file = [
                "kind,email,notes",
                "client,camille@example.fr,",
                "nobody,x@example.fr,",
                "",
                "",
                "prospect,not-an-email,",
                "prospect,a@example.fr,\"two",
                "lines\"",
                "prospect,\"a@example.fr\",\"x\"\"y\"",
                "nobody,a@example.fr,",
            ]
            .join(eol)
                + end;
            let lines: Vec<u64> =
                check(file.as_bytes())?.into_iter().filter(|(_, v)| v.is_err()).map(|(line, _)| line).collect();
            assert_eq!(lines, [3, 6, 10], "{eol:?} {end:?}");
        }
    }
    // A quote left open at the end: the row is still dated on its first line.
    let lines: Vec<u64> = check(b"kind,notes\nnobody,\"open")?.into_iter().map(|(line, _)| line).collect();
    assert_eq!(lines, [2]);
    Ok(())
}
