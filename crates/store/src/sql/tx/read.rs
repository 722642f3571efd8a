//! [`ReadTx`] over any [`Driver`]: what a snapshot reads.

use super::*;

impl<D: Driver> ReadTx for D {
    // Subjects.

    fn subject(&mut self, id: Id) -> Result<Option<SubjectRow>> {
        self.opt(
            Stmt::Static(concat!(
                "SELECT ",
                subject_columns!(),
                " FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = $1"
            )),
            &[&id],
        )
    }

    fn subject_rev(&mut self, id: Id) -> Result<Option<i64>> {
        let rev: Option<(i64,)> = self.opt("SELECT rev FROM subjects WHERE id = $1".into(), &[&id])?;
        Ok(rev.map(|(r,)| r))
    }

    fn subjects_by_email(&mut self, email_bi: &[u8]) -> Result<Vec<Id>> {
        let ids: Vec<(Id,)> =
            self.rows("SELECT id FROM subjects WHERE email_bi = $1 ORDER BY id".into(), &[&email_bi])?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    fn subjects_by_phone(&mut self, phone_bi: &[u8]) -> Result<Vec<Id>> {
        let ids: Vec<(Id,)> =
            self.rows("SELECT id FROM subjects WHERE phone_bi = $1 ORDER BY id".into(), &[&phone_bi])?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    fn intake_matches(&mut self, email_bi: Option<&[u8]>, phone_bi: Option<&[u8]>) -> Result<IntakeMatches> {
        // A suppression entry is a row without an id; a NULL index matches nothing.
        let rows: Vec<(Option<Id>,)> = self.rows(
            "SELECT NULL::uuid FROM suppression WHERE bi = $1::bytea OR bi = $2::bytea
             UNION ALL SELECT id FROM subjects WHERE email_bi = $1::bytea
             UNION ALL SELECT id FROM subjects WHERE phone_bi = $2::bytea"
                .into(),
            &[&email_bi, &phone_bi],
        )?;
        let suppressed = rows.iter().any(|(id,)| id.is_none());
        let mut duplicates: Vec<Id> = rows.into_iter().filter_map(|(id,)| id).collect();
        duplicates.sort();
        duplicates.dedup();
        Ok(IntakeMatches { suppressed, duplicates })
    }

    fn subjects_by_name(&mut self, name_bi: &[u8]) -> Result<Vec<Id>> {
        let ids: Vec<(Id,)> = self
            .rows("SELECT subject_id FROM subject_names WHERE name_bi = $1 ORDER BY subject_id".into(), &[&name_bi])?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    fn subjects_by_contract_reference(&mut self, reference_bi: &[u8]) -> Result<Vec<Id>> {
        let ids: Vec<(Id,)> = self.rows(
            "SELECT DISTINCT subject_id FROM contracts WHERE reference_bi = $1 ORDER BY subject_id".into(),
            &[&reference_bi],
        )?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    fn count_subjects(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM subjects".into(), &[])
    }

    fn count_subjects_by(&mut self, group: StatGroup) -> Result<Vec<GroupCount>> {
        match group {
            StatGroup::Kind => self.rows("SELECT kind, count(*) FROM subjects GROUP BY 1 ORDER BY 1".into(), &[]),
            StatGroup::CollectedYear => {
                let year = self.dialect().year("collected_at");
                once_rows(self, &format!("SELECT {year}, count(*) FROM subjects GROUP BY 1 ORDER BY 1"), &[])
            }
        }
    }

    fn subject_counts(&mut self) -> Result<Vec<GroupCount>> {
        flush_counts(self)?;
        self.rows(
            "SELECT c.kind, CAST(c.recorded - COALESCE((SELECT sum(e.count) FROM erased_counts e WHERE e.kind = c.kind), 0)
                                AS BIGINT)
               FROM subject_counts c ORDER BY 1"
                .into(),
            &[],
        )
    }

    // Retention.

    fn hold_events(&mut self, subject: Id) -> Result<Vec<HoldEventRow>> {
        self.rows(
            "SELECT id, subject_id, action, reason, at, actor FROM legal_hold_events WHERE subject_id = $1 ORDER BY at, id"
                .into(),
            &[&subject],
        )
    }

    fn legal_holds(&mut self, limit: i64) -> Result<Vec<(Id, Option<DateTime<Utc>>)>> {
        self.rows(
            "SELECT id, held_at FROM subjects WHERE legal_hold IS NOT NULL ORDER BY held_at, id LIMIT $1".into(),
            &[&limit],
        )
    }

    fn due(&mut self, at: NaiveDate, limit: i64) -> Result<Vec<DueRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                due_columns!(),
                " FROM subjects s WHERE s.expires_on < $1 AND s.legal_hold IS NULL ORDER BY s.expires_on, s.id LIMIT $2"
            )),
            &[&at, &limit],
        )
    }

    fn count_due(&mut self, at: NaiveDate) -> Result<i64> {
        self.value("SELECT count(*) FROM subjects WHERE expires_on < $1 AND legal_hold IS NULL".into(), &[&at])
    }

    fn held_due(&mut self, at: NaiveDate) -> Result<Vec<HeldRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                due_columns!(),
                ", s.legal_hold, k.wrapped, s.held_at FROM subjects s JOIN subject_keys k ON k.subject_id = s.id
                 WHERE s.expires_on < $1 AND s.legal_hold IS NOT NULL ORDER BY s.expires_on, s.id"
            )),
            &[&at],
        )
    }

    fn count_expiring_by_month(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<GroupCount>> {
        let month = self.dialect().month("expires_on");
        once_rows(
            self,
            &format!(
                "SELECT {month}, count(*) FROM subjects
                 WHERE expires_on >= $1 AND expires_on < $2 AND legal_hold IS NULL GROUP BY 1 ORDER BY 1"
            ),
            &[&from, &to],
        )
    }

    fn to_review(&mut self, limit: i64) -> Result<Vec<ReviewRow>> {
        self.rows(
            "SELECT id, collected_at FROM subjects WHERE retention_rule = 'client_without_contract'
             ORDER BY collected_at, id LIMIT $1"
                .into(),
            &[&limit],
        )
    }

    fn count_to_review(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM subjects WHERE retention_rule = 'client_without_contract'".into(), &[])
    }

    fn open_request_subjects(&mut self) -> Result<Vec<(Id, Id)>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT id, subject_id FROM requests WHERE subject_id IS NOT NULL AND status IN ",
                open_statuses!(),
                " ORDER BY id"
            )),
            &[],
        )
    }

    fn scope_due(&mut self, f: &ScopeFilter, at: NaiveDate) -> Result<Vec<DueRow>> {
        flush_audit(self)?;
        let mut args: Vec<&dyn ToArg> = vec![&at];
        let scope = scope_where(f, &mut args);
        once_rows(
            self,
            &format!(
                concat!(
                    "SELECT ",
                    due_columns!(),
                    " FROM subjects s WHERE ({}) AND s.expires_on < $1 AND s.legal_hold IS NULL ORDER BY s.expires_on, s.id"
                ),
                scope
            ),
            &args,
        )
    }

    fn erasure(&mut self, id: Id) -> Result<Option<ErasureRow>> {
        self.opt(
            "SELECT subject_id, erased_at, kind, rule, merged_into FROM erasures WHERE subject_id = $1".into(),
            &[&id],
        )
    }

    fn erasures_since(&mut self, since: DateTime<Utc>, limit: i64) -> Result<Vec<ErasureRow>> {
        self.rows(
            "SELECT subject_id, erased_at, kind, rule, merged_into FROM erasures WHERE erased_at >= $1
             ORDER BY erased_at, subject_id LIMIT $2"
                .into(),
            &[&since, &limit],
        )
    }

    fn erased_counts(&mut self) -> Result<Vec<GroupCount>> {
        self.rows("SELECT month || '|' || kind || '|' || rule, count FROM erased_counts ORDER BY 1".into(), &[])
    }

    // Recipients and transfers.

    fn safeguards(&mut self) -> Result<Vec<SafeguardRow>> {
        self.rows(
            "SELECT id, recipient, kind, signed_on, recorded_at, reference FROM safeguards
             ORDER BY recipient, signed_on, id"
                .into(),
            &[],
        )
    }

    fn transfer_activations(&mut self) -> Result<Vec<(String, DateTime<Utc>)>> {
        self.rows("SELECT recipient, activated_at FROM transfer_activations ORDER BY recipient".into(), &[])
    }

    fn disclosures_for_recipient(&mut self, recipient: &str, limit: i64) -> Result<Vec<DisclosureRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                disclosure_columns!(),
                " FROM disclosures WHERE recipient = $1 ORDER BY at DESC, id DESC LIMIT $2"
            )),
            &[&recipient, &limit],
        )
    }

    // Outbox.

    fn messages_for_subject(&mut self, subject: Id) -> Result<Vec<MessageRow>> {
        self.rows(
            Stmt::Static(concat!("SELECT ", message_columns!(), " FROM outbox WHERE subject_id = $1 ORDER BY id")),
            &[&subject],
        )
    }

    fn messages(&mut self, status: Option<OutboxStatus>, limit: i64) -> Result<Vec<MessageRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                message_columns!(),
                " FROM outbox WHERE $1::text IS NULL OR status = $1::text ORDER BY id DESC LIMIT $2"
            )),
            &[&status, &limit],
        )
    }

    fn count_messages(&mut self, template: &str, params: &str) -> Result<(i64, i64)> {
        self.opt(
            Stmt::Static(concat!(
                "SELECT count(*), count(*) FILTER (WHERE status <> ",
                outbox_sent!(),
                ") FROM outbox WHERE template = $1 AND params = $2"
            )),
            &[&template, &params],
        )
        .map(Option::unwrap_or_default)
    }

    fn message_by_key(&mut self, key: &str) -> Result<Option<MessageRow>> {
        self.opt(
            Stmt::Static(concat!("SELECT ", message_columns!(), " FROM outbox WHERE idempotency_key = $1")),
            &[&key],
        )
    }

    // Policy versions.

    fn policy_versions(&mut self) -> Result<Vec<PolicyVersionRow>> {
        self.rows(
            "SELECT version, text, effective_date, status, uploaded_at, activated_at FROM policy_versions
             ORDER BY uploaded_at, version"
                .into(),
            &[],
        )
    }

    fn assessments(&mut self) -> Result<Vec<AssessmentRow>> {
        self.rows(
            "SELECT version, purpose, kind, from_basis, to_basis, compatible, reasoning, assessed_at
             FROM policy_assessments ORDER BY version, purpose, kind"
                .into(),
            &[],
        )
    }

    // Rights requests.

    fn request(&mut self, id: Id) -> Result<Option<RequestRow>> {
        self.opt(Stmt::Static(concat!("SELECT ", request_columns!(), " FROM requests WHERE id = $1")), &[&id])
    }

    fn requests(&mut self, limit: i64) -> Result<Vec<RequestRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                request_columns!(),
                " FROM requests ORDER BY coalesce(extended_due_on, due_on), received_on, id LIMIT $1"
            )),
            &[&limit],
        )
    }

    fn requests_for_subject(&mut self, subject: Id) -> Result<Vec<RequestRow>> {
        self.rows(
            Stmt::Static(concat!("SELECT ", request_columns!(), " FROM requests WHERE subject_id = $1 ORDER BY id")),
            &[&subject],
        )
    }

    fn has_identity_document(&mut self, request: Id) -> Result<bool> {
        self.value("SELECT EXISTS (SELECT 1 FROM identity_documents WHERE request_id = $1)".into(), &[&request])
    }

    fn identity_document(&mut self, request: Id) -> Result<Option<(Vec<u8>, String)>> {
        self.opt("SELECT content, content_type FROM identity_documents WHERE request_id = $1".into(), &[&request])
    }

    fn identity_confirmation(&mut self, request: Id) -> Result<Option<ConfirmationRow>> {
        self.opt(
            "SELECT request_id, subject_id, token_hash, token, created_at, expires_at FROM identity_confirmations
             WHERE request_id = $1"
                .into(),
            &[&request],
        )
    }

    fn identity_confirmation_by_hash(&mut self, hash: &[u8]) -> Result<Option<ConfirmationRow>> {
        self.opt(
            "SELECT request_id, subject_id, token_hash, token, created_at, expires_at FROM identity_confirmations
             WHERE token_hash = $1"
                .into(),
            &[&hash],
        )
    }

    fn is_suppressed(&mut self, bi: &[u8]) -> Result<bool> {
        self.value("SELECT EXISTS (SELECT 1 FROM suppression WHERE bi = $1)".into(), &[&bi])
    }

    fn count_suppressed(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM suppression".into(), &[])
    }

    fn own_counts(&mut self) -> Result<OwnCounts> {
        let (requests, open_requests, breaches, disclosures) = self
            .opt::<(i64, i64, i64, i64)>(
                Stmt::Static(concat!(
                    "SELECT (SELECT count(*) FROM requests),
                     (SELECT count(*) FROM requests WHERE status IN ",
                    open_statuses!(),
                    "), (SELECT count(*) FROM breaches), (SELECT count(*) FROM disclosures)"
                )),
                &[],
            )?
            .unwrap_or_default();
        Ok(OwnCounts { requests, open_requests, breaches, disclosures })
    }

    // Breaches.

    fn breach(&mut self, id: Id) -> Result<Option<BreachRow>> {
        self.opt(Stmt::Static(concat!("SELECT ", breach_columns!(), " FROM breaches WHERE id = $1")), &[&id])
    }

    fn breaches(&mut self) -> Result<Vec<BreachRow>> {
        self.rows(
            Stmt::Static(concat!("SELECT ", breach_columns!(), " FROM breaches ORDER BY detected_at DESC, id")),
            &[],
        )
    }

    fn breach_phases(&mut self, breach: Id) -> Result<Vec<BreachPhaseRow>> {
        self.rows(
            "SELECT id, breach_id, at, phase, details, actor FROM breach_phases WHERE breach_id = $1 ORDER BY at, id"
                .into(),
            &[&breach],
        )
    }

    fn scope_count(&mut self, f: &ScopeFilter) -> Result<ScopeCount> {
        flush_audit(self)?;
        let kinds_only = f.subject_ids.is_empty()
            && f.collected_from.is_none()
            && f.collected_to.is_none()
            && f.recipient.is_none()
            && f.actor.is_none();
        if kinds_only {
            return scope_count_by_kind(self, &f.kinds);
        }
        let mut args: Vec<&dyn ToArg> = Vec::new();
        let scope = scope_where(f, &mut args);
        // Materialised: one pass over the subjects. Left to itself, SQLite may fold the scope into
        // each count instead, and answer `email_bi IS NOT NULL` through the email index, one
        // lookup of the subject per indexed email (seconds over a million subjects).
        let counts: Vec<ScopeCount> = once_rows(
            self,
            &format!(
                "WITH scope AS MATERIALIZED (SELECT s.id, s.kind, s.email_bi FROM subjects s WHERE {scope})
                 SELECT (SELECT count(*) FROM scope),
                        (SELECT count(*) FROM contracts WHERE subject_id IN (SELECT id FROM scope)),
                        (SELECT count(*) FROM interactions WHERE subject_id IN (SELECT id FROM scope)),
                        (SELECT count(*) FROM consents WHERE subject_id IN (SELECT id FROM scope)),
                        (SELECT count(*) FROM scope WHERE kind = 'client'),
                        (SELECT count(*) FROM scope WHERE kind = 'prospect'),
                        (SELECT count(*) FROM scope WHERE email_bi IS NOT NULL)"
            ),
            &args,
        )?;
        Ok(counts.into_iter().next().unwrap_or_default())
    }

    // A subject's records.

    fn contracts(&mut self, subject: Id) -> Result<Vec<ContractRow>> {
        self.rows(
            "SELECT id, subject_id, reference, start_date, end_date, created_at FROM contracts
             WHERE subject_id = $1 ORDER BY start_date, id"
                .into(),
            &[&subject],
        )
    }

    fn interactions(&mut self, subject: Id) -> Result<Vec<InteractionRow>> {
        self.rows(
            "SELECT id, subject_id, at, direction, channel, summary, created_at FROM interactions
             WHERE subject_id = $1 ORDER BY at, id"
                .into(),
            &[&subject],
        )
    }

    fn consents(&mut self, subject: Id) -> Result<Vec<ConsentRow>> {
        self.rows(
            "SELECT id, subject_id, purpose, granted, at, evidence FROM consents WHERE subject_id = $1 ORDER BY at, id"
                .into(),
            &[&subject],
        )
    }

    fn objections(&mut self, subject: Id) -> Result<Vec<ObjectionRow>> {
        self.rows(
            "SELECT id, subject_id, purpose, at FROM objections WHERE subject_id = $1 ORDER BY at, id".into(),
            &[&subject],
        )
    }

    fn objections_to(&mut self, subjects: &[Id], purpose: &str) -> Result<Vec<ObjectionRow>> {
        let mut out = Vec::new();
        for chunk in subjects.chunks(ERASE_CHUNK) {
            // Padded, as the erasure's lists are: a few texts, each prepared once.
            let padded = pad(chunk);
            let marks: Vec<String> = (0..padded.len()).map(|i| format!("${}", i + 2)).collect();
            let mut args: Vec<&dyn ToArg> = vec![&purpose];
            args.extend(padded.iter().map(|id| id as &dyn ToArg));
            out.extend(once_rows::<_, ObjectionRow>(
                self,
                &format!(
                    "SELECT id, subject_id, purpose, at FROM objections WHERE purpose = $1 AND subject_id IN ({})
                     ORDER BY subject_id, at, id",
                    marks.join(", ")
                ),
                &args,
            )?);
        }
        Ok(out)
    }

    // Tokens.

    fn token_by_hash(&mut self, hash: &[u8]) -> Result<Option<TokenRow>> {
        self.opt(Stmt::Static(concat!("SELECT ", token_columns!(), " FROM tokens WHERE hash = $1")), &[&hash])
    }

    fn database_now(&mut self) -> Result<DateTime<Utc>> {
        let now = self.dialect().now();
        self.value(Stmt::Static(now), &[])
    }

    fn tokens(&mut self) -> Result<Vec<TokenRow>> {
        self.rows(Stmt::Static(concat!("SELECT ", token_columns!(), " FROM tokens ORDER BY created_at, id")), &[])
    }

    fn count_tokens(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM tokens".into(), &[])
    }

    // Accounts and sessions.

    fn account(&mut self, id: Id) -> Result<Option<AccountRow>> {
        self.opt(Stmt::Static(concat!("SELECT ", account_columns!(), " FROM accounts WHERE id = $1")), &[&id])
    }

    fn account_by_email(&mut self, email_bi: &[u8]) -> Result<Option<AccountRow>> {
        self.opt(
            Stmt::Static(concat!("SELECT ", account_columns!(), " FROM accounts WHERE email_bi = $1")),
            &[&email_bi],
        )
    }

    fn accounts(&mut self) -> Result<Vec<AccountRow>> {
        self.rows(Stmt::Static(concat!("SELECT ", account_columns!(), " FROM accounts ORDER BY created_at, id")), &[])
    }

    fn session(&mut self, hash: &[u8]) -> Result<Option<SessionRow>> {
        self.opt("SELECT hash, account_id, created_at, last_seen_at FROM sessions WHERE hash = $1".into(), &[&hash])
    }

    // Audit trail.

    fn audit_head_mac(&mut self) -> Result<Option<Vec<u8>>> {
        flush_audit(self)?;
        // A head this writer moved and has not written yet (see `sql::AuditHead`).
        if let Some(mac) = self.audit_head_copy().current.as_ref().and_then(|h| h.unwritten_mac.clone()) {
            return Ok(Some(mac));
        }
        self.value("SELECT mac FROM audit_head WHERE id = 1".into(), &[])
    }

    fn audit_page(&mut self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        flush_audit(self)?;
        self.rows(
            Stmt::Static(concat!("SELECT ", audit_columns!(), " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")),
            &[&after, &limit],
        )
    }

    fn audit_scan(&mut self, after: i64, upto: i64, each: &mut dyn FnMut(AuditRow) -> Result<()>) -> Result<()> {
        flush_audit(self)?;
        self.query(
            Stmt::Static(concat!("SELECT ", audit_columns!(), " FROM audit WHERE seq > $1 AND seq <= $2 ORDER BY seq")),
            &[&after, &upto],
            &mut |r| each(AuditRow::from_row(r)?),
        )
    }

    fn audit_for_subject(&mut self, subject: Id, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        flush_audit(self)?;
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit WHERE subject_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            )),
            &[&subject, &after, &limit],
        )
    }

    fn audit_head_recorded(&mut self) -> Result<(i64, Vec<u8>)> {
        flush_audit(self)?;
        if let Some(h) = &self.audit_head_copy().current {
            return Ok((h.seq, h.hash.clone()));
        }
        self.opt("SELECT seq, hash FROM audit_head WHERE id = 1".into(), &[])?.ok_or_else(no_head)
    }

    // Disclosures.

    fn disclosures_for_subject(&mut self, subject: Id) -> Result<Vec<DisclosureRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                disclosure_columns!(),
                " FROM disclosures WHERE subject_id = $1 ORDER BY at, id"
            )),
            &[&subject],
        )
    }

    // Key rotation.

    fn wrapped_keys(&mut self) -> Result<Vec<(KeyOwner, Id, Vec<u8>)>> {
        let mut out = Vec::new();
        for (owner, sql) in [
            (KeyOwner::Subject, "SELECT subject_id, wrapped FROM subject_keys"),
            (KeyOwner::Request, "SELECT id, wrapped_key FROM requests WHERE length(wrapped_key) > 0"),
            (KeyOwner::Breach, "SELECT id, wrapped_key FROM breaches"),
            (KeyOwner::Account, "SELECT id, wrapped_key FROM accounts"),
        ] {
            let keys: Vec<(Id, Vec<u8>)> = self.rows(sql.into(), &[])?;
            out.extend(keys.into_iter().map(|(id, k)| (owner, id, k)));
        }
        Ok(out)
    }

    // Settings kept in the database.

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.opt::<(String,)>("SELECT value FROM meta WHERE key = $1".into(), &[&key])?.map(|(v,)| v))
    }

    // Restriction of processing (Art. 18).

    fn restriction(&mut self, subject: Id) -> Result<Option<RestrictionRow>> {
        self.opt(
            "SELECT subject_id, ground, request_id, restricted_at, lifted_at, lift_reason FROM restrictions
             WHERE subject_id = $1"
                .into(),
            &[&subject],
        )
    }

    fn restricted_subjects(&mut self) -> Result<Vec<(Id, RestrictionGround)>> {
        self.rows("SELECT subject_id, ground FROM restrictions WHERE lifted_at IS NULL ORDER BY subject_id".into(), &[])
    }

    // Operations.

    fn ops_counts(&mut self, today: NaiveDate, breach_deadline: DateTime<Utc>) -> Result<OpsCounts> {
        Ok(OpsCounts {
            requests: self.rows("SELECT status, count(*) FROM requests GROUP BY 1 ORDER BY 1".into(), &[])?,
            overdue_requests: self.value(
                "SELECT count(*) FROM requests WHERE status IN ('awaiting_identity', 'in_progress')
                 AND coalesce(extended_due_on, due_on) < $1"
                    .into(),
                &[&today],
            )?,
            breaches_past_72h: self.value(
                "SELECT count(*) FROM breaches WHERE status = 'open' AND risk <> 'none' AND detected_at < $1".into(),
                &[&breach_deadline],
            )?,
            outbox: self.rows("SELECT status, count(*) FROM outbox GROUP BY 1 ORDER BY 1".into(), &[])?,
        })
    }
}

/// A scope of whole kinds (or of every subject), counted without reading every subject: the
/// subjects from the live counts (migration 0022), those without an email from their partial
/// index, and the records from their own tables, each with its subject's kind looked up by key.
/// The same counts as the scope statement (the conformance check `scope_by_kind` compares them).
fn scope_count_by_kind<D: Driver>(d: &mut D, kinds: &[SubjectKind]) -> Result<ScopeCount> {
    let chosen = |k: SubjectKind| kinds.is_empty() || kinds.contains(&k);
    let live = d.subject_counts()?;
    let without_email: Vec<GroupCount> =
        d.rows("SELECT kind, count(*) FROM subjects WHERE email_bi IS NULL GROUP BY kind ORDER BY kind".into(), &[])?;
    let of = |groups: &[GroupCount], k: SubjectKind| {
        groups.iter().filter(|g| g.group == k.as_str()).map(|g| g.count).sum::<i64>()
    };
    let mut c = ScopeCount::default();
    for k in SubjectKind::ALL.iter().copied().filter(|k| chosen(*k)) {
        match k {
            SubjectKind::Client => c.clients = of(&live, k),
            SubjectKind::Prospect => c.prospects = of(&live, k),
        }
        c.with_email -= of(&without_email, k);
    }
    c.subjects = c.clients + c.prospects;
    c.with_email += c.subjects;
    // One kind: the records of subjects of that kind; both (or none named): of every subject.
    let one: Vec<SubjectKind> = SubjectKind::ALL.iter().copied().filter(|k| chosen(*k)).collect();
    let kind = match one.as_slice() {
        [k] => Some(*k),
        _ => None,
    };
    let mut records = |table: &'static str| -> Result<i64> {
        let sql = format!(
            "SELECT count(*) FROM {table} r WHERE EXISTS (SELECT 1 FROM subjects s WHERE s.id = r.subject_id{})",
            if kind.is_some() { " AND s.kind = $1" } else { "" }
        );
        let sql = d.dialect().render(&sql);
        let args: Vec<&dyn ToArg> = kind.iter().map(|k| k as &dyn ToArg).collect();
        Ok(d.opt::<(i64,)>(Stmt::Once(&sql), &args)?.map_or(0, |(n,)| n))
    };
    c.contracts = records("contracts")?;
    c.interactions = records("interactions")?;
    c.consents = records("consents")?;
    Ok(c)
}
