//! The conformance suite: what every backend must do, checked through the
//! public [`Store`] API only. Each backend's tests call [`run`] on a fresh
//! database; a failure names the check.

use crate::{
    AccountRow, AuditRow, ConsentRow, ContractRow, DisclosureRow, DueRow, Id, InteractionRow, KeyOwner, ObjectionRow,
    SessionRow, StatGroup, Store, StoreError, SubjectRow, TokenRow, new_id, now,
};
use chrono::{NaiveDate, TimeZone, Utc};
use vigie_domain::access::Role;
use vigie_domain::policy::{DataCategory, LegalBasis};
use vigie_domain::records::{
    BreachKeys, BreachNature, BreachPhase, BreachRisk, BreachStatus, HoldAction, IdentityDocument, IdentityVerdict,
    OutboxStatus, PolicyStatus, RequestChannel, RequestKind, RequestOutcome, RequestStatus, RestrictionGround,
};
use vigie_domain::transfers::SafeguardKind;
use vigie_domain::{Direction, SubjectKind};

type Check = fn(&Store) -> Result<(), String>;

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("subjects round-trip and are found by blind index", subjects),
    ("a subject's records round-trip in order", records),
    ("objections are recorded once per purpose", objections),
    ("tokens are unique by hash", tokens),
    ("the audit head moves with each append", audit),
    ("disclosures and meta round-trip", disclosures_and_meta),
    ("a failed job in a group commit changes nothing, its neighbours commit", group_commit),
    ("a transient conflict runs the transaction again, a bounded number of times", retries),
    ("records need an existing subject", foreign_keys),
    ("read transactions see committed data, also when several reads share one", reads),
    ("retention clocks, holds and erasure", retention),
    ("the sweep erases a batch of due subjects, each whole, and only those still due", sweep),
    ("a job's lease is taken once a day by one instance", jobs),
    ("safeguards, transfer activations and a recipient's disclosures", governance),
    ("the outbox queues once, leases, retries and records delivery", outbox),
    ("policy versions are recorded and activated", policy_versions),
    ("a revision's compatibility assessments are recorded, replaced, and need their version", assessments),
    ("rights requests, identity documents, suppression, rectification", requests),
    ("breaches, their phases, and scopes by ids, kinds, dates, recipient and actor", breaches),
    ("a restriction is set once, lifted once, set again, and goes with its subject", restrictions),
    ("identity confirmation links: one per request, found by hash, gone with their subject", confirmations),
    ("a merge moves every row of one subject to another and leaves a tombstone naming it", merges),
    ("the operations counts: requests by status and overdue, late breaches, the outbox", ops_counts),
    ("accounts are unique by email index; sessions touch, expire and go with logout and disabling", accounts),
    ("the register's volumes: requests (open ones apart), breaches, disclosures", own_counts),
    ("name blind indexes: set, replaced, removed, bulk-inserted, gone with their subject", names),
    (
        "contract reference blind indexes: set, found once a subject, moved by a merge, gone at erasure",
        contract_references,
    ),
    ("a subject's revision moves with every write its reads depend on, and only with those", revisions),
    ("the live counts per kind follow every write, and a scope of kinds is counted from them", subject_counts),
    ("a create's intake: suppression and duplicates in one query, the subject and its name in one write", intake),
    ("in a group commit, jobs that send nothing, read, write or fail each get their own outcome", quiet_jobs),
];

/// One `#[test]` per check, for a backend's test file: `$fresh` is a function returning
/// `Option<(Store, Guard)>` (a fresh database and what removes it; `None` skips, outside CI).
/// A test also checks that every check of [`CHECKS`] has its test.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::conformance_tests!(@each $fresh; subjects records objections tokens audit disclosures_and_meta group_commit retries foreign_keys reads retention sweep jobs governance outbox policy_versions assessments requests breaches restrictions confirmations merges ops_counts accounts own_counts names contract_references revisions subject_counts intake quiet_jobs);
    };
    (@each $fresh:path; $($check:ident)*) => {
        $(
            #[test]
            fn $check() -> Result<(), String> {
                let Some((store, guard)) = $fresh() else { return Ok(()) };
                let outcome = $crate::conformance::$check(&store);
                drop(store);
                drop(guard);
                outcome
            }
        )*

        #[test]
        fn every_check_has_its_test() {
            let tested: &[&str] = &[$(stringify!($check)),*];
            assert_eq!(tested.len(), $crate::conformance::CHECKS.len());
        }
    };
}

/// Runs every check; returns the failures, each prefixed by its name.
pub fn run(store: &Store) -> Vec<String> {
    CHECKS
        .iter()
        .filter_map(|(name, check)| check(store).err().map(|e| format!("{} [{}]: {e}", name, store.backend_name())))
        .collect()
}

/// The closed-set columns whose values the schema checks (`CHECK (column IN (...))`), each with
/// its enum's spellings: what the store binds and reads back must be what the schema allows.
pub fn closed_set_columns() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    fn all<T: Copy>(values: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
        values.iter().map(|v| as_str(*v)).collect()
    }
    vec![
        ("subjects", "kind", all(SubjectKind::ALL, SubjectKind::as_str)),
        ("subject_counts", "kind", all(SubjectKind::ALL, SubjectKind::as_str)),
        ("interactions", "direction", all(Direction::ALL, Direction::as_str)),
        ("tokens", "role", all(Role::ALL, Role::as_str)),
        ("accounts", "role", all(Role::PEOPLE, Role::as_str)),
        ("legal_hold_events", "action", all(HoldAction::ALL, HoldAction::as_str)),
        ("safeguards", "kind", all(SafeguardKind::ALL, SafeguardKind::as_str)),
        ("outbox", "status", all(OutboxStatus::ALL, OutboxStatus::as_str)),
        ("policy_versions", "status", all(PolicyStatus::ALL, PolicyStatus::as_str)),
        ("requests", "kind", all(RequestKind::ALL, RequestKind::as_str)),
        ("requests", "channel", all(RequestChannel::ALL, RequestChannel::as_str)),
        ("requests", "status", all(RequestStatus::ALL, RequestStatus::as_str)),
        ("requests", "identity_decision", all(IdentityVerdict::ALL, IdentityVerdict::as_str)),
        ("requests", "lang", all(&vigie_domain::Lang::ALL, vigie_domain::Lang::code)),
        ("breaches", "risk", all(BreachRisk::ALL, BreachRisk::as_str)),
        ("breaches", "status", all(BreachStatus::ALL, BreachStatus::as_str)),
        ("restrictions", "ground", all(RestrictionGround::ALL, RestrictionGround::as_str)),
        ("policy_assessments", "kind", all(SubjectKind::ALL, SubjectKind::as_str)),
        ("policy_assessments", "from_basis", all(LegalBasis::ALL, LegalBasis::as_str)),
        ("policy_assessments", "to_basis", all(LegalBasis::ALL, LegalBasis::as_str)),
    ]
}

/// Checks a backend's migrations against [`closed_set_columns`]: every such column's
/// `CHECK (column IN (...))` lists exactly its enum's values. Returns the mismatches.
pub fn closed_sets_match(migrations: &[(i64, &str)]) -> Vec<String> {
    let sql: String = migrations
        .iter()
        .flat_map(|(_, s)| s.lines())
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    // The last statement that defines the column's check wins: a `CREATE TABLE` (SQLite rebuilds
    // a table to change one) or an `ALTER TABLE … ADD CONSTRAINT` (PostgreSQL).
    let checked = |table: &str, column: &str| -> Option<Vec<String>> {
        let (create, alter) = (format!("CREATE TABLE {table} ("), format!("ALTER TABLE {table} ADD CONSTRAINT"));
        let pattern = format!("CHECK ({column} IN (");
        let list = sql
            .split(';')
            .rev()
            .filter(|stmt| stmt.contains(&create) || stmt.contains(&alter))
            .find_map(|stmt| stmt.split(&pattern).nth(1)?.split("))").next())?;
        Some(list.split(',').map(|v| v.trim().trim_matches('\'').to_string()).collect())
    };
    closed_set_columns()
        .into_iter()
        .filter_map(|(table, column, values)| {
            let found = checked(table, column);
            let same = found.as_ref().is_some_and(|f| f.iter().map(String::as_str).eq(values.iter().copied()));
            (!same).then(|| format!("{table}.{column}: the schema checks {found:?}, the enum has {values:?}"))
        })
        .collect()
}

fn ensure(cond: bool, what: &str) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.to_string()) }
}

fn subject(kind: SubjectKind, email: Option<&[u8]>) -> SubjectRow {
    let at = now();
    SubjectRow {
        id: new_id(),
        kind,
        collected_at: at,
        created_at: at,
        updated_at: at,
        email_bi: email.map(<[u8]>::to_vec),
        phone_bi: Some(new_id().as_bytes()[..16].to_vec()),
        identity: vec![1, 2, 3, 4],
        wrapped_key: vec![9; 60],
        retention_rule: "last_inbound_contact".into(),
        basis_date: Some(at.date_naive()),
        expires_on: None,
        legal_hold: None,
        held_at: None,
    }
}

fn w<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&mut dyn crate::Tx) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    store.write_blocking(f).map_err(|e| e.to_string())
}

pub fn subjects(store: &Store) -> Result<(), String> {
    let email = new_id().as_bytes().to_vec();
    let a = subject(SubjectKind::Prospect, Some(&email));
    let b = subject(SubjectKind::Client, Some(&email));
    let c = subject(SubjectKind::Client, None);
    let (a2, b2, c2) = (a.clone(), b.clone(), c.clone());
    let before = w(store, |tx| tx.count_subjects())?;
    w(store, move |tx| {
        tx.insert_subject(&a2)?;
        tx.insert_subjects(&[b2, c2])
    })?;
    let (aid, phone) = (a.id, a.phone_bi.clone().unwrap_or_default());
    let (got, by_email, by_phone, after) = w(store, move |tx| {
        Ok((tx.subject(aid)?, tx.subjects_by_email(&email)?, tx.subjects_by_phone(&phone)?, tx.count_subjects()?))
    })?;
    ensure(got.as_ref() == Some(&a), "subject read back differs from the one written")?;
    let mut expected = vec![a.id, b.id];
    expected.sort();
    ensure(by_email == expected, "email blind index lookup")?;
    ensure(by_phone == vec![a.id], "phone blind index lookup")?;
    ensure(after == before + 3, "count_subjects")?;
    let later = now();
    w(store, move |tx| tx.set_subject_kind(aid, SubjectKind::Client, later))?;
    let got = w(store, move |tx| tx.subject(aid))?;
    ensure(got.is_some_and(|s| s.kind == SubjectKind::Client && s.updated_at == later), "set_subject_kind")?;
    let missing = store.write_blocking(|tx| tx.set_subject_kind(new_id(), SubjectKind::Client, now()));
    ensure(matches!(missing, Err(StoreError::NotFound(_))), "set_subject_kind on a missing subject is NotFound")?;
    let by_kind = w(store, |tx| tx.count_subjects_by(StatGroup::Kind))?;
    ensure(by_kind.iter().map(|g| g.count).sum::<i64>() == after, "counts by kind add up")?;
    ensure(by_kind.iter().all(|g| g.group == "client" || g.group == "prospect"), "groups are kinds")?;
    let by_year = w(store, |tx| tx.count_subjects_by(StatGroup::CollectedYear))?;
    ensure(by_year.iter().all(|g| g.group.len() == 4), "groups are years")?;
    ensure(w(store, |tx| tx.subject(new_id()))?.is_none(), "a missing subject is None")?;
    Ok(())
}

pub fn records(store: &Store) -> Result<(), String> {
    let s = subject(SubjectKind::Client, None);
    let sid = s.id;
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let c1 = ContractRow {
        id: new_id(),
        subject_id: sid,
        reference: vec![1],
        start: d(2021, 3, 1),
        end: None,
        created_at: now(),
    };
    let c0 = ContractRow {
        id: new_id(),
        subject_id: sid,
        reference: vec![2],
        start: d(2019, 1, 1),
        end: Some(d(2021, 2, 28)),
        created_at: now(),
    };
    let t = |h| Utc.with_ymd_and_hms(2023, 6, 15, h, 0, 0).single().unwrap_or_default();
    let i1 = InteractionRow {
        id: new_id(),
        subject_id: sid,
        at: t(12),
        direction: Direction::Outbound,
        channel: "phone".into(),
        summary: None,
        created_at: now(),
    };
    let i0 = InteractionRow {
        id: new_id(),
        subject_id: sid,
        at: t(10),
        direction: Direction::Inbound,
        channel: "email".into(),
        summary: Some(vec![7]),
        created_at: now(),
    };
    let k0 = ConsentRow {
        id: new_id(),
        subject_id: sid,
        purpose: "events".into(),
        granted: true,
        at: t(9),
        evidence: vec![3],
    };
    let k1 = ConsentRow {
        id: new_id(),
        subject_id: sid,
        purpose: "events".into(),
        granted: false,
        at: t(11),
        evidence: vec![4],
    };
    let rows = (c1.clone(), c0.clone(), i1.clone(), i0.clone(), k1.clone(), k0.clone());
    w(store, move |tx| {
        tx.insert_subject(&s)?;
        tx.insert_contract(&rows.0)?;
        tx.insert_contract(&rows.1)?;
        tx.insert_interaction(&rows.2)?;
        tx.insert_interaction(&rows.3)?;
        tx.insert_consent(&rows.4)?;
        tx.insert_consent(&rows.5)
    })?;
    let (cs, is, ks) = w(store, move |tx| Ok((tx.contracts(sid)?, tx.interactions(sid)?, tx.consents(sid)?)))?;
    ensure(cs == vec![c0, c1], "contracts in start order, end dates kept")?;
    ensure(is == vec![i0, i1], "interactions in time order, direction kept")?;
    ensure(ks == vec![k0, k1], "consents in time order")?;
    Ok(())
}

pub fn objections(store: &Store) -> Result<(), String> {
    let s = subject(SubjectKind::Prospect, None);
    let sid = s.id;
    let o = ObjectionRow { id: new_id(), subject_id: sid, purpose: "prospect_relations".into(), at: now() };
    let again = ObjectionRow { id: new_id(), ..o.clone() };
    let o2 = o.clone();
    let (first, second) = w(store, move |tx| {
        tx.insert_subject(&s)?;
        Ok((tx.insert_objection(&o2)?, tx.insert_objection(&again)?))
    })?;
    ensure(first && !second, "second objection to the same purpose is not recorded")?;
    ensure(w(store, move |tx| tx.objections(sid))? == vec![o], "objections round-trip")
}

pub fn tokens(store: &Store) -> Result<(), String> {
    let t = TokenRow {
        id: new_id(),
        hash: new_id().as_bytes().to_vec(),
        role: Role::Staff,
        recipient: None,
        created_at: now(),
        revoked_at: None,
        expires_at: Some(now() + chrono::TimeDelta::days(90)),
        last_used_at: None,
    };
    let (t1, hash) = (t.clone(), t.hash.clone());
    let before = w(store, |tx| tx.count_tokens())?;
    w(store, move |tx| tx.insert_token(&t1))?;
    let h = hash.clone();
    ensure(w(store, move |tx| tx.token_by_hash(&h))? == Some(t.clone()), "token by hash")?;
    let (id, used) = (t.id, now());
    w(store, move |tx| tx.touch_token(id, used))?;
    let h = hash.clone();
    ensure(
        w(store, move |tx| tx.token_by_hash(&h))?.and_then(|r| r.last_used_at) == Some(used),
        "a token's last use is recorded",
    )?;
    let dup = TokenRow { id: new_id(), ..t };
    let r = store.write_blocking(move |tx| tx.insert_token(&dup));
    ensure(matches!(r, Err(StoreError::Conflict(_))), "a duplicate hash is a Conflict")?;
    ensure(w(store, |tx| tx.count_tokens())? == before + 1, "count_tokens")?;
    ensure(w(store, |tx| tx.token_by_hash(b"nope"))?.is_none(), "unknown hash")
}

pub fn accounts(store: &Store) -> Result<(), String> {
    let at = now();
    let account = |role: Role| AccountRow {
        id: new_id(),
        email_bi: new_id().as_bytes().to_vec(),
        email: vec![1, 2, 3],
        wrapped_key: vec![9; 60],
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        must_change: true,
        created_at: at,
        password_changed_at: at,
        last_login_at: None,
        disabled_at: None,
    };
    let (a, b) = (account(Role::Dpo), account(Role::Admin));
    let (a1, b1) = (a.clone(), b.clone());
    w(store, move |tx| {
        tx.insert_account(&a1)?;
        tx.insert_account(&b1)
    })?;
    let (id, bi) = (a.id, a.email_bi.clone());
    let (by_id, by_email) = w(store, move |tx| Ok((tx.account(id)?, tx.account_by_email(&bi)?)))?;
    ensure(by_id.as_ref() == Some(&a) && by_email.as_ref() == Some(&a), "an account reads back by id and email index")?;
    let listed = w(store, |tx| tx.accounts())?;
    let pos = |id| listed.iter().position(|x: &AccountRow| x.id == id);
    ensure(pos(a.id).is_some() && pos(a.id) < pos(b.id), "accounts are listed oldest first")?;
    let dup = AccountRow { id: new_id(), ..a.clone() };
    let r = store.write_blocking(move |tx| tx.insert_account(&dup));
    ensure(matches!(r, Err(StoreError::Conflict(_))), "a second account with the same email index is a Conflict")?;
    let later = at + chrono::TimeDelta::seconds(5);
    w(store, move |tx| {
        tx.set_password(id, "$argon2id$new", false, later)?;
        tx.record_login(id, later)
    })?;
    let got = w(store, move |tx| tx.account(id))?.ok_or("the account is gone")?;
    ensure(
        got.password_hash == "$argon2id$new"
            && !got.must_change
            && got.password_changed_at == later
            && got.last_login_at == Some(later),
        "set_password and record_login",
    )?;
    let missing = store.write_blocking(move |tx| tx.set_password(new_id(), "x", false, later));
    ensure(matches!(missing, Err(StoreError::NotFound(_))), "set_password on a missing account is NotFound")?;
    // Sessions: found by hash, touched, deleted one by one, by idleness and by account.
    let session = |account: Id, seen| SessionRow {
        hash: new_id().as_bytes().to_vec(),
        account_id: account,
        created_at: at,
        last_seen_at: seen,
    };
    let (s1, s2, s3) = (session(a.id, at), session(a.id, at), session(b.id, at - chrono::TimeDelta::hours(1)));
    let (c1, c2, c3) = (s1.clone(), s2.clone(), s3.clone());
    w(store, move |tx| {
        tx.insert_session(&c1)?;
        tx.insert_session(&c2)?;
        tx.insert_session(&c3)
    })?;
    let h1 = s1.hash.clone();
    ensure(w(store, move |tx| tx.session(&h1))? == Some(s1.clone()), "a session reads back by hash")?;
    let h1 = s1.hash.clone();
    w(store, move |tx| tx.touch_session(&h1, later))?;
    let h1 = s1.hash.clone();
    ensure(w(store, move |tx| tx.session(&h1))?.is_some_and(|s| s.last_seen_at == later), "touch_session")?;
    let idle = w(store, move |tx| tx.delete_idle_sessions(at - chrono::TimeDelta::minutes(30)))?;
    ensure(idle >= 1, "idle sessions are deleted")?;
    let h3 = s3.hash.clone();
    ensure(w(store, move |tx| tx.session(&h3))?.is_none(), "the idle session is gone")?;
    let h2 = s2.hash.clone();
    ensure(w(store, move |tx| tx.delete_session(&h2))?, "delete_session")?;
    let h2 = s2.hash.clone();
    ensure(!w(store, move |tx| tx.delete_session(&h2))?, "a deleted session is deleted once")?;
    ensure(w(store, move |tx| tx.delete_sessions_of(id))? == 1, "an account's sessions are deleted")?;
    let orphan = session(new_id(), at);
    let r = store.write_blocking(move |tx| tx.insert_session(&orphan));
    ensure(r.is_err(), "a session needs an existing account")?;
    ensure(w(store, move |tx| tx.disable_account(id, later))?, "disable_account")?;
    ensure(!w(store, move |tx| tx.disable_account(id, later))?, "an account is disabled once")?;
    ensure(
        w(store, move |tx| tx.account(id))?.is_some_and(|x| x.disabled_at == Some(later)),
        "the account records when it was disabled",
    )?;
    // The account's key is re-wrapped by a master-key rotation like every other.
    let keys = w(store, |tx| tx.wrapped_keys())?;
    ensure(keys.iter().any(|(o, k, _)| *o == KeyOwner::Account && *k == id), "wrapped_keys lists accounts")?;
    w(store, move |tx| tx.set_wrapped_key(KeyOwner::Account, id, &[7; 60]))?;
    ensure(w(store, move |tx| tx.account(id))?.is_some_and(|x| x.wrapped_key == vec![7; 60]), "set_wrapped_key")
}

pub fn audit(store: &Store) -> Result<(), String> {
    let (seq0, _) = w(store, |tx| tx.audit_head())?;
    let entry = move |seq: i64| AuditRow {
        seq,
        at: now(),
        actor: "token:x".into(),
        action: "subject.read".into(),
        subject_id: Some(new_id()),
        purpose: Some("events".into()),
        fields: "email,phone".into(),
        outcome: "refused".into(),
        detail: Some("no_consent".into()),
        hash: vec![seq as u8; 32],
    };
    let (e1, e2) = (entry(seq0 + 1), AuditRow { subject_id: None, purpose: None, detail: None, ..entry(seq0 + 2) });
    let (a, b) = (e1.clone(), e2.clone());
    w(store, move |tx| {
        tx.append_audit(&a, &[])?;
        tx.append_audit(&b, &[])
    })?;
    let (head, page, recorded) =
        w(store, move |tx| Ok((tx.audit_head()?, tx.audit_page(seq0, 10)?, tx.audit_head_recorded()?)))?;
    ensure(head == (seq0 + 2, e2.hash.clone()), "head moves to the last entry")?;
    ensure(recorded == head, "recorded head")?;
    ensure(page == vec![e1, e2.clone()], "audit page in order, exact round-trip")?;
    let page = w(store, move |tx| tx.audit_page(seq0 + 1, 1))?;
    ensure(page == vec![e2], "paging after a seq")?;
    let batch: Vec<AuditRow> = (3..6).map(|i| entry(seq0 + i)).collect();
    let b = batch.clone();
    w(store, move |tx| tx.append_audits(&b, &[]))?;
    let (head, page) = w(store, move |tx| Ok((tx.audit_head()?, tx.audit_page(seq0 + 2, 10)?)))?;
    ensure(page == batch, "a batch of entries in order")?;
    ensure(head == (seq0 + 5, vec![(seq0 + 5) as u8; 32]), "the head moves to the batch's last entry")?;
    // A subject's entries: only its own, in order, paged after a seq.
    let sid = new_id();
    let about: Vec<AuditRow> = [6, 7, 9]
        .into_iter()
        .map(|i| AuditRow { subject_id: Some(sid), action: "subject.read".into(), ..entry(seq0 + i) })
        .collect();
    let other = entry(seq0 + 8);
    let (a, o) = (about.clone(), other.clone());
    w(store, move |tx| {
        tx.append_audits(&a[..2], &[])?;
        tx.append_audit(&o, &[])?;
        tx.append_audit(&a[2], &[])
    })?;
    let (all, after, none) = w(store, move |tx| {
        Ok((
            tx.audit_for_subject(sid, 0, 100)?,
            tx.audit_for_subject(sid, seq0 + 6, 1)?,
            tx.audit_for_subject(new_id(), 0, 100)?,
        ))
    })?;
    ensure(all == about, "a subject's entries, its own only, exact round-trip")?;
    ensure(all.windows(2).all(|p| p[0].seq < p[1].seq), "a subject's entries in order")?;
    ensure(after.len() == 1 && after[0].seq == seq0 + 7, "a subject's entries paged after a seq")?;
    ensure(none.is_empty(), "no entry for an unknown subject")
}

pub fn disclosures_and_meta(store: &Store) -> Result<(), String> {
    let sid = new_id();
    let d = DisclosureRow {
        id: new_id(),
        at: now(),
        recipient: "accountant".into(),
        subject_id: sid,
        fields: "email".into(),
        purpose: "contract_management".into(),
        token_id: Some(new_id()),
    };
    let d1 = d.clone();
    w(store, move |tx| {
        tx.insert_disclosure(&d1)?;
        tx.set_meta("conformance", "1")?;
        tx.set_meta("conformance", "2")
    })?;
    ensure(w(store, move |tx| tx.disclosures_for_subject(sid))? == vec![d], "disclosures by subject")?;
    ensure(w(store, |tx| tx.meta("conformance"))?.as_deref() == Some("2"), "meta overwrite")?;
    ensure(w(store, |tx| tx.meta("absent"))?.is_none(), "absent meta")
}

/// A stand-in for the audit key: an entry's hash is the second half of the previous hash followed
/// by the entry's subject id, and the head's MAC is the hash itself.
pub struct TestSeal;

impl crate::AuditSeal for TestSeal {
    fn chain(&self, previous: &[u8], entry: &AuditRow) -> Vec<u8> {
        let mut hash = previous[previous.len().saturating_sub(16)..].to_vec();
        hash.extend_from_slice(entry.subject_id.unwrap_or_default().as_bytes());
        hash
    }

    fn head_mac(&self, _seq: i64, hash: &[u8]) -> Vec<u8> {
        hash.to_vec()
    }
}

pub fn group_commit(store: &Store) -> Result<(), String> {
    // Forty writers at once, so the writer thread batches them; every third fails, after it
    // has queued its audit entry: its entry must not be written, the head must stay where it was,
    // and the entries of the batch's other jobs take consecutive places in the chain.
    let (seq0, _) = w(store, |tx| tx.audit_head())?;
    let rows: Vec<SubjectRow> = (0..40).map(|_| subject(SubjectKind::Prospect, None)).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(rows.len()));
    // Some jobs read their own entry back after appending it (the entries of the batch so far are
    // then written mid-batch); some of those fail afterwards, which must not take the entries of
    // the jobs before them out of the chain.
    let blind = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles: Vec<_> = rows
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, row)| {
            let (store, barrier, blind) = (store.clone(), barrier.clone(), blind.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.write_blocking(move |tx| {
                    tx.insert_subject(&row)?;
                    let e = AuditRow {
                        seq: 0,
                        at: now(),
                        actor: "token:x".into(),
                        action: "subject.create".into(),
                        subject_id: Some(row.id),
                        purpose: None,
                        fields: String::new(),
                        outcome: "ok".into(),
                        detail: None,
                        hash: Vec::new(),
                    };
                    tx.queue_audit(e, std::sync::Arc::new(TestSeal))?;
                    if i % 5 == 1 && tx.audit_for_subject(row.id, 0, 10)?.is_empty() {
                        blind.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    if i % 3 == 0 { Err(StoreError::Conflict("deliberate".into())) } else { Ok(()) }
                })
            })
        })
        .collect();
    for (i, (row, handle)) in rows.iter().zip(handles).enumerate() {
        let result = handle.join().map_err(|_| "a writer thread panicked".to_string())?;
        let id = row.id;
        let present = w(store, move |tx| tx.subject(id))?.is_some();
        ensure(present == (i % 3 != 0), "a job's outcome decides its rows alone")?;
        ensure(result.is_ok() == (i % 3 != 0), "each caller gets its own outcome")?;
    }
    // The chain as committed: one entry per job that succeeded, consecutive, each continuing
    // the one before it, and the head row (seq, hash, MAC) on the last.
    let (page, head, mac) = store
        .read_blocking(move |tx| Ok((tx.audit_page(seq0, 100)?, tx.audit_head_recorded()?, tx.audit_head_mac()?)))
        .map_err(|e: StoreError| e.to_string())?;
    let kept: Vec<Id> = rows.iter().enumerate().filter(|(i, _)| i % 3 != 0).map(|(_, r)| r.id).collect();
    ensure(page.len() == kept.len(), "one entry per committed job, none of a rolled-back one")?;
    for (k, e) in page.iter().enumerate() {
        ensure(e.seq == seq0 + 1 + k as i64, "consecutive entries")?;
        ensure(e.subject_id.is_some_and(|s| kept.contains(&s)), "entries of committed jobs only")?;
        ensure(e.hash.ends_with(&e.subject_id.unwrap_or_default().as_bytes()[..]), "an entry's own hash")?;
        if k > 0 {
            let prev = &page[k - 1].hash;
            ensure(e.hash[..16] == prev[16..], "each entry continues the one committed before it")?;
        }
    }
    ensure(!blind.load(std::sync::atomic::Ordering::SeqCst), "a job reads the entries it appended")?;
    // The subjects' counts, moved by each job and written once per batch, count the committed ones.
    let (kept_counts, fresh_counts) =
        w(store, |tx| Ok((tx.subject_counts()?, tx.count_subjects_by(StatGroup::Kind)?)))?;
    let live = |g: Vec<crate::GroupCount>| {
        g.into_iter().filter(|g| g.count != 0).map(|g| (g.group, g.count)).collect::<Vec<_>>()
    };
    ensure(live(kept_counts) == live(fresh_counts), "the counts kept are a fresh count's")?;
    let last = page.last().ok_or("no entry committed")?;
    ensure(head == (last.seq, last.hash.clone()), "the head row is on the last entry")?;
    ensure(mac.as_deref() == Some(&last.hash[..]), "the head row carries the last entry's MAC")
}

pub fn foreign_keys(store: &Store) -> Result<(), String> {
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
    let c = ContractRow { id: new_id(), subject_id: new_id(), reference: vec![1], start, end: None, created_at: now() };
    let r = store.write_blocking(move |tx| tx.insert_contract(&c));
    ensure(r.is_err(), "a contract for a missing subject is refused")
}

pub fn reads(store: &Store) -> Result<(), String> {
    let s = subject(SubjectKind::Prospect, None);
    let (sid, s2) = (s.id, s.clone());
    w(store, move |tx| tx.insert_subject(&s2))?;
    let seen = store.read_blocking(move |tx| tx.subject(sid)).map_err(|e| e.to_string())?;
    // A read transaction cannot write: its closure gets a `ReadTx` (see the doc test on it).
    ensure(seen == Some(s), "a read sees a committed write")?;
    // Many callers at once, each writing then reading: the reads wait together and share read
    // transactions (`WorkerConfig::read_batch`), yet each sees the write its caller saw committed,
    // and the other callers' writes committed before it was asked for.
    let callers = 48;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(callers));
    let handles: Vec<_> = (0..callers)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<(), String> {
                barrier.wait();
                for _ in 0..5 {
                    let s = subject(SubjectKind::Prospect, None);
                    let id = s.id;
                    w(&store, move |tx| tx.insert_subject(&s))?;
                    let seen = store.read_blocking(move |tx| tx.subject(id)).map_err(|e: StoreError| e.to_string())?;
                    ensure(seen.is_some(), "a read asked for after a commit sees it")?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "a caller panicked".to_string())??;
    }
    Ok(())
}

pub fn retention(store: &Store) -> Result<(), String> {
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    // Dates far in the past, so that rows of other checks sharing the database do not interfere.
    let mk = |expires: NaiveDate| {
        let mut s = subject(SubjectKind::Prospect, None);
        s.basis_date = Some(d(1900, 1, 1));
        s.expires_on = Some(expires);
        s
    };
    let (a, b, c) = (mk(d(1903, 1, 10)), mk(d(1903, 2, 28)), mk(d(1903, 3, 1)));
    let (ids, rows) = ([a.id, b.id, c.id], vec![a.clone(), b.clone(), c.clone()]);
    let sid = a.id;
    let s2 = SubjectRow { id: new_id(), ..a.clone() };
    let s2id = s2.id;
    w(store, move |tx| {
        tx.insert_subjects(&rows)?;
        tx.insert_subject(&s2)?;
        tx.insert_contract(&ContractRow {
            id: new_id(),
            subject_id: sid,
            reference: vec![1],
            start: d(1900, 1, 1),
            end: None,
            created_at: now(),
        })?;
        tx.insert_disclosure(&DisclosureRow {
            id: new_id(),
            at: now(),
            recipient: "r".into(),
            subject_id: sid,
            fields: "email".into(),
            purpose: "p".into(),
            token_id: None,
        })
    })?;
    w(store, move |tx| tx.set_retention(s2id, "last_contract_end", None, None))?;
    let due = w(store, move |tx| tx.due(d(1903, 3, 1), 10))?;
    let expect = vec![
        DueRow {
            id: ids[0],
            kind: SubjectKind::Prospect,
            rule: "last_inbound_contact".into(),
            basis_date: Some(d(1900, 1, 1)),
            expires_on: d(1903, 1, 10),
        },
        DueRow {
            id: ids[1],
            kind: SubjectKind::Prospect,
            rule: "last_inbound_contact".into(),
            basis_date: Some(d(1900, 1, 1)),
            expires_on: d(1903, 2, 28),
        },
    ];
    ensure(due == expect, "due: expired before `at`, earliest first, open clocks never")?;
    ensure(w(store, move |tx| tx.due(d(1903, 3, 1), 1))?.len() == 1, "due honours its limit")?;
    ensure(w(store, move |tx| tx.count_due(d(1903, 3, 1)))? >= 2, "count_due counts them")?;
    let months = w(store, move |tx| tx.count_expiring_by_month(d(1903, 1, 1), d(1903, 4, 1)))?;
    let months: Vec<(String, i64)> = months.into_iter().map(|g| (g.group, g.count)).collect();
    ensure(months == vec![("1903-01".into(), 1), ("1903-02".into(), 1), ("1903-03".into(), 1)], "forecast by month")?;

    let held = ids[1];
    w(store, move |tx| tx.set_legal_hold(held, Some((b"sealed", now()))))?;
    let due = w(store, move |tx| tx.due(d(1903, 3, 1), 10))?;
    ensure(due.iter().map(|r| r.id).collect::<Vec<_>>() == vec![ids[0]], "a held subject is never due")?;
    let h = w(store, move |tx| tx.held_due(d(1903, 3, 1)))?;
    ensure(
        h.len() == 1 && h[0].due.id == held && h[0].reason == b"sealed" && h[0].wrapped_key.len() == 60,
        "held subjects listed apart",
    )?;
    let holds = w(store, move |tx| tx.legal_holds(10))?;
    ensure(holds.len() == 1 && holds[0].0 == held && holds[0].1.is_some(), "legal holds listed with their date")?;
    ensure(w(store, move |tx| tx.legal_holds(0))?.is_empty(), "legal_holds honours its limit")?;
    let stored = w(store, move |tx| tx.subject(held))?;
    ensure(
        stored.is_some_and(|s| s.legal_hold.as_deref() == Some(b"sealed".as_slice()) && s.held_at.is_some()),
        "the hold is on the subject",
    )?;
    let event = |action: HoldAction| crate::HoldEventRow {
        id: new_id(),
        subject_id: held,
        action,
        reason: b"sealed".to_vec(),
        at: now(),
        actor: "token:x".into(),
    };
    let (set, lift) = (event(HoldAction::Set), event(HoldAction::Lift));
    let events = vec![set.clone(), lift.clone()];
    w(store, move |tx| {
        tx.insert_hold_event(&set)?;
        tx.insert_hold_event(&lift)?;
        tx.set_legal_hold(held, None)
    })?;
    ensure(w(store, move |tx| tx.hold_events(held))? == events, "hold history in order")?;
    ensure(w(store, move |tx| tx.held_due(d(1903, 3, 1)))?.is_empty(), "a lifted hold")?;
    ensure(w(store, move |tx| tx.legal_holds(10))?.is_empty(), "a lifted hold is not listed")?;

    let at = now();
    let (erased, again) = w(store, move |tx| {
        Ok((tx.erase_subject(sid, "last_inbound_contact", at)?, tx.erase_subject(sid, "last_inbound_contact", at)?))
    })?;
    ensure(erased && !again, "erasure happens once")?;
    let (subject, contracts, disclosures, tomb, counts) = w(store, move |tx| {
        Ok((
            tx.subject(sid)?,
            tx.contracts(sid)?,
            tx.disclosures_for_subject(sid)?,
            tx.erasure(sid)?,
            tx.erased_counts()?,
        ))
    })?;
    ensure(
        subject.is_none() && contracts.is_empty() && disclosures.is_empty(),
        "nothing of an erased subject remains",
    )?;
    ensure(
        tomb.is_some_and(|t| t.rule == "last_inbound_contact" && t.kind == SubjectKind::Prospect && t.erased_at == at),
        "tombstone",
    )?;
    ensure(
        counts.iter().any(|g| g.group.ends_with("|prospect|last_inbound_contact") && g.count >= 1),
        "aggregate count",
    )?;
    ensure(w(store, move |tx| tx.erasure(new_id()))?.is_none(), "no tombstone for a live id")
}

/// `Tx::erase_due`, the sweep's batched erasure: over more than one chunk of ids, it erases
/// exactly those still due under the lock (a hold set or a clock moved after the plan keeps the
/// subject, as do an open request and the last storable day), each whole, under its own rule;
/// a batch that fails on one subject leaves every subject of the batch as it was.
pub fn sweep(store: &Store) -> Result<(), String> {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
    // A month of its own for the aggregate counts.
    let at = Utc.with_ymd_and_hms(1999, 1, 15, 12, 0, 0).single().ok_or("date")?;
    let due_at = d(1906, 1, 1);
    let mk = |kind: SubjectKind, rule: &str, expires: NaiveDate| {
        let mut s = subject(kind, Some(new_id().as_bytes().as_slice()));
        s.retention_rule = rule.into();
        s.basis_date = Some(d(1900, 1, 1));
        s.expires_on = Some(expires);
        s
    };
    // More than one chunk of plainly due prospects, and a due client under its own rule.
    let plain: Vec<SubjectRow> = (0..crate::sql::tx::ERASE_CHUNK + 200)
        .map(|_| mk(SubjectKind::Prospect, "last_inbound_contact", d(1905, 6, 1)))
        .collect();
    let client = mk(SubjectKind::Client, "last_contract_end", d(1905, 12, 31));
    let held = mk(SubjectKind::Prospect, "last_inbound_contact", d(1905, 1, 1));
    let moved = mk(SubjectKind::Prospect, "last_inbound_contact", d(1905, 2, 1));
    let last_day = mk(SubjectKind::Prospect, "last_inbound_contact", d(1906, 1, 1));
    let no_end = mk(SubjectKind::Client, "last_contract_end", d(9999, 12, 31));
    let asking = mk(SubjectKind::Prospect, "last_inbound_contact", d(1905, 3, 1));
    let (cid, hid, mid, lid, nid, aid) = (client.id, held.id, moved.id, last_day.id, no_end.id, asking.id);
    let open = request_row(Some(aid));
    let mut closed = request_row(Some(cid));
    closed.status = RequestStatus::Completed;
    closed.response = Some(vec![7; 10]);
    let closed_id = closed.id;
    let name = new_id().as_bytes().to_vec();
    let mut rows = plain.clone();
    rows.extend([client.clone(), held, moved, last_day, no_end, asking]);
    let name2 = name.clone();
    w(store, move |tx| {
        tx.insert_subjects(&rows)?;
        tx.insert_contract(&ContractRow {
            id: new_id(),
            subject_id: cid,
            reference: vec![1],
            start: d(1900, 1, 1),
            end: Some(d(1900, 12, 31)),
            created_at: now(),
        })?;
        tx.insert_objection(&ObjectionRow { id: new_id(), subject_id: cid, purpose: "p".into(), at: now() })?;
        tx.set_subject_name(cid, Some(&name2))?;
        tx.insert_disclosure(&DisclosureRow {
            id: new_id(),
            at: now(),
            recipient: "r".into(),
            subject_id: cid,
            fields: "email".into(),
            purpose: "p".into(),
            token_id: None,
        })?;
        tx.queue_message(&crate::NewMessage {
            idempotency_key: format!("sweep-{cid}"),
            subject_id: Some(cid),
            recipient: None,
            template: "t".into(),
            params: "{}".into(),
            at: now(),
        })?;
        tx.insert_request(&open)?;
        tx.insert_request(&closed)
    })?;
    let mut ids: Vec<Id> = rows_ids(&plain);
    ids.extend([cid, hid, mid, lid, nid, aid]);
    // After the plan: a hold is set on one subject, another's clock moves past the date.
    w(store, move |tx| {
        tx.set_legal_hold(hid, Some((b"sealed", now())))?;
        tx.set_retention(mid, "last_inbound_contact", Some(d(1903, 1, 1)), Some(d(1906, 2, 1)))
    })?;
    let batch = ids.clone();
    let erased = w(store, move |tx| tx.erase_due(&batch, at, due_at))?;
    let mut expected: Vec<Id> = rows_ids(&plain);
    expected.push(cid);
    expected.sort();
    ensure(erased.iter().map(|r| r.id).collect::<Vec<_>>() == expected, "erase_due returns the erased, in id order")?;
    ensure(
        erased.iter().all(|r| (r.id == cid) == (r.rule == "last_contract_end" && r.kind == SubjectKind::Client)),
        "each erased subject keeps its own rule and kind",
    )?;
    for kept in [hid, mid, lid, nid, aid] {
        let (row, tomb) = w(store, move |tx| Ok((tx.subject(kept)?, tx.erasure(kept)?)))?;
        ensure(row.is_some() && tomb.is_none(), "a subject not due under the lock is left whole")?;
    }
    let check = expected.clone();
    let (present, tombs) = w(store, move |tx| {
        let mut present = 0;
        let mut tombs = Vec::new();
        for id in &check {
            present += usize::from(tx.subject(*id)?.is_some());
            tombs.extend(tx.erasure(*id)?);
        }
        Ok((present, tombs))
    })?;
    ensure(present == 0, "every erased subject is gone")?;
    ensure(
        tombs.len() == expected.len()
            && tombs.iter().all(|t| {
                t.erased_at == at
                    && if t.subject_id == cid {
                        t.rule == "last_contract_end" && t.kind == SubjectKind::Client
                    } else {
                        t.rule == "last_inbound_contact" && t.kind == SubjectKind::Prospect
                    }
            }),
        "one tombstone each, with its rule and kind",
    )?;
    let counts = w(store, |tx| tx.erased_counts())?;
    let count = |g: &str| counts.iter().find(|c| c.group == g).map_or(0, |c| c.count);
    ensure(
        count("1999-01|prospect|last_inbound_contact") == i64::try_from(plain.len()).unwrap_or(0)
            && count("1999-01|client|last_contract_end") == 1,
        "the counts add up per month, kind and rule",
    )?;
    let (contracts, objections, names, disclosures, messages, request) = w(store, move |tx| {
        Ok((
            tx.contracts(cid)?,
            tx.objections(cid)?,
            tx.subjects_by_name(&name)?,
            tx.disclosures_for_subject(cid)?,
            tx.messages_for_subject(cid)?,
            tx.request(closed_id)?,
        ))
    })?;
    ensure(
        contracts.is_empty()
            && objections.is_empty()
            && names.is_empty()
            && disclosures.is_empty()
            && messages.is_empty(),
        "every row about an erased subject goes with it",
    )?;
    ensure(
        request.is_some_and(|r| r.requester.is_empty() && r.wrapped_key.is_empty() && r.response.is_none()),
        "its closed request keeps only the proof record",
    )?;
    let again = ids.clone();
    ensure(w(store, move |tx| tx.erase_due(&again, at, due_at))?.is_empty(), "nothing is erased twice")?;

    // One subject of a batch fails (its tombstone exists already: a restore brought it back):
    // the batch fails, and no subject of it is erased.
    let (a, x, b) = (
        mk(SubjectKind::Prospect, "last_inbound_contact", d(1905, 6, 1)),
        mk(SubjectKind::Prospect, "last_inbound_contact", d(1905, 6, 1)),
        mk(SubjectKind::Prospect, "last_inbound_contact", d(1905, 6, 1)),
    );
    let (aid, xid, bid) = (a.id, x.id, b.id);
    let back = x.clone();
    w(store, move |tx| {
        tx.insert_subjects(&[a, x])?;
        tx.erase_subject(xid, "last_inbound_contact", at)?;
        tx.insert_subjects(&[back, b])
    })?;
    let failed = store.write_blocking(move |tx| tx.erase_due(&[aid, xid, bid], at, due_at));
    ensure(failed.is_err(), "a batch in which one erasure fails fails")?;
    let left: Vec<bool> =
        w(store, move |tx| [aid, xid, bid].iter().map(|id| tx.subject(*id).map(|s| s.is_some())).collect())?;
    ensure(left == vec![true, true, true], "a failed batch leaves each of its subjects whole")?;
    ensure(w(store, move |tx| Ok((tx.erasure(aid)?, tx.erasure(bid)?)))? == (None, None), "and without tombstone")?;
    // The others are swept alone; the one brought back keeps no clock (it stays, out of every plan).
    let swept = w(store, move |tx| {
        let swept = tx.erase_due(&[aid, bid], at, due_at)?;
        tx.set_retention(xid, "last_inbound_contact", None, None)?;
        Ok(swept)
    })?;
    ensure(swept.len() == 2, "without it, the batch goes through")
}

fn rows_ids(rows: &[SubjectRow]) -> Vec<Id> {
    rows.iter().map(|r| r.id).collect()
}

pub fn retries(store: &Store) -> Result<(), String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let before = w(store, |tx| tx.count_tokens())?;
    // Busy twice, after writing: each attempt is rolled back, the third commits alone.
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let done = rt.block_on(store.write(move |tx| {
        let token = TokenRow {
            id: new_id(),
            hash: new_id().as_bytes().to_vec(),
            role: Role::Staff,
            recipient: None,
            created_at: now(),
            revoked_at: None,
            expires_at: None,
            last_used_at: None,
        };
        tx.insert_token(&token)?;
        if c.fetch_add(1, Ordering::SeqCst) < 2 { Err(StoreError::Busy("deadlock".into())) } else { Ok(7) }
    }));
    ensure(matches!(done, Ok(7)) && calls.load(Ordering::SeqCst) == 3, "retried until it commits")?;
    ensure(w(store, |tx| tx.count_tokens())? == before + 1, "the attempts that failed wrote nothing")?;
    // Always busy: given up after the bounded retries, the conflict is the caller's.
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let given_up = rt.block_on(store.write(move |_| -> Result<(), StoreError> {
        c.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::Busy("deadlock".into()))
    }));
    ensure(matches!(given_up, Err(StoreError::Busy(_))), "a lasting conflict is reported")?;
    ensure(calls.load(Ordering::SeqCst) == 1 + crate::WRITE_RETRIES, "after a bounded number of attempts")?;
    // Any other failure is not retried.
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let failed = rt.block_on(store.write(move |_| -> Result<(), StoreError> {
        c.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::Conflict("duplicate".into()))
    }));
    ensure(matches!(failed, Err(StoreError::Conflict(_))) && calls.load(Ordering::SeqCst) == 1, "nor anything else")
}

pub fn jobs(store: &Store) -> Result<(), String> {
    let name = format!("job-{}", new_id());
    let d = |dd| NaiveDate::from_ymd_opt(2026, 11, dd).unwrap_or_default();
    let (a, b) = (new_id(), new_id());
    let hour = chrono::TimeDelta::hours(1);
    // A lease that ran out as it was taken: the database's clock is past it at once.
    let spent = chrono::TimeDelta::milliseconds(-1);
    let job = |n: &String| n.clone();
    let n = job(&name);
    ensure(w(store, move |tx| tx.claim_job(&n, d(26), a, hour))?, "a free job is claimed")?;
    let n = job(&name);
    ensure(!w(store, move |tx| tx.claim_job(&n, d(26), b, hour))?, "a leased job is not claimed twice")?;
    let n = job(&name);
    ensure(!w(store, move |tx| tx.finish_job(&n, b, d(26)))?, "only the lease's owner finishes the job")?;
    let n = job(&name);
    ensure(!w(store, move |tx| tx.renew_job(&n, b, hour))?, "nor renews it")?;
    let n = job(&name);
    ensure(!w(store, move |tx| tx.release_job(&n, b))?, "nor releases it")?;
    let n = job(&name);
    ensure(w(store, move |tx| tx.renew_job(&n, a, hour))?, "the owner renews its lease")?;
    let n = job(&name);
    ensure(w(store, move |tx| tx.finish_job(&n, a, d(26)))?, "and finishes the job")?;
    let n = job(&name);
    ensure(!w(store, move |tx| tx.claim_job(&n, d(26), b, hour))?, "a daily job runs once a day")?;
    let n = job(&name);
    ensure(w(store, move |tx| tx.claim_job(&n, d(27), b, spent))?, "and again the next day")?;
    let n = job(&name);
    ensure(w(store, move |tx| tx.claim_job(&n, d(27), a, hour))?, "an expired lease can be taken over")?;
    let n = job(&name);
    ensure(!w(store, move |tx| tx.renew_job(&n, b, hour))?, "and its former owner cannot renew it")?;
    // A run that failed releases its lease without counting as the day's run: it is tried again.
    let n = job(&name);
    ensure(w(store, move |tx| tx.release_job(&n, a))?, "the owner releases a failed run")?;
    let n = job(&name);
    ensure(w(store, move |tx| tx.claim_job(&n, d(27), b, hour))?, "a failed run is tried again the same day")?;
    let n = job(&name);
    ensure(w(store, move |tx| tx.finish_job(&n, b, d(27)))?, "by its new owner")?;
    let n = job(&name);
    ensure(!w(store, move |tx| tx.claim_job(&n, d(27), a, hour))?, "until one succeeds")?;
    // The database's clock is the one every instance reads.
    let before = now();
    let db = w(store, |tx| tx.database_now())?;
    ensure((db - before).num_seconds().abs() < 60, "the database's clock is read")
}

pub fn governance(store: &Store) -> Result<(), String> {
    let recipient = format!("r{}", new_id().simple());
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
    let g1 = crate::SafeguardRow {
        id: new_id(),
        recipient: recipient.clone(),
        kind: SafeguardKind::Scc,
        signed_on: d(2026, 1, 15),
        recorded_at: now(),
        reference: Some("SCC 2021/914, module 2, signed copy ref. « A-17 »".into()),
    };
    let g0 = crate::SafeguardRow {
        id: new_id(),
        recipient: recipient.clone(),
        kind: SafeguardKind::Bcr,
        signed_on: d(2025, 5, 1),
        recorded_at: now(),
        reference: None,
    };
    let (a, b, r1, r2) = (g1.clone(), g0.clone(), recipient.clone(), recipient.clone());
    let (first, again) = w(store, move |tx| {
        tx.insert_safeguard(&a)?;
        tx.insert_safeguard(&b)?;
        Ok((tx.activate_transfer(&r1, now())?, tx.activate_transfer(&r2, now())?))
    })?;
    ensure(first && !again, "a transfer is activated once")?;
    let all = w(store, |tx| tx.safeguards())?;
    let mine: Vec<_> = all.into_iter().filter(|g| g.recipient == recipient).collect();
    ensure(mine == vec![g0, g1], "safeguards by recipient and date, with their reference or none")?;
    let r = recipient.clone();
    ensure(w(store, |tx| tx.transfer_activations())?.iter().any(|(x, _)| *x == r), "activations listed")?;
    let s = subject(SubjectKind::Client, None);
    let sid = s.id;
    let d1 = DisclosureRow {
        id: new_id(),
        at: now(),
        recipient: recipient.clone(),
        subject_id: sid,
        fields: "email".into(),
        purpose: "p".into(),
        token_id: None,
    };
    let d2 = DisclosureRow { id: new_id(), at: now(), ..d1.clone() };
    let (x, y, r) = (d1.clone(), d2.clone(), recipient.clone());
    w(store, move |tx| {
        tx.insert_subject(&s)?;
        tx.insert_disclosure(&x)?;
        tx.insert_disclosure(&y)
    })?;
    ensure(
        w(store, move |tx| tx.disclosures_for_recipient(&r, 1))? == vec![d2],
        "a recipient's disclosures, latest first",
    )
}

pub fn outbox(store: &Store) -> Result<(), String> {
    let t = |s| Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, s).single().unwrap_or_default();
    let template = format!("t{}", new_id().simple());
    let s = subject(SubjectKind::Prospect, Some(b"email-blind-index"));
    let no_email = subject(SubjectKind::Prospect, None);
    let quiet = no_email.id;
    let sid = s.id;
    let m = crate::NewMessage {
        idempotency_key: format!("{template}:one"),
        subject_id: None,
        recipient: Some("acme".into()),
        template: template.clone(),
        params: "{}".into(),
        at: t(0),
    };
    let (m1, m2, s2, tp) = (m.clone(), m.clone(), s.clone(), template.clone());
    let (q1, q2, bulk, bulk_again) = w(store, move |tx| {
        tx.insert_subject(&s2)?;
        tx.insert_subject(&no_email)?;
        let q1 = tx.queue_message(&m1)?;
        let q2 = tx.queue_message(&m2)?;
        let bulk = tx.queue_for_subjects(
            &[SubjectKind::Prospect, SubjectKind::Client],
            &tp,
            "{\"v\":1}",
            &format!("{tp}:"),
            t(0),
        )?;
        let again = tx.queue_for_subjects(
            &[SubjectKind::Prospect, SubjectKind::Client],
            &tp,
            "{\"v\":1}",
            &format!("{tp}:"),
            t(0),
        )?;
        Ok((q1, q2, bulk, again))
    })?;
    ensure(q1 && !q2, "an idempotency key queues once")?;
    let (key, tp2) = (m.idempotency_key.clone(), template.clone());
    let (by_key, absent) =
        w(store, move |tx| Ok((tx.message_by_key(&key)?, tx.message_by_key(&format!("{tp2}:absent"))?)))?;
    ensure(
        by_key.is_some_and(|x| x.template == template && x.recipient.as_deref() == Some("acme")) && absent.is_none(),
        "a notice found by its idempotency key",
    )?;
    ensure(bulk >= 1 && bulk_again == 0, "bulk queueing is idempotent too")?;
    ensure(w(store, move |tx| tx.messages_for_subject(quiet))?.is_empty(), "no notice for a subject without an email")?;
    let mine = w(store, move |tx| tx.messages_for_subject(sid))?;
    ensure(
        mine.len() == 1 && mine[0].status == OutboxStatus::Pending && mine[0].idempotency_key.starts_with(&template),
        "one notice for the subject",
    )?;
    let id = mine[0].id;
    let tp = template.clone();
    let (total, pending) = w(store, move |tx| tx.count_messages(&tp, "{\"v\":1}"))?;
    ensure(total == bulk as i64 && pending == total, "counts by template and params")?;
    // Claims lease messages: a second claim during the lease gets none of them.
    let (a, b) = (new_id(), new_id());
    let (hour, spent) = (chrono::TimeDelta::hours(1), chrono::TimeDelta::milliseconds(-1));
    let claimed = w(store, move |tx| tx.claim_messages(t(1), a, hour, 100_000))?;
    ensure(claimed.iter().any(|c| c.id == id), "a due message is claimed")?;
    let again = w(store, move |tx| tx.claim_messages(t(2), b, hour, 100_000))?;
    ensure(!again.iter().any(|c| c.id == id), "a leased message is not claimed twice")?;
    ensure(!w(store, move |tx| tx.mark_sent(id, b, t(2)))?, "only the lease's owner marks it sent")?;
    ensure(!w(store, move |tx| tx.mark_failed(id, b, "x", None))?, "or failed")?;
    ensure(w(store, move |tx| tx.mark_failed(id, a, "connection refused", Some(t(40))))?, "the owner marks it")?;
    let early = w(store, move |tx| tx.claim_messages(t(39), b, hour, 100_000))?;
    ensure(!early.iter().any(|c| c.id == id), "a retry waits for its time")?;
    let late = w(store, move |tx| tx.claim_messages(t(41), b, spent, 100_000))?;
    ensure(late.iter().any(|c| c.id == id), "and is claimed then")?;
    let taken = w(store, move |tx| tx.claim_messages(t(41), a, hour, 100_000))?;
    ensure(taken.iter().any(|c| c.id == id), "a lease that ran out is taken over")?;
    ensure(!w(store, move |tx| tx.mark_sent(id, b, t(42)))?, "and its former owner cannot mark it")?;
    ensure(w(store, move |tx| tx.mark_sent(id, a, t(42)))?, "its new owner can")?;
    ensure(!w(store, move |tx| tx.mark_sent(id, a, t(43)))?, "once")?;
    let row = w(store, move |tx| tx.messages_for_subject(sid))?;
    ensure(
        row.len() == 1 && row[0].status == OutboxStatus::Sent && row[0].attempts == 2 && row[0].sent_at == Some(t(42)),
        "sent, after two attempts",
    )?;
    ensure(row[0].last_error.as_deref() == Some("connection refused"), "the last error is kept")?;
    let tp = template.clone();
    let (_, pending) = w(store, move |tx| tx.count_messages(&tp, "{\"v\":1}"))?;
    ensure(pending == bulk as i64 - 1, "sent messages are not pending")?;
    let recent = w(store, |tx| tx.messages(Some(OutboxStatus::Sent), 10))?;
    ensure(
        recent.iter().all(|m| m.status == OutboxStatus::Sent) && recent.iter().any(|m| m.id == id),
        "messages by status",
    )?;
    let mk = m.idempotency_key.clone();
    let one = w(store, |tx| tx.messages(None, 1_000_000))?.into_iter().find(|x| x.idempotency_key == mk).map(|x| x.id);
    let one = one.ok_or("the recipient notice is listed")?;
    // Claimed with the others at t(1), by `a`.
    ensure(w(store, move |tx| tx.mark_failed(one, a, "rejected", None))?, "the recipient notice is given up")?;
    let failed = w(store, |tx| tx.messages(Some(OutboxStatus::Failed), 1_000_000))?;
    ensure(failed.iter().any(|x| x.id == one), "a message given up is failed")?;
    // Erasing a subject drops its pending notices.
    w(store, move |tx| tx.erase_subject(sid, "x", now()).map(|_| ()))?;
    ensure(w(store, move |tx| tx.messages_for_subject(sid))?.is_empty(), "an erased subject's notices go with it")
}

pub fn policy_versions(store: &Store) -> Result<(), String> {
    let v = format!("v{}", new_id().simple());
    let row = crate::PolicyVersionRow {
        version: v.clone(),
        text: "version = \"x\"".into(),
        effective_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default(),
        status: PolicyStatus::Pending,
        uploaded_at: now(),
        activated_at: None,
    };
    let r = row.clone();
    w(store, move |tx| tx.insert_policy_version(&r))?;
    let dup = row.clone();
    ensure(store.write_blocking(move |tx| tx.insert_policy_version(&dup)).is_err(), "a version is recorded once")?;
    let at = now();
    let v2 = v.clone();
    w(store, move |tx| tx.set_policy_status(&v2, PolicyStatus::Active, at))?;
    let got = w(store, |tx| tx.policy_versions())?.into_iter().find(|x| x.version == v);
    ensure(
        got == Some(crate::PolicyVersionRow { status: PolicyStatus::Active, activated_at: Some(at), ..row }),
        "activation recorded",
    )?;
    ensure(
        store.write_blocking(|tx| tx.set_policy_status("nope", PolicyStatus::Active, now())).is_err(),
        "unknown version",
    )
}

pub fn requests(store: &Store) -> Result<(), String> {
    let d = |m, dd| NaiveDate::from_ymd_opt(1990, m, dd).unwrap_or_default();
    let mk = |due: NaiveDate| crate::RequestRow {
        id: new_id(),
        kind: RequestKind::Access,
        channel: RequestChannel::Letter,
        received_on: d(1, 1),
        due_on: due,
        extended_due_on: None,
        status: RequestStatus::AwaitingIdentity,
        subject_id: None,
        requester_bi: Some(vec![5; 16]),
        requester: vec![1, 2, 3],
        identity_document: None,
        identity_decision: None,
        identity_at: None,
        extension_reason: None,
        outcome: None,
        response: None,
        wrapped_key: vec![9; 60],
        created_at: now(),
        updated_at: now(),
        completed_at: None,
        suspended_since: None,
        suspended_days: 0,
        extension_months: None,
        lang: vigie_domain::Lang::Fr,
    };
    let (late, early) = (mk(d(2, 15)), crate::RequestRow { lang: vigie_domain::Lang::En, ..mk(d(2, 1)) });
    let (a, b) = (late.clone(), early.clone());
    let rid = late.id;
    w(store, move |tx| {
        tx.insert_request(&a)?;
        tx.insert_request(&b)?;
        tx.put_identity_document(rid, b"sealed scan", "image/png", now())?;
        tx.put_identity_document(rid, b"sealed scan 2", "image/png", now())
    })?;
    let listed = w(store, |tx| tx.requests(1_000_000))?;
    let pos = |id| listed.iter().position(|r| r.id == id);
    ensure(pos(early.id) < pos(late.id) && pos(early.id).is_some(), "requests by deadline")?;
    let eid = early.id;
    ensure(w(store, move |tx| tx.request(eid))? == Some(early.clone()), "a request's language round-trips")?;
    ensure(w(store, move |tx| tx.request(rid))? == Some(late.clone()), "a request round-trips")?;
    ensure(w(store, move |tx| tx.has_identity_document(rid))?, "the document is kept until the decision")?;
    ensure(
        w(store, move |tx| tx.identity_document(rid))? == Some((b"sealed scan 2".to_vec(), "image/png".to_string())),
        "the document reads back as last put, with its content type",
    )?;
    let at = now();
    let updated = crate::RequestRow {
        status: RequestStatus::InProgress,
        identity_document: Some(IdentityDocument::NationalIdCard),
        identity_decision: Some(IdentityVerdict::Verified),
        identity_at: Some(at),
        extended_due_on: Some(d(4, 1)),
        extension_reason: Some(vec![7]),
        outcome: Some(RequestOutcome::Answered),
        response: Some(vec![8]),
        updated_at: at,
        completed_at: Some(at),
        subject_id: Some(new_id()),
        suspended_since: Some(d(1, 20)),
        suspended_days: 3,
        extension_months: Some(2),
        ..late
    };
    let u = updated.clone();
    let (deleted, again) = w(store, move |tx| {
        tx.update_request(&u)?;
        Ok((tx.delete_identity_document(rid)?, tx.delete_identity_document(rid)?))
    })?;
    ensure(deleted && !again, "a document is destroyed once")?;
    ensure(!w(store, move |tx| tx.has_identity_document(rid))?, "and is gone")?;
    ensure(w(store, move |tx| tx.identity_document(rid))?.is_none(), "and reads as none")?;
    ensure(w(store, move |tx| tx.request(rid))? == Some(updated), "every mutable column updates")?;
    let bi = new_id().as_bytes().to_vec();
    let (b1, b2) = (bi.clone(), bi.clone());
    let end = NaiveDate::from_ymd_opt(2029, 6, 1).unwrap_or_default();
    let later = NaiveDate::from_ymd_opt(2030, 6, 1).unwrap_or_default();
    let b3 = bi.clone();
    let (first, second, earlier, extended) = w(store, move |tx| {
        Ok((
            tx.suppress(&b1, "objection", now(), end)?,
            tx.suppress(&b1, "objection", now(), end)?,
            tx.suppress(&b1, "objection", now(), end.pred_opt().unwrap_or_default())?,
            tx.suppress(&b1, "objection", now(), later)?,
        ))
    })?;
    ensure(first && !second && !earlier, "suppressed once, never shortened")?;
    ensure(extended, "a later objection moves the end")?;
    ensure(w(store, move |tx| tx.is_suppressed(&b2))?, "the suppression list is consulted")?;
    ensure(w(store, |tx| tx.count_suppressed())? >= 1, "the suppression list is counted")?;
    ensure(!w(store, |tx| tx.is_suppressed(b"other"))?, "others are not suppressed")?;
    let other = new_id().as_bytes().to_vec();
    let o = other.clone();
    w(store, move |tx| tx.suppress(&o, "objection", now(), end).map(|_| ()))?;
    let (kept, gone) =
        w(store, move |tx| Ok((tx.delete_expired_suppressions(later)?, tx.delete_expired_suppressions(later)?)))?;
    ensure(kept >= 1 && gone == 0, "entries past their end are deleted once")?;
    let (o1, o2) = (other.clone(), other.clone());
    ensure(!w(store, move |tx| tx.is_suppressed(&o1))?, "an expired entry is gone")?;
    ensure(w(store, move |tx| tx.is_suppressed(&b3))?, "an entry ending today is kept")?;
    let b4 = bi.clone();
    let (lifted, again) = w(store, move |tx| Ok((tx.lift_suppression(&b4)?, tx.lift_suppression(&o2)?)))?;
    ensure(lifted && !again, "an entry is lifted; an absent one is not")?;
    let b5 = bi.clone();
    ensure(!w(store, move |tx| tx.is_suppressed(&b5))?, "a lifted entry is gone")?;
    // Rectification and partial erasure.
    let s = subject(SubjectKind::Client, Some(b"old-email-index"));
    let sid = s.id;
    let i = InteractionRow {
        id: new_id(),
        subject_id: sid,
        at: now(),
        direction: Direction::Inbound,
        channel: "email".into(),
        summary: None,
        created_at: now(),
    };
    w(store, move |tx| {
        tx.insert_subject(&s)?;
        tx.insert_interaction(&i)?;
        tx.update_identity(sid, &[42], Some(b"new-email-index"), None, now())
    })?;
    let got = w(store, move |tx| tx.subject(sid))?.ok_or("subject")?;
    ensure(
        got.identity == vec![42]
            && got.email_bi.as_deref() == Some(b"new-email-index".as_slice())
            && got.phone_bi.is_none(),
        "identity rewritten",
    )?;
    ensure(w(store, move |tx| tx.delete_interactions(sid))? == 1, "interactions deleted")?;
    ensure(store.write_blocking(|tx| tx.update_identity(new_id(), &[1], None, None, now())).is_err(), "unknown subject")
}

pub fn breaches(store: &Store) -> Result<(), String> {
    let at = now();
    let b = crate::BreachRow {
        id: new_id(),
        detected_at: at,
        nature: vec![BreachNature::Confidentiality, BreachNature::Integrity],
        data_categories: vec![DataCategory::Identity, DataCategory::Contact],
        scope: "{}".into(),
        risk: BreachRisk::High,
        status: BreachStatus::Open,
        keys_compromised: BreachKeys::Unknown,
        subjects_concerned: 2,
        records_concerned: 3,
        clients_concerned: 1,
        prospects_concerned: 1,
        details: vec![1, 2],
        wrapped_key: vec![9; 60],
        created_at: at,
        updated_at: at,
    };
    let phase = crate::BreachPhaseRow {
        id: new_id(),
        breach_id: b.id,
        at,
        phase: BreachPhase::Initial,
        details: vec![3],
        actor: "token:x".into(),
    };
    let (b1, p1, bid) = (b.clone(), phase.clone(), b.id);
    w(store, move |tx| {
        tx.insert_breach(&b1)?;
        tx.insert_breach_phase(&p1)
    })?;
    let updated = crate::BreachRow {
        status: BreachStatus::Notified,
        subjects_concerned: 5,
        keys_compromised: BreachKeys::No,
        prospects_concerned: 4,
        ..b
    };
    let u = updated.clone();
    w(store, move |tx| tx.update_breach(&u))?;
    ensure(w(store, move |tx| tx.breach(bid))? == Some(updated), "a breach round-trips and updates")?;
    ensure(w(store, |tx| tx.breaches())?.iter().any(|x| x.id == bid), "breaches listed")?;
    ensure(w(store, move |tx| tx.breach_phases(bid))? == vec![phase], "phases")?;

    // Scopes: by ids, by kind and collection date, by recipient, by an actor's accesses.
    let t = |y| Utc.with_ymd_and_hms(y, 6, 1, 0, 0, 0).single().unwrap_or_default();
    let mut a = subject(SubjectKind::Client, Some(b"a-email"));
    a.collected_at = t(1850);
    let mut c = subject(SubjectKind::Prospect, None);
    c.collected_at = t(1851);
    let (aid, cid) = (a.id, c.id);
    let recipient = format!("r{}", new_id().simple());
    let actor = format!("token:{}", new_id());
    let (r, act) = (recipient.clone(), actor.clone());
    w(store, move |tx| {
        tx.insert_subjects(&[a, c])?;
        tx.insert_contract(&ContractRow {
            id: new_id(),
            subject_id: aid,
            reference: vec![1],
            start: NaiveDate::from_ymd_opt(1850, 1, 1).unwrap_or_default(),
            end: None,
            created_at: now(),
        })?;
        tx.insert_disclosure(&DisclosureRow {
            id: new_id(),
            at: t(1900),
            recipient: r,
            subject_id: aid,
            fields: "email".into(),
            purpose: "p".into(),
            token_id: None,
        })?;
        let (seq, _) = tx.audit_head()?;
        tx.append_audit(
            &AuditRow {
                seq: seq + 1,
                at: t(1901),
                actor: act,
                action: "subject.read".into(),
                subject_id: Some(cid),
                purpose: None,
                fields: String::new(),
                outcome: "ok".into(),
                detail: None,
                hash: vec![0; 32],
            },
            &[],
        )
    })?;
    let count = |f: crate::ScopeFilter| w(store, move |tx| tx.scope_count(&f));
    let by_ids = count(crate::ScopeFilter { subject_ids: vec![aid, cid], ..Default::default() })?;
    ensure(
        by_ids
            == crate::ScopeCount {
                subjects: 2,
                contracts: 1,
                interactions: 0,
                consents: 0,
                clients: 1,
                prospects: 1,
                with_email: 1,
            },
        "scope by ids, by kind and with an email",
    )?;
    let by_period = count(crate::ScopeFilter {
        kinds: vec![SubjectKind::Client],
        collected_from: Some(t(1849)),
        collected_to: Some(t(1850)),
        ..Default::default()
    })?;
    ensure(by_period.subjects == 1, "scope by kind and collection period")?;
    let by_recipient = count(crate::ScopeFilter { recipient: Some(recipient.clone()), ..Default::default() })?;
    ensure(by_recipient.subjects == 1, "scope by recipient")?;
    let outside = count(crate::ScopeFilter {
        recipient: Some(recipient.clone()),
        window_from: Some(t(1950)),
        ..Default::default()
    })?;
    ensure(outside.subjects == 0, "a recipient's disclosures outside the window")?;
    let by_actor = count(crate::ScopeFilter {
        actor: Some(actor.clone()),
        window_from: Some(t(1900)),
        window_to: Some(t(1902)),
        ..Default::default()
    })?;
    ensure(by_actor.subjects == 1, "scope by an actor's accesses in a window")?;
    let tp = format!("breach-{}", new_id().simple());
    let f = crate::ScopeFilter { subject_ids: vec![aid, cid], ..Default::default() };
    let queued = w(store, move |tx| tx.queue_for_scope(&f, &tp, "{}", &format!("{tp}:"), now()))?;
    ensure(queued == 1, "notices for the scope's subjects that have an email")
}

pub fn restrictions(store: &Store) -> Result<(), String> {
    let s = subject(SubjectKind::Prospect, None);
    let sid = s.id;
    let at = now();
    let row = crate::RestrictionRow {
        subject_id: sid,
        ground: RestrictionGround::AccuracyContested,
        request_id: Some(new_id()),
        restricted_at: at,
        lifted_at: None,
        lift_reason: None,
    };
    let (r1, r2) = (row.clone(), row.clone());
    ensure(
        w(store, move |tx| {
            tx.insert_subject(&s)?;
            tx.restrict(&r1)
        })?,
        "a restriction is set",
    )?;
    ensure(!w(store, move |tx| tx.restrict(&r2))?, "a restriction in force is not set twice")?;
    ensure(w(store, move |tx| tx.restriction(sid))? == Some(row.clone()), "a restriction round-trips")?;
    ensure(
        w(store, |tx| tx.restricted_subjects())?.contains(&(sid, RestrictionGround::AccuracyContested)),
        "restrictions in force are listed",
    )?;
    ensure(w(store, move |tx| tx.lift_restriction(sid, b"sealed", at))?, "a restriction is lifted")?;
    ensure(!w(store, move |tx| tx.lift_restriction(sid, b"sealed", at))?, "a lifted restriction is not lifted twice")?;
    let lifted = w(store, move |tx| tx.restriction(sid))?;
    ensure(
        lifted.as_ref().is_some_and(|r| r.lifted_at.is_some() && r.lift_reason.as_deref() == Some(&b"sealed"[..])),
        "a lifted restriction keeps when and why",
    )?;
    ensure(!w(store, |tx| tx.restricted_subjects())?.iter().any(|(s, _)| *s == sid), "a lifted one is not listed")?;
    let again = crate::RestrictionRow { ground: RestrictionGround::NoLongerNeededButClaims, ..row };
    ensure(w(store, move |tx| tx.restrict(&again))?, "a lifted restriction is set again")?;
    let current = w(store, move |tx| tx.restriction(sid))?;
    ensure(
        current.is_some_and(|r| r.lifted_at.is_none() && r.ground == RestrictionGround::NoLongerNeededButClaims),
        "the new restriction replaces the lifted one",
    )?;
    w(store, move |tx| tx.erase_subject(sid, "test", now()))?;
    ensure(w(store, move |tx| tx.restriction(sid))?.is_none(), "a restriction goes with its subject")
}

/// A request row for the checks below, linked to `subject`.
fn request_row(subject: Option<crate::Id>) -> crate::RequestRow {
    let day = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default();
    crate::RequestRow {
        id: new_id(),
        kind: RequestKind::Access,
        channel: RequestChannel::Email,
        received_on: day,
        due_on: day,
        extended_due_on: None,
        status: RequestStatus::AwaitingIdentity,
        subject_id: subject,
        requester_bi: None,
        requester: vec![1],
        identity_document: None,
        identity_decision: None,
        identity_at: None,
        extension_reason: None,
        outcome: None,
        response: None,
        wrapped_key: vec![9; 60],
        created_at: now(),
        updated_at: now(),
        completed_at: None,
        suspended_since: Some(day),
        suspended_days: 0,
        extension_months: None,
        lang: vigie_domain::Lang::Fr,
    }
}

pub fn confirmations(store: &Store) -> Result<(), String> {
    let s = subject(SubjectKind::Prospect, None);
    let sid = s.id;
    let r = request_row(Some(sid));
    let rid = r.id;
    let at = now();
    let first = crate::ConfirmationRow {
        request_id: rid,
        subject_id: sid,
        token_hash: new_id().as_bytes().to_vec(),
        token: vec![1, 2, 3],
        created_at: at,
        expires_at: at + chrono::TimeDelta::days(7),
    };
    let c = first.clone();
    w(store, move |tx| {
        tx.insert_subject(&s)?;
        tx.insert_request(&r)?;
        tx.put_identity_confirmation(&c)
    })?;
    ensure(w(store, move |tx| tx.identity_confirmation(rid))? == Some(first.clone()), "a link round-trips")?;
    let hash = first.token_hash.clone();
    ensure(
        w(store, move |tx| tx.identity_confirmation_by_hash(&hash))?.map(|c| c.request_id) == Some(rid),
        "a link is found by its hash",
    )?;
    let second = crate::ConfirmationRow { token_hash: new_id().as_bytes().to_vec(), token: vec![4], ..first.clone() };
    let c = second.clone();
    w(store, move |tx| tx.put_identity_confirmation(&c))?;
    let old = first.token_hash.clone();
    ensure(w(store, move |tx| tx.identity_confirmation_by_hash(&old))?.is_none(), "a new link replaces the last")?;
    ensure(w(store, move |tx| tx.identity_confirmation(rid))? == Some(second.clone()), "one link per request")?;
    let duplicate = crate::ConfirmationRow { request_id: new_id(), ..second.clone() };
    ensure(
        store.write_blocking(move |tx| tx.put_identity_confirmation(&duplicate)).is_err(),
        "a hash names one link, of a request that exists",
    )?;
    let (deleted, again) =
        w(store, move |tx| Ok((tx.delete_identity_confirmation(rid)?, tx.delete_identity_confirmation(rid)?)))?;
    ensure(deleted && !again, "a link is withdrawn once")?;
    let c = second.clone();
    w(store, move |tx| {
        tx.put_identity_confirmation(&c)?;
        tx.erase_subject(sid, "test", now())
    })?;
    ensure(w(store, move |tx| tx.identity_confirmation(rid))?.is_none(), "a link goes with its subject's erasure")
}

pub fn merges(store: &Store) -> Result<(), String> {
    let (into, from) = (subject(SubjectKind::Prospect, Some(b"into-email")), subject(SubjectKind::Client, None));
    let (iid, fid) = (into.id, from.id);
    let at = now();
    let contract = ContractRow {
        id: new_id(),
        subject_id: fid,
        reference: vec![1],
        start: at.date_naive(),
        end: None,
        created_at: at,
    };
    let interaction = InteractionRow {
        id: new_id(),
        subject_id: fid,
        at,
        direction: Direction::Inbound,
        channel: "email".into(),
        summary: Some(vec![2]),
        created_at: at,
    };
    let consent =
        ConsentRow { id: new_id(), subject_id: fid, purpose: "events".into(), granted: true, at, evidence: vec![3] };
    let earlier = at - chrono::TimeDelta::days(10);
    let objections = [
        ObjectionRow { id: new_id(), subject_id: fid, purpose: "events".into(), at },
        ObjectionRow { id: new_id(), subject_id: fid, purpose: "prospect_relations".into(), at: earlier },
        ObjectionRow { id: new_id(), subject_id: iid, purpose: "prospect_relations".into(), at },
    ];
    let hold = crate::HoldEventRow {
        id: new_id(),
        subject_id: fid,
        action: HoldAction::Set,
        reason: vec![4],
        at,
        actor: "token:x".into(),
    };
    let restriction = crate::RestrictionRow {
        subject_id: fid,
        ground: RestrictionGround::ObjectionPending,
        request_id: None,
        restricted_at: at,
        lifted_at: None,
        lift_reason: None,
    };
    let request = request_row(Some(fid));
    let rid = request.id;
    let disclosure = DisclosureRow {
        id: new_id(),
        at,
        recipient: "saas_erp".into(),
        subject_id: fid,
        fields: "email".into(),
        purpose: "customer_relations".into(),
        token_id: None,
    };
    let message = |s: crate::Id, key: &str| crate::NewMessage {
        idempotency_key: format!("merge-check:{key}:{s}"),
        subject_id: Some(s),
        recipient: None,
        template: "policy_revision".into(),
        params: format!("{{\"version\":\"{key}\"}}"),
        at,
    };
    let (c, i, k, os, h, rs, rq, d) = (
        contract.clone(),
        interaction.clone(),
        consent.clone(),
        objections.clone(),
        hold.clone(),
        restriction.clone(),
        request.clone(),
        disclosure.clone(),
    );
    let (a, b) = (into.clone(), from.clone());
    let confirmation = crate::ConfirmationRow {
        request_id: rid,
        subject_id: fid,
        token_hash: new_id().as_bytes().to_vec(),
        token: vec![5],
        created_at: at,
        expires_at: at,
    };
    let (m1, m2, m3) = (message(fid, "v1"), message(fid, "v2"), message(iid, "v2"));
    w(store, move |tx| {
        tx.insert_subject(&a)?;
        tx.insert_subject(&b)?;
        tx.insert_contract(&c)?;
        tx.insert_interaction(&i)?;
        tx.insert_consent(&k)?;
        for o in &os {
            tx.insert_objection(o)?;
        }
        tx.insert_hold_event(&h)?;
        tx.restrict(&rs)?;
        tx.insert_request(&rq)?;
        tx.put_identity_confirmation(&confirmation)?;
        tx.insert_disclosure(&d)?;
        for m in [&m1, &m2, &m3] {
            tx.queue_message(m)?;
        }
        Ok(())
    })?;
    ensure(
        w(store, move |tx| tx.requests_for_subject(fid))?.iter().map(|r| r.id).collect::<Vec<_>>() == vec![rid],
        "a subject's requests are listed",
    )?;
    let locked = w(store, move |tx| tx.lock_subject(iid))?;
    ensure(locked.as_ref().map(|s| s.id) == Some(iid), "a subject is read under its lock")?;
    ensure(w(store, move |tx| tx.lock_subject(new_id()))?.is_none(), "an unknown subject locks nothing")?;
    let from_messages = w(store, move |tx| tx.messages_for_subject(fid))?;
    let v1 = from_messages.iter().find(|m| m.params.contains("v1")).map(|m| m.id).unwrap_or_default();
    let merge = crate::Merge {
        from: fid,
        into: iid,
        kind: SubjectKind::Client,
        collected_at: earlier,
        identity: vec![7, 7],
        email_bi: Some(b"into-email".to_vec()),
        phone_bi: None,
        legal_hold: Some(vec![8]),
        held_at: Some(at),
        contracts: vec![(contract.id, vec![11])],
        interactions: vec![(interaction.id, Some(vec![12]))],
        consents: vec![(consent.id, vec![13])],
        hold_events: vec![(hold.id, vec![14])],
        objections: vec![objections[0].id],
        objections_redated: vec![(objections[2].id, earlier)],
        restriction: Some(Some(vec![15])),
        messages: vec![v1],
    };
    let m = merge.clone();
    w(store, move |tx| tx.merge_subject(&m, at))?;
    let (row, contracts, interactions, consents, objs, holds, restricted, req, conf, discl, msgs, tomb, gone) =
        w(store, move |tx| {
            Ok((
                tx.subject(iid)?,
                tx.contracts(iid)?,
                tx.interactions(iid)?,
                tx.consents(iid)?,
                tx.objections(iid)?,
                tx.hold_events(iid)?,
                tx.restriction(iid)?,
                tx.request(rid)?,
                tx.identity_confirmation(rid)?,
                tx.disclosures_for_subject(iid)?,
                tx.messages_for_subject(iid)?,
                tx.erasure(fid)?,
                tx.subject(fid)?,
            ))
        })?;
    let row = row.ok_or("the target is still there")?;
    ensure(
        row.kind == SubjectKind::Client
            && row.collected_at == earlier
            && row.identity == vec![7, 7]
            && row.phone_bi.is_none()
            && row.legal_hold == Some(vec![8]),
        "the target takes the merged identity, kind, date and hold",
    )?;
    ensure(contracts.len() == 1 && contracts[0].reference == vec![11], "contracts move, re-sealed")?;
    ensure(interactions.len() == 1 && interactions[0].summary == Some(vec![12]), "interactions move, re-sealed")?;
    ensure(consents.len() == 1 && consents[0].evidence == vec![13], "consents move, re-sealed")?;
    ensure(holds.len() == 1 && holds[0].reason == vec![14], "the hold history moves, re-sealed")?;
    let purposes: Vec<(&str, chrono::DateTime<Utc>)> = objs.iter().map(|o| (o.purpose.as_str(), o.at)).collect();
    ensure(
        objs.len() == 2 && purposes.contains(&("events", at)) && purposes.contains(&("prospect_relations", earlier)),
        "objections: one per purpose, the earlier date kept",
    )?;
    ensure(
        restricted.is_some_and(|r| r.ground == RestrictionGround::ObjectionPending && r.lift_reason == Some(vec![15])),
        "the restriction moves",
    )?;
    ensure(req.and_then(|r| r.subject_id) == Some(iid), "requests follow")?;
    ensure(w(store, move |tx| tx.requests_for_subject(fid))?.is_empty(), "none is left with the merged record")?;
    ensure(conf.is_none(), "links sent to the merged record's email are withdrawn")?;
    ensure(discl.len() == 1, "disclosures follow")?;
    ensure(
        msgs.len() == 2 && msgs.iter().any(|m| m.id == v1),
        "messages move, a duplicate goes with the merged record",
    )?;
    ensure(
        tomb.is_some_and(|t| t.rule == "merged" && t.merged_into == Some(iid) && t.kind == SubjectKind::Client),
        "the tombstone names the record merged into",
    )?;
    ensure(gone.is_none(), "the merged record is erased")?;
    let left = w(store, move |tx| {
        Ok((tx.contracts(fid)?.len(), tx.objections(fid)?.len(), tx.messages_for_subject(fid)?.len()))
    })?;
    ensure(left == (0, 0, 0), "nothing is left under the merged record")?;
    let again = merge.clone();
    ensure(store.write_blocking(move |tx| tx.merge_subject(&again, now())).is_err(), "a subject is merged once")
}

pub fn ops_counts(store: &Store) -> Result<(), String> {
    let d = |m, day| NaiveDate::from_ymd_opt(2030, m, day).unwrap_or_default();
    let empty = w(store, move |tx| tx.ops_counts(d(3, 1), now()))?;
    ensure(empty == crate::OpsCounts::default(), "nothing to count on an empty database")?;
    let request = |due: NaiveDate, status: RequestStatus, extended: Option<NaiveDate>| crate::RequestRow {
        id: new_id(),
        kind: RequestKind::Access,
        channel: RequestChannel::Letter,
        received_on: d(1, 1),
        due_on: due,
        extended_due_on: extended,
        status,
        subject_id: None,
        requester_bi: None,
        requester: vec![1],
        identity_document: None,
        identity_decision: None,
        identity_at: None,
        extension_reason: None,
        outcome: None,
        response: None,
        wrapped_key: vec![9; 60],
        created_at: now(),
        updated_at: now(),
        completed_at: None,
        suspended_since: None,
        suspended_days: 0,
        extension_months: None,
        lang: vigie_domain::Lang::Fr,
    };
    let requests = vec![
        request(d(2, 1), RequestStatus::AwaitingIdentity, None),
        request(d(2, 1), RequestStatus::InProgress, None),
        // Due the day counted from: not yet overdue.
        request(d(3, 1), RequestStatus::InProgress, None),
        // Past its first deadline, within its extension.
        request(d(2, 1), RequestStatus::InProgress, Some(d(4, 1))),
        request(d(2, 1), RequestStatus::Completed, None),
    ];
    let at = Utc.with_ymd_and_hms(2030, 3, 10, 12, 0, 0).single().unwrap_or_default();
    let breach = |detected: chrono::DateTime<Utc>, risk: BreachRisk, status: BreachStatus| crate::BreachRow {
        id: new_id(),
        detected_at: detected,
        nature: vec![BreachNature::Confidentiality],
        data_categories: vec![DataCategory::Identity],
        scope: "{}".into(),
        risk,
        status,
        keys_compromised: BreachKeys::Unknown,
        subjects_concerned: 1,
        records_concerned: 1,
        clients_concerned: 0,
        prospects_concerned: 1,
        details: vec![1],
        wrapped_key: vec![9; 60],
        created_at: detected,
        updated_at: detected,
    };
    let hour = chrono::TimeDelta::hours(1);
    let breaches = vec![
        breach(at - hour * 73, BreachRisk::High, BreachStatus::Open),
        breach(at - hour * 73, BreachRisk::Risk, BreachStatus::Open),
        // Within its 72 hours, notified, without risk, or closed: not late.
        breach(at - hour * 71, BreachRisk::High, BreachStatus::Open),
        breach(at - hour * 100, BreachRisk::High, BreachStatus::Notified),
        breach(at - hour * 100, BreachRisk::None, BreachStatus::Open),
        breach(at - hour * 100, BreachRisk::High, BreachStatus::Closed),
    ];
    let message = |key: &str| crate::NewMessage {
        idempotency_key: key.into(),
        subject_id: None,
        recipient: Some("acme".into()),
        template: "ops".into(),
        params: "{}".into(),
        at: now(),
    };
    w(store, move |tx| {
        for r in &requests {
            tx.insert_request(r)?;
        }
        for b in &breaches {
            tx.insert_breach(b)?;
        }
        tx.queue_message(&message("ops:1"))?;
        tx.queue_message(&message("ops:2"))?;
        Ok(())
    })?;
    let counts = w(store, move |tx| tx.ops_counts(d(3, 1), at - hour * 72))?;
    let group = |g: &[crate::GroupCount], k: &str| g.iter().find(|c| c.group == k).map_or(0, |c| c.count);
    ensure(group(&counts.requests, "awaiting_identity") == 1, "requests awaiting identity")?;
    ensure(group(&counts.requests, "in_progress") == 3, "requests in progress")?;
    ensure(group(&counts.requests, "completed") == 1, "requests completed")?;
    ensure(counts.overdue_requests == 2, "open requests past their (extended) deadline")?;
    ensure(counts.breaches_past_72h == 2, "breaches with a risk, unnotified after 72 hours")?;
    ensure(group(&counts.outbox, "pending") == 2 && counts.outbox.len() == 1, "the outbox by status")?;
    Ok(())
}

pub fn own_counts(store: &Store) -> Result<(), String> {
    let before = w(store, |tx| tx.own_counts())?;
    let request = |status| crate::RequestRow {
        id: new_id(),
        kind: RequestKind::Access,
        channel: RequestChannel::Email,
        received_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
        due_on: NaiveDate::from_ymd_opt(2026, 4, 2).unwrap_or_default(),
        extended_due_on: None,
        status,
        subject_id: None,
        requester_bi: None,
        requester: vec![1],
        identity_document: None,
        identity_decision: None,
        identity_at: None,
        extension_reason: None,
        outcome: None,
        response: None,
        wrapped_key: vec![9; 60],
        created_at: now(),
        updated_at: now(),
        completed_at: None,
        suspended_since: None,
        suspended_days: 0,
        extension_months: None,
        lang: vigie_domain::Lang::Fr,
    };
    let (open, closed) = (request(RequestStatus::InProgress), request(RequestStatus::Completed));
    let breach = crate::BreachRow {
        id: new_id(),
        detected_at: now(),
        nature: vec![BreachNature::Availability],
        data_categories: vec![DataCategory::Contact],
        scope: "{}".into(),
        risk: BreachRisk::Risk,
        status: BreachStatus::Open,
        keys_compromised: BreachKeys::No,
        subjects_concerned: 0,
        records_concerned: 0,
        clients_concerned: 0,
        prospects_concerned: 0,
        details: vec![1],
        wrapped_key: vec![9; 60],
        created_at: now(),
        updated_at: now(),
    };
    let s = subject(SubjectKind::Prospect, None);
    let disclosure = DisclosureRow {
        id: new_id(),
        at: now(),
        recipient: "r".into(),
        subject_id: s.id,
        fields: "email".into(),
        purpose: "p".into(),
        token_id: None,
    };
    w(store, move |tx| {
        tx.insert_request(&open)?;
        tx.insert_request(&closed)?;
        tx.insert_breach(&breach)?;
        tx.insert_subject(&s)?;
        tx.insert_disclosure(&disclosure)
    })?;
    let after = w(store, |tx| tx.own_counts())?;
    ensure(
        after.requests == before.requests + 2
            && after.open_requests == before.open_requests + 1
            && after.breaches == before.breaches + 1
            && after.disclosures == before.disclosures + 1,
        "two requests (one open), a breach and a disclosure are counted",
    )
}

pub fn assessments(store: &Store) -> Result<(), String> {
    let version = format!("v{}", new_id().simple());
    let row = crate::PolicyVersionRow {
        version: version.clone(),
        text: "version = \"x\"".into(),
        effective_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default(),
        status: PolicyStatus::Pending,
        uploaded_at: now(),
        activated_at: None,
    };
    let added = crate::AssessmentRow {
        version: version.clone(),
        purpose: "newsletter".into(),
        kind: SubjectKind::Prospect,
        from_basis: None,
        to_basis: LegalBasis::LegitimateInterest,
        compatible: false,
        reasoning: "Les prospects n'ont pas pu s'y attendre.".into(),
        assessed_at: now(),
    };
    let changed = crate::AssessmentRow {
        purpose: "events".into(),
        kind: SubjectKind::Client,
        from_basis: Some(LegalBasis::Consent),
        to_basis: LegalBasis::Contract,
        compatible: true,
        ..added.clone()
    };
    let (a, b) = (added.clone(), changed.clone());
    w(store, move |tx| {
        tx.insert_policy_version(&row)?;
        tx.record_assessment(&a)?;
        tx.record_assessment(&b)
    })?;
    let mine = |all: Vec<crate::AssessmentRow>| all.into_iter().filter(|x| x.version == version).collect::<Vec<_>>();
    ensure(mine(w(store, |tx| tx.assessments())?) == vec![changed.clone(), added.clone()], "by purpose")?;
    // Assessing a change again replaces the first assessment.
    let again = crate::AssessmentRow { compatible: true, reasoning: "Revu : attendu.".into(), ..added };
    let a = again.clone();
    w(store, move |tx| tx.record_assessment(&a))?;
    ensure(mine(w(store, |tx| tx.assessments())?) == vec![changed, again.clone()], "replaced, not added")?;
    let orphan = crate::AssessmentRow { version: "no-such-version".into(), ..again };
    ensure(store.write_blocking(move |tx| tx.record_assessment(&orphan)).is_err(), "an assessment needs its version")
}

pub fn names(store: &Store) -> Result<(), String> {
    let (name, other) = (new_id().as_bytes().to_vec(), new_id().as_bytes().to_vec());
    let (a, b, c) =
        (subject(SubjectKind::Client, None), subject(SubjectKind::Prospect, None), subject(SubjectKind::Client, None));
    let (aid, bid, cid) = (a.id, b.id, c.id);
    let (n1, n2) = (name.clone(), name.clone());
    w(store, move |tx| {
        tx.insert_subject(&a)?;
        tx.set_subject_name(aid, Some(&n1))?;
        tx.insert_subjects(&[b, c])?;
        tx.insert_subject_names(&[(bid, n2)])
    })?;
    let n = name.clone();
    let found = w(store, move |tx| tx.subjects_by_name(&n))?;
    let mut expected = vec![aid, bid];
    expected.sort();
    ensure(found == expected, "name blind index lookup finds the named subjects, by id")?;
    ensure(w(store, move |tx| tx.subjects_by_name(b"no such name"))?.is_empty(), "an unknown name finds no one")?;
    // A new name replaces the old one; None removes it.
    let (n, o) = (name.clone(), other.clone());
    let (old, new) = w(store, move |tx| {
        tx.set_subject_name(aid, Some(&o))?;
        tx.set_subject_name(cid, None)?;
        Ok((tx.subjects_by_name(&n)?, tx.subjects_by_name(&o)?))
    })?;
    ensure(old == vec![bid] && new == vec![aid], "a rectified name is found under the new name only")?;
    let o = other.clone();
    let gone = w(store, move |tx| {
        tx.set_subject_name(aid, None)?;
        tx.subjects_by_name(&o)
    })?;
    ensure(gone.is_empty(), "a removed name is not found")?;
    // Many rows at once (more than one statement's worth).
    let many: Vec<SubjectRow> = (0..1_201).map(|_| subject(SubjectKind::Prospect, None)).collect();
    let shared = new_id().as_bytes().to_vec();
    let rows: Vec<(crate::Id, Vec<u8>)> = many.iter().map(|s| (s.id, shared.clone())).collect();
    let s2 = shared.clone();
    let found = w(store, move |tx| {
        tx.insert_subjects(&many)?;
        tx.insert_subject_names(&rows)?;
        tx.subjects_by_name(&s2)
    })?;
    ensure(found.len() == 1_201, "bulk-inserted names are all found")?;
    // Erasure takes the name with the subject; a name needs an existing subject.
    let n = name.clone();
    let after = w(store, move |tx| {
        tx.erase_subject(bid, "test", now())?;
        tx.subjects_by_name(&n)
    })?;
    ensure(after.is_empty(), "an erased subject's name is not found")?;
    let orphan = store.write_blocking(move |tx| tx.set_subject_name(new_id(), Some(b"x")));
    ensure(orphan.is_err(), "a name needs an existing subject")?;
    Ok(())
}

pub fn contract_references(store: &Store) -> Result<(), String> {
    let (reference, other) = (new_id().as_bytes().to_vec(), new_id().as_bytes().to_vec());
    let (a, b) = (subject(SubjectKind::Client, None), subject(SubjectKind::Client, None));
    let (aid, bid) = (a.id, b.id);
    let contract = |subject_id| ContractRow {
        id: new_id(),
        subject_id,
        reference: vec![1],
        start: now().date_naive(),
        end: None,
        created_at: now(),
    };
    // Subject a holds two contracts under one reference and one under another; b holds none indexed.
    let (a1, a2, a3, b1) = (contract(aid), contract(aid), contract(aid), contract(bid));
    let (a3id, b1id) = (a3.id, b1.id);
    let (r1, r2, o) = (reference.clone(), reference.clone(), other.clone());
    w(store, move |tx| {
        tx.insert_subject(&a)?;
        tx.insert_subject(&b)?;
        for c in [&a1, &a2, &a3, &b1] {
            tx.insert_contract(c)?;
        }
        tx.set_contract_reference(a1.id, &r1)?;
        tx.set_contract_reference(a2.id, &r2)?;
        tx.set_contract_reference(a3.id, &o)
    })?;
    let (r, o) = (reference.clone(), other.clone());
    let (found, found_other, unknown) = w(store, move |tx| {
        Ok((
            tx.subjects_by_contract_reference(&r)?,
            tx.subjects_by_contract_reference(&o)?,
            tx.subjects_by_contract_reference(b"no such reference")?,
        ))
    })?;
    ensure(found == vec![aid], "a reference finds its subject, once however many contracts carry it")?;
    ensure(found_other == vec![aid], "each contract's reference finds its subject")?;
    ensure(unknown.is_empty(), "an unknown reference finds no one")?;
    // A merge moves the contracts with their references' index.
    let merge = crate::Merge {
        from: aid,
        into: bid,
        kind: SubjectKind::Client,
        collected_at: now(),
        identity: vec![7],
        email_bi: None,
        phone_bi: None,
        legal_hold: None,
        held_at: None,
        contracts: w(store, move |tx| tx.contracts(aid))?.into_iter().map(|c| (c.id, vec![9])).collect(),
        interactions: Vec::new(),
        consents: Vec::new(),
        hold_events: Vec::new(),
        objections: Vec::new(),
        objections_redated: Vec::new(),
        restriction: None,
        messages: Vec::new(),
    };
    let (r, o) = (reference.clone(), other.clone());
    let (moved, moved_other) = w(store, move |tx| {
        tx.merge_subject(&merge, now())?;
        Ok((tx.subjects_by_contract_reference(&r)?, tx.subjects_by_contract_reference(&o)?))
    })?;
    ensure(moved == vec![bid] && moved_other == vec![bid], "merged contracts are found under the subject kept")?;
    // Replaced, then gone with the subject; a reference needs an existing contract.
    let (r, o) = (reference.clone(), other.clone());
    let (old, new) = w(store, move |tx| {
        tx.set_contract_reference(a3id, &r)?;
        tx.set_contract_reference(b1id, &r)?;
        Ok((tx.subjects_by_contract_reference(&o)?, tx.subjects_by_contract_reference(&r)?))
    })?;
    ensure(old.is_empty() && new == vec![bid], "a reference set again replaces the old one")?;
    let r = reference.clone();
    let after = w(store, move |tx| {
        tx.erase_subject(bid, "test", now())?;
        tx.subjects_by_contract_reference(&r)
    })?;
    ensure(after.is_empty(), "an erased subject's contract references are not found")?;
    let orphan = store.write_blocking(move |tx| tx.set_contract_reference(new_id(), b"x"));
    ensure(orphan.is_err(), "a reference needs an existing contract")?;
    Ok(())
}

/// Every write a read decision or a subject's view depends on moves the subject's revision:
/// its row, its contracts, consents, objections, restriction and interactions, whichever statement
/// writes them (the schema's triggers); a write to another subject does not; an erased subject has
/// none. A read decided on a snapshot is recorded only while the revision is unchanged.
pub fn revisions(store: &Store) -> Result<(), String> {
    let (s, other) = (subject(SubjectKind::Prospect, None), subject(SubjectKind::Prospect, None));
    let (sid, oid) = (s.id, other.id);
    w(store, move |tx| {
        tx.insert_subject(&s)?;
        tx.insert_subject(&other)
    })?;
    let rev = |store: &Store| w(store, move |tx| tx.subject_rev(sid));
    let mut last = rev(store)?.ok_or("a new subject has a revision")?;
    let at = now();
    let contract = ContractRow {
        id: new_id(),
        subject_id: sid,
        reference: vec![1],
        start: at.date_naive(),
        end: None,
        created_at: at,
    };
    let cid = contract.id;
    type Step = Box<dyn FnOnce(&mut dyn crate::Tx) -> Result<(), StoreError> + Send>;
    let steps: Vec<(&str, Step)> = vec![
        ("a contract recorded", Box::new(move |tx| tx.insert_contract(&contract))),
        ("a contract's reference index set", Box::new(move |tx| tx.set_contract_reference(cid, b"ref"))),
        (
            "a consent recorded",
            Box::new(move |tx| {
                tx.insert_consent(&ConsentRow {
                    id: new_id(),
                    subject_id: sid,
                    purpose: "events".into(),
                    granted: false,
                    at,
                    evidence: vec![2],
                })
            }),
        ),
        (
            "an objection recorded",
            Box::new(move |tx| {
                tx.insert_objection(&ObjectionRow { id: new_id(), subject_id: sid, purpose: "events".into(), at })
                    .map(|_| ())
            }),
        ),
        (
            "a restriction set",
            Box::new(move |tx| {
                tx.restrict(&crate::RestrictionRow {
                    subject_id: sid,
                    ground: RestrictionGround::AccuracyContested,
                    request_id: None,
                    restricted_at: at,
                    lifted_at: None,
                    lift_reason: None,
                })
                .map(|_| ())
            }),
        ),
        ("a restriction lifted", Box::new(move |tx| tx.lift_restriction(sid, b"sealed", at).map(|_| ()))),
        (
            "an interaction recorded",
            Box::new(move |tx| {
                tx.insert_interaction(&InteractionRow {
                    id: new_id(),
                    subject_id: sid,
                    at,
                    direction: Direction::Inbound,
                    channel: "email".into(),
                    summary: None,
                    created_at: at,
                })
            }),
        ),
        ("its interactions deleted", Box::new(move |tx| tx.delete_interactions(sid).map(|_| ()))),
        ("its kind changed", Box::new(move |tx| tx.set_subject_kind(sid, SubjectKind::Client, at))),
        ("a legal hold set", Box::new(move |tx| tx.set_legal_hold(sid, Some((b"sealed", at))))),
    ];
    let other_before = w(store, move |tx| tx.subject_rev(oid))?;
    for (what, step) in steps {
        w(store, step)?;
        let now_rev = rev(store)?.ok_or("the subject is still there")?;
        ensure(now_rev > last, &format!("{what} moves the subject's revision"))?;
        last = now_rev;
    }
    ensure(w(store, move |tx| tx.subject_rev(oid))? == other_before, "another subject's revision does not move")?;
    // A write rolled back moves nothing.
    let rolled_back = store.write_blocking(move |tx| {
        tx.set_subject_kind(sid, SubjectKind::Prospect, at)?;
        Err::<(), _>(StoreError::Backend("rolled back on purpose".into()))
    });
    ensure(rolled_back.is_err(), "the failing write fails")?;
    ensure(rev(store)? == Some(last), "a rolled-back write leaves the revision")?;
    w(store, move |tx| tx.erase_subject(sid, "test", now()))?;
    ensure(rev(store)?.is_none(), "an erased subject has no revision")?;
    ensure(w(store, |tx| tx.subject_rev(new_id()))?.is_none(), "an unknown subject has no revision")
}

/// Issue 14.3: the live counts per kind (migration 0022) equal a fresh count after each write that
/// records a subject, changes its kind or erases one, and after a job rolled back; a scope of whole
/// kinds, counted from them, equals the scope statement over the same subjects.
pub fn subject_counts(store: &Store) -> Result<(), String> {
    use std::collections::BTreeMap;
    let same = |store: &Store, step: &str| -> Result<(), String> {
        let (kept, fresh) = w(store, |tx| Ok((tx.subject_counts()?, tx.count_subjects_by(StatGroup::Kind)?)))?;
        let map = |g: Vec<crate::GroupCount>| -> BTreeMap<String, i64> {
            g.into_iter().filter(|g| g.count != 0).map(|g| (g.group, g.count)).collect()
        };
        let (kept, fresh) = (map(kept), map(fresh));
        ensure(kept == fresh, &format!("after {step}: the counts kept {kept:?}, a fresh count {fresh:?}"))?;
        // A scope of kinds (counted from the counts) against the scope statement (a date criterion
        // every subject meets sends it there).
        let old = Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).single().unwrap_or_default();
        for kinds in [vec![], vec![SubjectKind::Client], vec![SubjectKind::Prospect], SubjectKind::ALL.to_vec()] {
            let by_kind = crate::ScopeFilter { kinds: kinds.clone(), ..Default::default() };
            let statement =
                crate::ScopeFilter { kinds: kinds.clone(), collected_from: Some(old), ..Default::default() };
            let (a, b) = w(store, move |tx| Ok((tx.scope_count(&by_kind)?, tx.scope_count(&statement)?)))?;
            ensure(a == b, &format!("after {step}: scope of {kinds:?}: from the counts {a:?}, the statement {b:?}"))?;
        }
        Ok(())
    };
    same(store, "nothing")?;
    let p1 = subject(SubjectKind::Prospect, Some(b"p1"));
    let p2 = subject(SubjectKind::Prospect, None);
    let (c1, c2) = (subject(SubjectKind::Client, Some(b"c1")), subject(SubjectKind::Client, None));
    let (p1id, p2id, c1id, c2id) = (p1.id, p2.id, c1.id, c2.id);
    let p = p1.clone();
    w(store, move |tx| tx.insert_subject(&p))?;
    same(store, "a create")?;
    let batch = vec![p2.clone(), c1.clone(), c2.clone()];
    w(store, move |tx| tx.insert_subjects(&batch))?;
    same(store, "a bulk insert of both kinds")?;
    let at = now();
    for (id, rec) in [(c1id, 1u8), (c2id, 2), (p2id, 3)] {
        let (contract, interaction) = (
            ContractRow {
                id: new_id(),
                subject_id: id,
                reference: vec![rec],
                start: at.date_naive(),
                end: None,
                created_at: at,
            },
            InteractionRow {
                id: new_id(),
                subject_id: id,
                at,
                direction: Direction::Inbound,
                channel: "email".into(),
                summary: None,
                created_at: at,
            },
        );
        w(store, move |tx| {
            tx.insert_contract(&contract)?;
            tx.insert_interaction(&interaction)
        })?;
    }
    same(store, "records added")?;
    // A job that records a subject then fails changes no count.
    let ghost = subject(SubjectKind::Client, None);
    let failed = store.write_blocking(move |tx| {
        tx.insert_subject(&ghost)?;
        Err::<(), _>(StoreError::Conflict("rolled back".into()))
    });
    ensure(failed.is_err(), "the failing job fails")?;
    same(store, "a job rolled back")?;
    w(store, move |tx| tx.set_subject_kind(p1id, SubjectKind::Client, now()))?;
    same(store, "a prospect made a client")?;
    w(store, move |tx| tx.set_subject_kind(p1id, SubjectKind::Client, now()))?;
    same(store, "a client made a client")?;
    w(store, move |tx| tx.set_subject_kind(c1id, SubjectKind::Prospect, now()))?;
    same(store, "a client made a prospect")?;
    let merge = crate::Merge {
        from: c2id,
        into: c1id,
        kind: SubjectKind::Client,
        collected_at: at,
        identity: vec![7],
        email_bi: None,
        phone_bi: None,
        legal_hold: None,
        held_at: None,
        contracts: w(store, move |tx| tx.contracts(c2id))?.into_iter().map(|c| (c.id, vec![9])).collect(),
        interactions: Vec::new(),
        consents: Vec::new(),
        hold_events: Vec::new(),
        objections: Vec::new(),
        objections_redated: Vec::new(),
        restriction: None,
        messages: Vec::new(),
    };
    w(store, move |tx| tx.merge_subject(&merge, now()))?;
    same(store, "a merge that makes a prospect a client")?;
    ensure(w(store, move |tx| tx.erase_subject(p2id, "request", now()))?, "erased")?;
    same(store, "an erasure")?;
    ensure(!w(store, move |tx| tx.erase_subject(p2id, "request", now()))?, "erased once")?;
    same(store, "an erasure of a subject already erased")?;
    let due = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    w(store, move |tx| tx.set_retention(p1id, "last_inbound_contact", Some(due), Some(due)))?;
    let swept = w(store, move |tx| Ok(tx.erase_due(&[p1id], now(), at.date_naive())?.len() == 1))?;
    ensure(swept, "a due subject is swept")?;
    same(store, "a sweep")?;
    let left = w(store, |tx| tx.subject_counts())?;
    ensure(
        left.iter().map(|g| g.count).sum::<i64>() == 1 && w(store, |tx| tx.count_subjects())? == 1,
        "one subject left",
    )?;
    Ok(())
}

/// For the backfill tests of migration 0022: records subjects of both kinds and erases some.
pub fn record_and_erase(store: &Store) -> Result<(), String> {
    let rows: Vec<SubjectRow> =
        (0..7).map(|i| subject(if i % 3 == 0 { SubjectKind::Client } else { SubjectKind::Prospect }, None)).collect();
    let erased = [rows[0].id, rows[1].id, rows[2].id];
    w(store, move |tx| tx.insert_subjects(&rows))?;
    for id in erased {
        ensure(w(store, move |tx| tx.erase_subject(id, "request", now()))?, "erased")?;
    }
    Ok(())
}

/// For the backfill tests of migration 0022: the counts kept equal a fresh count (2 clients and
/// 2 prospects after [`record_and_erase`]), and go on following the writes.
pub fn counts_match(store: &Store) -> Result<(), String> {
    let expect = |store: &Store, clients: i64, prospects: i64, step: &str| -> Result<(), String> {
        let (kept, fresh) = w(store, |tx| Ok((tx.subject_counts()?, tx.count_subjects_by(StatGroup::Kind)?)))?;
        let of = |g: &[crate::GroupCount], k: &str| g.iter().filter(|g| g.group == k).map(|g| g.count).sum::<i64>();
        for (k, n) in [("client", clients), ("prospect", prospects)] {
            ensure(of(&kept, k) == n && of(&fresh, k) == n, &format!("{step}: {k}s kept {kept:?}, fresh {fresh:?}"))?;
        }
        Ok(())
    };
    expect(store, 2, 2, "backfilled")?;
    let p = subject(SubjectKind::Prospect, None);
    w(store, move |tx| tx.insert_subject(&p))?;
    expect(store, 2, 3, "a create after the backfill")
}

/// [`crate::ReadTx::intake_matches`] against the queries it replaces (`is_suppressed` of each
/// index, `subjects_by_email` and `subjects_by_phone`), at the edges; and
/// [`crate::Tx::insert_new_subject`] against `insert_subject` and `set_subject_name`.
pub fn intake(store: &Store) -> Result<(), String> {
    let bi = || new_id().as_bytes().to_vec();
    let (email, phone, suppressed_phone, suppressed_email, erased_email) = (bi(), bi(), bi(), bi(), bi());
    let end = NaiveDate::from_ymd_opt(2099, 1, 1).unwrap_or_default();
    // A prospect and a client share `email`; another client has `phone`, a third has both (it
    // must come back once); `erased_email` is an erased subject's; a subject's email is never
    // matched as a phone.
    let with = |kind, email: Option<&[u8]>, phone: Option<&[u8]>| SubjectRow {
        phone_bi: phone.map(<[u8]>::to_vec),
        ..subject(kind, email)
    };
    let rows = vec![
        with(SubjectKind::Prospect, Some(&email), None),
        with(SubjectKind::Client, Some(&email), None),
        with(SubjectKind::Client, None, Some(&phone)),
        with(SubjectKind::Client, Some(&email), Some(&phone)),
        with(SubjectKind::Prospect, Some(&erased_email), None),
    ];
    let erased = rows[4].id;
    let (sp, se) = (suppressed_phone.clone(), suppressed_email.clone());
    w(store, move |tx| {
        for r in &rows {
            tx.insert_subject(r)?;
        }
        tx.suppress(&sp, "objection", now(), end)?;
        tx.suppress(&se, "objection", now(), end)?;
        tx.erase_subject(erased, "test", now()).map(|_| ())
    })?;
    let other = bi();
    // (what the case is, the email's index, the phone's)
    type Case = (&'static str, Option<Vec<u8>>, Option<Vec<u8>>);
    let cases: Vec<Case> = vec![
        ("no email, no phone", None, None),
        ("an email shared by a prospect and clients", Some(email.clone()), None),
        ("a phone only", None, Some(phone.clone())),
        ("an email and a phone matching one subject twice", Some(email.clone()), Some(phone.clone())),
        ("a suppressed phone only", None, Some(suppressed_phone.clone())),
        ("a suppressed phone and a known email", Some(email.clone()), Some(suppressed_phone.clone())),
        ("a suppressed email, no phone", Some(suppressed_email.clone()), None),
        ("an email given as a phone", None, Some(email.clone())),
        ("a phone given as an email", Some(phone.clone()), None),
        ("an erased subject's email", Some(erased_email.clone()), None),
        ("unknown indexes", Some(other.clone()), Some(other)),
    ];
    for (case, e, p) in cases {
        let (got, expected) = w(store, move |tx| {
            let got = tx.intake_matches(e.as_deref(), p.as_deref())?;
            let mut suppressed = false;
            let mut duplicates = Vec::new();
            if let Some(e) = &e {
                suppressed |= tx.is_suppressed(e)?;
                duplicates.extend(tx.subjects_by_email(e)?);
            }
            if let Some(p) = &p {
                suppressed |= tx.is_suppressed(p)?;
                duplicates.extend(tx.subjects_by_phone(p)?);
            }
            duplicates.sort();
            duplicates.dedup();
            Ok((got, crate::IntakeMatches { suppressed, duplicates }))
        })?;
        ensure(got == expected, &format!("intake_matches, {case}: got {got:?}, the separate queries {expected:?}"))?;
    }
    // The expected answers themselves, so that the comparison above cannot pass on two wrongs.
    let (e, p, sp) = (email.clone(), phone.clone(), suppressed_phone.clone());
    let (both, phone_only, erased_one) = w(store, move |tx| {
        Ok((
            tx.intake_matches(Some(&e), Some(&p))?,
            tx.intake_matches(None, Some(&sp))?,
            tx.intake_matches(Some(&erased_email), None)?,
        ))
    })?;
    ensure(!both.suppressed && both.duplicates.len() == 4, "an email and a phone find the four subjects, once each")?;
    ensure(phone_only.suppressed && phone_only.duplicates.is_empty(), "a suppressed phone is found alone")?;
    ensure(erased_one == crate::IntakeMatches::default(), "an erased subject is no duplicate")?;

    // insert_new_subject: the same rows as insert_subject and set_subject_name.
    let (named, unnamed, name) =
        (subject(SubjectKind::Prospect, Some(&bi())), subject(SubjectKind::Client, None), bi());
    let (nid, uid) = (named.id, unnamed.id);
    let (a, b, n) = (named.clone(), unnamed.clone(), name.clone());
    let before = w(store, |tx| Ok((tx.count_subjects()?, tx.subject_counts()?)))?;
    w(store, move |tx| {
        tx.insert_new_subject(&a, Some(&n))?;
        tx.insert_new_subject(&b, None)
    })?;
    let n = name.clone();
    let (got_named, got_unnamed, by_name, rev, after) = w(store, move |tx| {
        Ok((
            tx.subject(nid)?,
            tx.subject(uid)?,
            tx.subjects_by_name(&n)?,
            tx.subject_rev(nid)?,
            (tx.count_subjects()?, tx.subject_counts()?),
        ))
    })?;
    ensure(got_named.as_ref() == Some(&named), "a new subject with a name reads back as written, with its key")?;
    ensure(got_unnamed.as_ref() == Some(&unnamed), "a new subject without a name reads back as written")?;
    ensure(by_name == vec![nid], "a new subject's name is found")?;
    ensure(rev == Some(0), "a new subject's revision is the first")?;
    ensure(after.0 == before.0 + 2, "new subjects are counted")?;
    let kept =
        |counts: &[crate::GroupCount], kind: &str| counts.iter().find(|g| g.group == kind).map_or(0, |g| g.count);
    ensure(
        kept(&after.1, "prospect") == kept(&before.1, "prospect") + 1
            && kept(&after.1, "client") == kept(&before.1, "client") + 1,
        "new subjects move the counts kept per kind",
    )?;
    // The name of the one without is set later as for any subject.
    let later = bi();
    let l = later.clone();
    let found = w(store, move |tx| {
        tx.set_subject_name(uid, Some(&l))?;
        tx.subjects_by_name(&l)
    })?;
    ensure(found == vec![uid], "a name set after the create is found")?;
    // A refused create writes nothing: an id already taken, with a name, fails whole.
    let (again, other_name) = (SubjectRow { email_bi: Some(bi()), ..named.clone() }, bi());
    let o = other_name.clone();
    let refused = store.write_blocking(move |tx| tx.insert_new_subject(&again, Some(&o)));
    ensure(matches!(refused, Err(StoreError::Conflict(_))), "a create of a taken id is a conflict")?;
    let o = other_name.clone();
    let (still, stray, count) =
        w(store, move |tx| Ok((tx.subject(nid)?, tx.subjects_by_name(&o)?, tx.count_subjects()?)))?;
    ensure(still.as_ref() == Some(&named), "a refused create leaves the subject it collided with as it was")?;
    ensure(stray.is_empty(), "a refused create leaves no name")?;
    ensure(count == after.0, "a refused create is not counted")?;
    Ok(())
}

/// Jobs of every shape in the same group commits, in any order (a backend may send a job's
/// savepoint with its first statement, or not at all for a job that sends none): one that sends
/// nothing and succeeds, one that sends nothing and fails, one that only reads, one that writes,
/// one whose statement fails on the database, one that fails after writing.
pub fn quiet_jobs(store: &Store) -> Result<(), String> {
    let taken = subject(SubjectKind::Client, None);
    let t = taken.clone();
    w(store, move |tx| tx.insert_subject(&t))?;
    let n = 120;
    let rows: Vec<SubjectRow> = (0..n).map(|_| subject(SubjectKind::Prospect, None)).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = rows
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, row)| {
            let (store, barrier, taken) = (store.clone(), barrier.clone(), taken.id);
            std::thread::spawn(move || {
                barrier.wait();
                store.write_blocking(move |tx| match i % 6 {
                    0 => Ok(i),
                    1 => Err(StoreError::Conflict("deliberate, nothing sent".into())),
                    2 => tx.subject(taken).map(|_| i),
                    3 => tx.insert_subject(&row).map(|()| i),
                    4 => tx.insert_subject(&SubjectRow { id: taken, ..row }).map(|()| i),
                    _ => {
                        tx.insert_subject(&row)?;
                        Err(StoreError::Conflict("deliberate, after a write".into()))
                    }
                })
            })
        })
        .collect();
    for (i, (row, handle)) in rows.iter().zip(handles).enumerate() {
        let result = handle.join().map_err(|_| "a writer thread panicked".to_string())?;
        let ok = matches!(i % 6, 0 | 2 | 3);
        ensure(result.as_ref().ok() == ok.then_some(&i), &format!("job {i} (shape {}) gets its own outcome", i % 6))?;
        if i % 6 == 4 {
            ensure(
                matches!(result, Err(StoreError::Conflict(_))),
                "a statement refused by the database is a conflict",
            )?;
        }
        let id = row.id;
        let present = w(store, move |tx| tx.subject(id))?.is_some();
        ensure(present == (i % 6 == 3), &format!("job {i} (shape {}) leaves its own rows only", i % 6))?;
    }
    let (kept, fresh) = w(store, |tx| Ok((tx.subject_counts()?, tx.count_subjects_by(StatGroup::Kind)?)))?;
    let live = |g: Vec<crate::GroupCount>| {
        g.into_iter().filter(|g| g.count != 0).map(|g| (g.group, g.count)).collect::<Vec<_>>()
    };
    ensure(live(kept) == live(fresh), "the counts kept are a fresh count's")?;
    let id = taken.id;
    ensure(w(store, move |tx| tx.subject(id))?.as_ref() == Some(&taken), "the taken subject is as it was")
}
