//! `vigie import FILE.csv`: subjects in bulk.
//!
//! UTF-8, comma or semicolon (detected from the header line), a header row
//! naming identity fields plus `kind` (and optionally `collected_at`,
//! `provenance`, and one contract per row: `contract_reference`,
//! `contract_start`, `contract_end`, so that a CRM export brings the contracts
//! its clients' retention clocks run on; a row with a contract is a client).
//! By default all or nothing: the whole file is checked first,
//! and if any row is bad, every bad row is reported with its line number and
//! nothing is written. With `skip_invalid`, the good rows are imported and the
//! bad ones reported. The import is one transaction: a crash leaves the
//! database as it was before.
//!
//! A row whose email or phone (normalised, compared by blind index) matches a subject already
//! recorded, or an earlier row of the same file, is skipped and reported by line with the id it
//! matches (never a value): importing a file again, after a kill that came after the commit for
//! instance, adds nobody twice. A prospect on the suppression list is a bad row; a client is not.
//!
//! With `update` (`vigie import --update`), a row matching exactly one subject already recorded
//! updates it instead, in the import's transaction: each identity field the row gives replaces the
//! recorded value (with the row's provenance) when it differs, a field the row leaves empty is
//! kept, a `client` row makes a prospect a client, and a contract not yet recorded (same
//! reference and dates) is added. The collection date is never changed, so an update never
//! extends a retention clock; a kind change or a contract recomputes it as a create would. Each
//! updated subject gets a `subject.update` audit entry naming the fields (never a value), and the
//! report names the lines updated; a row that changes nothing is reported as already recorded,
//! so running the same import again, with or without `update`, changes nothing. A row matching
//! several subjects is skipped: the DPO merges them first.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::error::{AppError, Result};
use crate::subjects::{NewSubject, Prepared, prepare};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use vigie_domain::{FieldName, SubjectKind};

/// Rows sealed per message to the writer thread.
const CHUNK: usize = 4096;
/// Bad rows listed in a report; the count covers all of them.
const MAX_LISTED: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub imported: u64,
    pub rejected: u64,
    /// The first bad rows, with their line numbers.
    pub errors: Vec<RowError>,
    /// Rows skipped because their email or phone is already recorded.
    pub skipped: u64,
    /// The first skipped rows, with their line numbers and the subject (or earlier line) they match.
    pub duplicates: Vec<RowError>,
    /// Rows that updated the subject they match (`update` only).
    pub updated: u64,
    /// The first updated rows, with their line numbers, the subject and the fields updated.
    pub updates: Vec<RowError>,
}

/// How an import treats its rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Imports the good rows and reports the bad ones (else a bad row stops the whole import).
    pub skip_invalid: bool,
    /// A row matching one subject already recorded updates it (else it is skipped).
    pub update: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Kind,
    CollectedAt,
    Provenance,
    ContractReference,
    ContractStart,
    ContractEnd,
    Field(FieldName),
}

/// A contract given on an import row, as written.
#[derive(Clone, Debug, Default)]
struct RawContract {
    reference: String,
    start: String,
    end: String,
}

/// A contract checked, not yet sealed.
struct ImportContract {
    reference: String,
    start: chrono::NaiveDate,
    end: Option<chrono::NaiveDate>,
}

fn check_contract(c: &RawContract) -> Result<Option<ImportContract>, String> {
    if c.reference.is_empty() && c.start.is_empty() && c.end.is_empty() {
        return Ok(None);
    }
    let as_text = |e: AppError| match e {
        AppError::Invalid { field, message } => format!("{field}: {message}"),
        e => e.to_string(),
    };
    let reference = crate::input::check_text("contract_reference", &c.reference, 200).map_err(as_text)?;
    let start = crate::input::parse_date("contract_start", &c.start).map_err(as_text)?;
    let end =
        if c.end.is_empty() { None } else { Some(crate::input::parse_date("contract_end", &c.end).map_err(as_text)?) };
    if end.is_some_and(|e| e < start) {
        return Err("contract_end: is before contract_start".into());
    }
    Ok(Some(ImportContract { reference, start, end }))
}

struct Layout {
    delimiter: u8,
    columns: Vec<Column>,
}

fn open(path: &Path) -> Result<BufReader<LfOnly<BufReader<std::fs::File>>>> {
    let file = std::fs::File::open(path)
        .map_err(|e| AppError::invalid("file", format!("cannot open {}: {e}", path.display())))?;
    Ok(BufReader::with_capacity(
        1 << 16,
        LfOnly { inner: BufReader::with_capacity(1 << 20, file), after_cr: false, last: b'\n' },
    ))
}

/// Reads every line ending (`\r\n`, `\n`, a lone `\r`) as `\n`, and ends the file with one:
/// the lines of the rows are counted on `\n` (see `rows`).
struct LfOnly<R> {
    inner: R,
    after_cr: bool,
    /// The last byte read (`\n` before the first).
    last: u8,
}

impl<R: BufRead> Read for LfOnly<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let buf = self.inner.fill_buf()?;
            if out.is_empty() {
                return Ok(0);
            }
            if buf.is_empty() {
                // A last line break where the file has none.
                let last = std::mem::replace(&mut self.last, b'\n');
                return Ok(if last == b'\n' {
                    0
                } else {
                    out[0] = b'\n';
                    1
                });
            }
            let (mut i, mut n) = (0, 0);
            while i < buf.len() && n < out.len() {
                let b = buf[i];
                i += 1;
                if std::mem::replace(&mut self.after_cr, b == b'\r') && b == b'\n' {
                    continue;
                }
                out[n] = if b == b'\r' { b'\n' } else { b };
                self.last = out[n];
                n += 1;
            }
            self.inner.consume(i);
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

/// Reads the header line: delimiter and column meanings.
fn layout(path: &Path) -> Result<Layout> {
    let mut first = Vec::new();
    open(path)?
        .take(1 << 20)
        .read_until(b'\n', &mut first)
        .map_err(|e| AppError::invalid("file", format!("cannot read: {e}")))?;
    let header =
        std::str::from_utf8(&first).map_err(|_| AppError::invalid("line 1", "the header is not valid UTF-8"))?;
    let header = header.trim_start_matches('\u{feff}').trim_end();
    if header.is_empty() {
        return Err(AppError::invalid("line 1", "the file is empty: expected a header row"));
    }
    let delimiter = if header.matches(';').count() > header.matches(',').count() { b';' } else { b',' };
    let mut columns = Vec::new();
    for name in header.split(delimiter as char) {
        let name = name.trim().trim_matches('"').trim().to_ascii_lowercase();
        let col = match name.as_str() {
            "kind" => Column::Kind,
            "collected_at" => Column::CollectedAt,
            "provenance" => Column::Provenance,
            "contract_reference" => Column::ContractReference,
            "contract_start" => Column::ContractStart,
            "contract_end" => Column::ContractEnd,
            other => Column::Field(other.parse().map_err(|_| {
                AppError::invalid(
                    "line 1",
                    format!(
                        "column `{other}` is not one of: kind, collected_at, provenance, contract_reference, \
                         contract_start, contract_end, {}",
                        FieldName::expected()
                    ),
                )
            })?),
        };
        if columns.contains(&col) {
            return Err(AppError::invalid("line 1", format!("column `{name}` appears twice")));
        }
        columns.push(col);
    }
    if !columns.contains(&Column::Kind) {
        return Err(AppError::invalid("line 1", "the header has no `kind` column"));
    }
    Ok(Layout { delimiter, columns })
}

type ImportRow = (NewSubject, RawContract);

/// Iterates the data rows as subjects, or errors with their line numbers.
fn rows(path: &Path, layout: &Layout) -> Result<impl Iterator<Item = (u64, Result<ImportRow, String>)>> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(layout.delimiter).has_headers(true).flexible(true).from_reader(open(path)?);
    let columns = layout.columns.clone();
    let mut failed = false;
    let records = std::iter::from_fn(move || {
        if failed {
            return None;
        }
        // The reader dates a record where it stood before skipping blank lines; the line is
        // counted back from where the record ends instead: its terminator (the file always has
        // a last one: see `LfOnly`), and the line breaks inside its quoted fields. Never the
        // header's line, nor before where the reader stood.
        let before = reader.position().line().max(2);
        let mut record = csv::ByteRecord::new();
        match reader.read_byte_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let inside = record.iter().flatten().filter(|&&b| b == b'\n').count() as u64;
                let line = reader.position().line().saturating_sub(inside + 1).max(before);
                Some((line, Ok(record)))
            }
            Err(e) => {
                failed = true;
                Some((e.position().map_or(before, |p| p.line()), Err(e)))
            }
        }
    });
    Ok(records.map(move |(line, record)| {
        let Ok(record) = record else {
            return (line, Err("the row is not well-formed CSV".to_string()));
        };
        let Ok(record) = csv::StringRecord::from_byte_record(record) else {
            return (line, Err("the row is not valid UTF-8".to_string()));
        };
        if record.len() != columns.len() {
            return (line, Err(format!("the row has {} fields, the header {}", record.len(), columns.len())));
        }
        let mut s = NewSubject {
            kind: String::new(),
            collected_at: None,
            provenance: None,
            field_provenance: BTreeMap::new(),
            identity: BTreeMap::new(),
        };
        let mut c = RawContract::default();
        for (col, value) in columns.iter().zip(record.iter()) {
            let value = value.trim();
            match col {
                Column::ContractReference => c.reference = value.to_string(),
                Column::ContractStart => c.start = value.to_string(),
                Column::ContractEnd => c.end = value.to_string(),
                Column::Kind => s.kind = value.to_string(),
                Column::CollectedAt if !value.is_empty() => s.collected_at = Some(value.to_string()),
                Column::Provenance if !value.is_empty() => s.provenance = Some(value.to_string()),
                Column::Field(f) if !value.is_empty() => {
                    s.identity.insert(f.as_str().to_string(), Some(value.to_string()));
                }
                _ => {}
            }
        }
        (line, Ok((s, c)))
    }))
}

impl App {
    /// Imports a CSV file of subjects (see the module docs). Blocking: for the CLI.
    pub fn import_csv(&self, path: &Path, skip_invalid: bool) -> Result<ImportReport> {
        self.import_csv_with(path, ImportOptions { skip_invalid, update: false })
    }

    /// [`App::import_csv`], with the rows matching a subject updating it when `options.update`.
    pub fn import_csv_with(&self, path: &Path, options: ImportOptions) -> Result<ImportReport> {
        let ImportOptions { skip_invalid, update } = options;
        let layout = layout(path)?;
        let keys = self.keys.clone();
        let policy = self.policy();
        // Pass 1: check every row, write nothing. A row whose email or phone is already recorded
        // (by an existing subject or an earlier row of the file) is skipped and reported, so that
        // importing a file twice is harmless. A prospect whose email or phone is on the
        // suppression list (they objected to prospecting) is refused; a client is not.
        let mut report = ImportReport::default();
        let probe_at = self.now();
        let region = policy.controller.country.clone();
        let bi = |field: FieldName, v: Option<&Option<String>>| -> Option<Vec<u8>> {
            let v = v?.as_deref()?;
            let v = vigie_domain::model::normalize_field_in(field, v, &region).ok()?;
            Some(keys.blind_index(field.as_str(), &v).to_vec())
        };
        let mut keyed: Vec<Keyed> = Vec::new();
        let mut first_seen: std::collections::HashMap<Vec<u8>, u64> = std::collections::HashMap::new();
        let mut skipped: BTreeMap<u64, String> = BTreeMap::new();
        let mut bad = Vec::new();
        for (line, row) in rows(path, &layout)? {
            match row.and_then(|(s, c)| {
                validate(&s, probe_at, &policy.controller.country).and_then(|()| check_contract(&c)).map(|c| (s, c))
            }) {
                Err(message) => bad.push(RowError { line, message }),
                Ok((s, contract)) => {
                    let email = bi(FieldName::Email, s.identity.get("email"));
                    let phone = bi(FieldName::Phone, s.identity.get("phone"));
                    let earlier = [&email, &phone].into_iter().flatten().find_map(|b| first_seen.get(b).copied());
                    if let Some(earlier) = earlier {
                        skipped.insert(line, format!("already in this file (line {earlier})"));
                        continue;
                    }
                    for b in [&email, &phone].into_iter().flatten() {
                        first_seen.insert(b.clone(), line);
                    }
                    let prospect = contract.is_none() && s.kind == "prospect";
                    if email.is_some() || phone.is_some() {
                        keyed.push((line, email, phone, prospect));
                    }
                }
            }
        }
        drop(first_seen);
        let mut suppressed = std::collections::BTreeSet::new();
        // With `update`, the lines that update the one subject they match.
        let mut to_update: BTreeMap<u64, vigie_store::Id> = BTreeMap::new();
        for chunk in keyed.chunks(CHUNK) {
            let chunk = chunk.to_vec();
            let (hits, known) = self.db.read_blocking(move |tx| {
                let (mut hits, mut known) = (Vec::new(), Vec::new());
                for (line, email, phone, prospect) in chunk {
                    let matches = tx.intake_matches(email.as_deref(), phone.as_deref())?;
                    if prospect && matches.suppressed {
                        hits.push(line);
                    } else if !matches.duplicates.is_empty() {
                        known.push((line, matches.duplicates));
                    }
                }
                Ok::<_, AppError>((hits, known))
            })?;
            suppressed.extend(hits);
            for (line, ids) in known {
                match ids.as_slice() {
                    [id] if update => {
                        to_update.insert(line, *id);
                    }
                    [id, ..] if !update => {
                        skipped.insert(line, format!("already recorded (subject {id})"));
                    }
                    _ => {
                        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                        skipped.insert(
                            line,
                            format!(
                                "matches several subjects ({}): merge them first (POST /api/v1/subjects/{{id}}/merge)",
                                ids.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        bad.extend(suppressed.iter().map(|&line| {
            RowError {
                line,
                message: "identity: this person objected to prospecting; their email or phone is on the suppression \
                      list, so they may not be imported as a prospect"
                    .into(),
            }
        }));
        report.skipped = skipped.len() as u64;
        report.duplicates = skipped
            .iter()
            .take(MAX_LISTED)
            .map(|(&line, message)| RowError { line, message: message.clone() })
            .collect();
        bad.sort_by_key(|e| e.line);
        report.rejected = bad.len() as u64;
        bad.truncate(MAX_LISTED);
        report.errors = bad;
        if report.rejected > 0 && !skip_invalid {
            return Ok(report);
        }
        // Pass 2: seal on this thread while the writer thread inserts, in one
        // transaction that commits only on an explicit `Done`: any failure on
        // this side drops the channel first, and the writer rolls back.
        let (send, recv) = crossbeam_channel::bounded::<Msg>(4);
        let db = self.db.clone();
        let writer_policy = policy.clone();
        let (imported, outcomes) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                db.audited_blocking(Actor::Cli, move |tx, trail| {
                    let mut n = 0u64;
                    let mut outcomes = Vec::new();
                    let mut recorded = trail.nothing_changed();
                    loop {
                        let chunk = match recv.recv() {
                            Ok(Msg::Rows(chunk)) => chunk,
                            Ok(Msg::Updates(updates)) => {
                                for u in updates {
                                    let (outcome, r) = apply_update(tx, trail, &writer_policy, u)?;
                                    recorded = r.unwrap_or(recorded);
                                    outcomes.push(outcome);
                                }
                                continue;
                            }
                            Ok(Msg::Done) => return Ok(((n, std::mem::take(&mut outcomes)), recorded)),
                            Err(_) => {
                                return Err(AppError::Internal(
                                    "the import stopped before its end; nothing was written".into(),
                                ));
                            }
                        };
                        let rows: Vec<_> = chunk.iter().map(|(p, _)| p.row.clone()).collect();
                        tx.insert_subjects(&rows)?;
                        let names: Vec<_> =
                            chunk.iter().filter_map(|(p, _)| Some((p.row.id, p.name_bi.clone()?))).collect();
                        tx.insert_subject_names(&names)?;
                        let mut entries = Vec::with_capacity(chunk.len());
                        for (p, contract) in &chunk {
                            let entry = Entry::new("subject.create")
                                .subject(p.row.id)
                                .fields(p.fields.iter().map(|f| f.as_str()))
                                .detail(format!("kind={} import", p.row.kind));
                            entries.push((p.row.created_at, entry));
                            if let Some(c) = contract {
                                tx.insert_contract(c)?;
                                if let Some(bi) = &p.contract_reference_bi {
                                    tx.set_contract_reference(c.id, bi)?;
                                }
                                let entry = Entry::new("contract.create")
                                    .subject(p.row.id)
                                    .fields(["reference", "start", "end"])
                                    .detail(format!("contract:{} import", c.id));
                                entries.push((p.row.created_at, entry));
                            }
                        }
                        recorded = trail.many(tx, entries)?;
                        n += chunk.len() as u64;
                    }
                })
            });
            let produced = (|| {
                let at = self.now();
                let mut chunk = Vec::with_capacity(CHUNK);
                let mut updates = Vec::new();
                for (line, row) in rows(path, &layout)? {
                    let Ok((subject, raw_contract)) = row else { continue };
                    if suppressed.contains(&line) || skipped.contains_key(&line) {
                        continue;
                    }
                    let Ok(contract) = check_contract(&raw_contract) else { continue };
                    if let Some(&id) = to_update.get(&line) {
                        match crate::subjects::validate(&subject, at, &policy.controller.country) {
                            Ok(v) => updates.push(Update { line, subject: id, row: v, contract }),
                            Err(AppError::Invalid { .. }) => {}
                            Err(e) => return Err(e),
                        }
                        if updates.len() == CHUNK {
                            let full = std::mem::take(&mut updates);
                            send.send(Msg::Updates(full))
                                .map_err(|_| AppError::Internal("the import writer stopped".into()))?;
                        }
                        continue;
                    }
                    match prepare(&keys, &policy, &subject, at) {
                        Ok(p) => chunk.push(with_contract(&keys, &policy, p, contract, at)?),
                        Err(AppError::Invalid { .. }) => continue,
                        Err(e) => return Err(e),
                    }
                    if chunk.len() == CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                        send.send(Msg::Rows(full))
                            .map_err(|_| AppError::Internal("the import writer stopped".into()))?;
                    }
                }
                if !chunk.is_empty() {
                    send.send(Msg::Rows(chunk)).map_err(|_| AppError::Internal("the import writer stopped".into()))?;
                }
                if !updates.is_empty() {
                    send.send(Msg::Updates(updates))
                        .map_err(|_| AppError::Internal("the import writer stopped".into()))?;
                }
                send.send(Msg::Done).map_err(|_| AppError::Internal("the import writer stopped".into()))
            })();
            drop(send);
            let written = writer.join().map_err(|_| AppError::Internal("the import writer panicked".into()))?;
            produced.and(written)
        })?;
        report.imported = imported;
        let mut unchanged = Vec::new();
        for o in outcomes {
            match o.changed {
                Some(fields) if !fields.is_empty() => {
                    report.updated += 1;
                    if report.updates.len() < MAX_LISTED {
                        report.updates.push(RowError {
                            line: o.line,
                            message: format!("updated subject {}: {}", o.subject, fields.join(", ")),
                        });
                    }
                }
                Some(_) => unchanged.push(RowError {
                    line: o.line,
                    message: format!("already recorded (subject {}), nothing to update", o.subject),
                }),
                None => unchanged.push(RowError {
                    line: o.line,
                    message: format!("subject {} was erased or merged meanwhile: not updated", o.subject),
                }),
            }
        }
        report.skipped += unchanged.len() as u64;
        report.duplicates.extend(unchanged);
        report.duplicates.sort_by_key(|d| d.line);
        report.duplicates.truncate(MAX_LISTED);
        Ok(report)
    }
}

/// A row that updates the one subject it matches.
struct Update {
    line: u64,
    subject: vigie_store::Id,
    row: crate::subjects::Validated,
    contract: Option<ImportContract>,
}

/// What an update did: the fields it changed (`kind` and `contract` among them), none when the
/// row changed nothing, or `None` when the subject was gone by the time of the write.
struct UpdateOutcome {
    line: u64,
    subject: vigie_store::Id,
    changed: Option<Vec<String>>,
}

/// Applies one update row inside the import's transaction (see the module docs); the last audit
/// entry it recorded, if it changed anything.
fn apply_update(
    tx: &mut dyn vigie_store::Tx,
    trail: &crate::db::Trail<'_>,
    policy: &vigie_domain::Policy,
    u: Update,
) -> Result<(UpdateOutcome, Option<crate::db::Recorded>)> {
    use crate::record::{aad, open_identity};
    use vigie_crypto::Part;
    let (id, at, keys) = (u.subject, trail.at, trail.keys());
    let gone = UpdateOutcome { line: u.line, subject: id, changed: None };
    let Some(row) = tx.subject(id)? else { return Ok((gone, None)) };
    let (key, mut identity) = open_identity(keys, &row)?;
    let mut changed: Vec<String> = Vec::new();
    for (field, value) in u.row.identity {
        if identity.get(&field).map(|f| &f.v) != Some(&value.v) {
            identity.insert(field, value);
            changed.push(field.as_str().to_string());
        }
    }
    let mut recorded = None;
    if !changed.is_empty() {
        let plain = serde_json::to_vec(&identity).map_err(|e| AppError::failed("encoding JSON", e))?;
        let sealed = key.seal(&aad(id, Part::Identity, None), &plain)?;
        let bi = |f: FieldName| identity.get(&f).map(|x| keys.blind_index(f.as_str(), &x.v).to_vec());
        let (email_bi, phone_bi) = (bi(FieldName::Email), bi(FieldName::Phone));
        tx.update_identity(id, &sealed, email_bi.as_deref(), phone_bi.as_deref(), at)?;
        tx.set_subject_name(id, crate::record::name_bi(keys, &identity).as_deref())?;
        let entry =
            Entry::new("subject.update").subject(id).fields(changed.iter()).detail(format!("import line {}", u.line));
        recorded = Some(trail.record(tx, entry)?);
    }
    let mut clock_moves = false;
    if let Some(c) = u.contract {
        let mut known = false;
        for existing in tx.contracts(id)? {
            let reference = key.open(&aad(id, Part::Contract, Some(existing.id)), &existing.reference)?;
            if reference == c.reference.as_bytes() && existing.start == c.start && existing.end == c.end {
                known = true;
                break;
            }
        }
        if !known {
            let contract = vigie_store::new_id();
            let reference = key.seal(&aad(id, Part::Contract, Some(contract)), c.reference.as_bytes())?;
            tx.insert_contract(&vigie_store::ContractRow {
                id: contract,
                subject_id: id,
                reference,
                start: c.start,
                end: c.end,
                created_at: at,
            })?;
            if let Some(bi) = crate::record::contract_reference_bi(keys, &c.reference) {
                tx.set_contract_reference(contract, &bi)?;
            }
            let entry = Entry::new("contract.create")
                .subject(id)
                .fields(["reference", "start", "end"])
                .detail(format!("contract:{contract} import line {}", u.line));
            recorded = Some(trail.record(tx, entry)?);
            changed.push("contract".into());
            clock_moves = true;
        }
    }
    let client = u.row.kind == SubjectKind::Client || changed.iter().any(|f| f == "contract");
    if client && row.kind == SubjectKind::Prospect {
        tx.set_subject_kind(id, SubjectKind::Client, at)?;
        let entry = Entry::new("subject.kind_change").subject(id).fields(["kind"]).detail("prospect->client");
        recorded = Some(trail.record(tx, entry)?);
        changed.push("kind".into());
        clock_moves = true;
    }
    if clock_moves {
        crate::record::recompute(tx, policy, id)?;
    }
    Ok((UpdateOutcome { line: u.line, subject: id, changed: Some(changed) }, recorded))
}

/// A good row's line, email and phone blind indexes, and whether it is a prospect.
type Keyed = (u64, Option<Vec<u8>>, Option<Vec<u8>>, bool);

enum Msg {
    Rows(Vec<(Prepared, Option<vigie_store::ContractRow>)>),
    Updates(Vec<Update>),
    Done,
}

/// Seals a row's contract under its subject's key; a subject with a contract is a
/// client, and its retention clock runs on that contract.
fn with_contract(
    keys: &vigie_crypto::MasterKey,
    policy: &vigie_domain::Policy,
    mut p: Prepared,
    contract: Option<ImportContract>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(Prepared, Option<vigie_store::ContractRow>)> {
    let Some(c) = contract else { return Ok((p, None)) };
    let subject = p.row.id;
    let key = keys.unwrap_key(&p.row.wrapped_key, subject.as_bytes())?;
    let id = vigie_store::new_id();
    let reference =
        key.seal(&crate::record::aad_for(subject, vigie_crypto::Part::Contract, Some(id)), c.reference.as_bytes())?;
    p.row.kind = vigie_domain::SubjectKind::Client;
    p.contract_reference_bi = crate::record::contract_reference_bi(keys, &c.reference);
    let clock = vigie_domain::retention::expiry(
        policy,
        &vigie_domain::retention::RetentionFacts {
            kind: Some(vigie_domain::SubjectKind::Client),
            collected_on: Some(p.row.collected_at.date_naive()),
            contract_ends: vec![c.end],
            last_inbound: None,
        },
    );
    p.row.retention_rule = clock.stored_rule().to_string();
    p.row.basis_date = clock.basis_date;
    p.row.expires_on = clock.expires_on;
    let row =
        vigie_store::ContractRow { id, subject_id: subject, reference, start: c.start, end: c.end, created_at: at };
    Ok((p, Some(row)))
}

/// Checks a row as `prepare` would, without sealing it.
fn validate(s: &NewSubject, at: chrono::DateTime<chrono::Utc>, region: &str) -> Result<(), String> {
    match crate::subjects::validate(s, at, region) {
        Ok(_) => Ok(()),
        Err(AppError::Invalid { field, message }) => Err(format!("{field}: {message}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Property tests: arbitrary and hostile files through the parser, the checks and the import.
#[cfg(test)]
mod fuzz;
