//! [`Tx`] over any [`Driver`]: the writes, in the trait's sections.

use super::*;

/// Moves the count of subjects recorded as `kind` (migration 0022) by `n`, in the caller's
/// transaction. The move waits in the writer's copy (`sql::AuditHead`) and is written with the
/// batch's audit entries (`flush_counts`), one upsert per kind, after the audit head is locked.
fn count_subjects<D: Driver>(d: &mut D, kind: SubjectKind, n: i64) -> Result<()> {
    *d.audit_head_copy().counts.entry(kind).or_default() += n;
    Ok(())
}

impl<D: Driver> Tx for D {
    // Subjects.

    fn insert_subject(&mut self, s: &SubjectRow) -> Result<()> {
        insert_subject_row(self, s)?;
        count_subjects(self, s.kind, 1)
    }

    fn insert_new_subject(&mut self, s: &SubjectRow, name_bi: Option<&[u8]>) -> Result<()> {
        if self.dialect().writable_ctes() {
            // One round trip: the key and the name follow the subject's row in the same statement
            // (foreign keys are checked at its end).
            self.execute(
                Stmt::Static(
                    "WITH s AS (
                         INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi,
                                               identity, retention_rule, basis_date, expires_on, legal_hold, held_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id),
                     k AS (INSERT INTO subject_keys (subject_id, wrapped) SELECT id, $14::bytea FROM s)
                     INSERT INTO subject_names (subject_id, name_bi) SELECT id, $15::bytea FROM s
                     WHERE $15::bytea IS NOT NULL",
                ),
                &[subject_args(s).as_slice(), &[&s.wrapped_key, &name_bi]].concat(),
            )?;
        } else {
            insert_subject_row(self, s)?;
            if let Some(bi) = name_bi {
                self.execute("INSERT INTO subject_names (subject_id, name_bi) VALUES ($1, $2)".into(), &[&s.id, &bi])?;
            }
        }
        count_subjects(self, s.kind, 1)
    }

    fn insert_subjects(&mut self, rows: &[SubjectRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.bulk_insert_subjects(rows)?;
        for kind in SubjectKind::ALL {
            let n = rows.iter().filter(|r| r.kind == *kind).count() as i64;
            if n > 0 {
                count_subjects(self, *kind, n)?;
            }
        }
        Ok(())
    }

    fn set_subject_kind(&mut self, id: Id, kind: SubjectKind, at: DateTime<Utc>) -> Result<()> {
        let was = self.opt::<(SubjectKind,)>("SELECT kind FROM subjects WHERE id = $1 FOR UPDATE".into(), &[&id])?;
        self.update_one("UPDATE subjects SET kind = $2, updated_at = $3 WHERE id = $1", &[&id, &kind, &at], || {
            format!("subject {id}")
        })?;
        match was {
            Some((was,)) if was != kind => {
                count_subjects(self, was, -1)?;
                count_subjects(self, kind, 1)
            }
            _ => Ok(()),
        }
    }

    fn lock_subject(&mut self, id: Id) -> Result<Option<SubjectRow>> {
        self.opt(
            Stmt::Static(concat!(
                "SELECT ",
                subject_columns!(),
                " FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = $1 FOR UPDATE OF s"
            )),
            &[&id],
        )
    }

    fn merge_subject(&mut self, m: &Merge, at: DateTime<Utc>) -> Result<()> {
        let (from, into) = (&m.from, &m.into);
        if let Some((was,)) =
            self.opt::<(SubjectKind,)>("SELECT kind FROM subjects WHERE id = $1 FOR UPDATE".into(), &[into])?
            && was != m.kind
        {
            count_subjects(self, was, -1)?;
            count_subjects(self, m.kind, 1)?;
        }
        self.update_one(
            "UPDATE subjects SET kind = $2, collected_at = $3, identity = $4, email_bi = $5, phone_bi = $6,
                 legal_hold = $7, held_at = $8, updated_at = $9 WHERE id = $1",
            &[into, &m.kind, &m.collected_at, &m.identity, &m.email_bi, &m.phone_bi, &m.legal_hold, &m.held_at, &at],
            || format!("subject {into}"),
        )?;
        let moved = |d: &mut Self, sql: &'static str, id: &Id, v: &dyn ToArg, what: &str| {
            d.update_one(sql, &[id, from, into, v], || format!("{what} {id} of subject {from}"))
        };
        for (id, v) in &m.contracts {
            let sql = "UPDATE contracts SET subject_id = $3, reference = $4 WHERE id = $1 AND subject_id = $2";
            moved(self, sql, id, v, "contract")?;
        }
        for (id, v) in &m.interactions {
            let sql = "UPDATE interactions SET subject_id = $3, summary = $4 WHERE id = $1 AND subject_id = $2";
            moved(self, sql, id, v, "interaction")?;
        }
        for (id, v) in &m.consents {
            let sql = "UPDATE consents SET subject_id = $3, evidence = $4 WHERE id = $1 AND subject_id = $2";
            moved(self, sql, id, v, "consent")?;
        }
        for (id, v) in &m.hold_events {
            let sql = "UPDATE legal_hold_events SET subject_id = $3, reason = $4 WHERE id = $1 AND subject_id = $2";
            moved(self, sql, id, v, "legal hold event")?;
        }
        for id in &m.objections {
            self.update_one(
                "UPDATE objections SET subject_id = $3 WHERE id = $1 AND subject_id = $2",
                &[id, from, into],
                || format!("objection {id} of subject {from}"),
            )?;
        }
        for (id, at) in &m.objections_redated {
            self.update_one(
                "UPDATE objections SET at = $3 WHERE id = $1 AND subject_id = $2",
                &[id, into, at],
                || format!("objection {id} of subject {into}"),
            )?;
        }
        if let Some(reason) = &m.restriction {
            self.execute("DELETE FROM restrictions WHERE subject_id = $1".into(), &[into])?;
            self.execute(
                "UPDATE restrictions SET subject_id = $2, lift_reason = $3 WHERE subject_id = $1".into(),
                &[from, into, reason],
            )?;
        }
        for id in &m.messages {
            self.update_one(
                "UPDATE outbox SET subject_id = $3 WHERE id = $1 AND subject_id = $2",
                &[id, from, into],
                || format!("message {id} of subject {from}"),
            )?;
        }
        self.execute("UPDATE disclosures SET subject_id = $2 WHERE subject_id = $1".into(), &[from, into])?;
        // The links sent to `from`'s email on file are withdrawn: that address may not be on file any more.
        self.execute(
            "DELETE FROM identity_confirmations WHERE request_id IN (SELECT id FROM requests WHERE subject_id = $1)"
                .into(),
            &[from],
        )?;
        self.execute("UPDATE requests SET subject_id = $2 WHERE subject_id = $1".into(), &[from, into])?;
        if !self.erase_subject(*from, "merged", at)? {
            return Err(crate::StoreError::NotFound(format!("subject {from}")));
        }
        self.update_one("UPDATE erasures SET merged_into = $2 WHERE subject_id = $1", &[from, into], || {
            format!("the tombstone of subject {from}")
        })
    }

    // Retention.

    fn set_retention(
        &mut self,
        id: Id,
        rule: &str,
        basis: Option<NaiveDate>,
        expires: Option<NaiveDate>,
    ) -> Result<()> {
        self.update_one(
            "UPDATE subjects SET retention_rule = $2, basis_date = $3, expires_on = $4 WHERE id = $1",
            &[&id, &rule, &basis, &expires],
            || format!("subject {id}"),
        )
    }

    fn set_legal_hold(&mut self, id: Id, hold: Option<(&[u8], DateTime<Utc>)>) -> Result<()> {
        let (reason, at) = hold.map_or((None, None), |(r, a)| (Some(r), Some(a)));
        self.update_one("UPDATE subjects SET legal_hold = $2, held_at = $3 WHERE id = $1", &[&id, &reason, &at], || {
            format!("subject {id}")
        })
    }

    fn insert_hold_event(&mut self, e: &HoldEventRow) -> Result<()> {
        self.execute(
            "INSERT INTO legal_hold_events (id, subject_id, action, reason, at, actor) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&e.id, &e.subject_id, &e.action, &e.reason, &e.at, &e.actor],
        )?;
        Ok(())
    }

    fn erase_subject(&mut self, id: Id, rule: &str, at: DateTime<Utc>) -> Result<bool> {
        // The row lock makes a concurrent erasure of the same subject (another
        // instance's sweep) wait, then find nothing and return false, rather
        // than fail on the tombstone's key.
        if self.opt::<(Id,)>("SELECT id FROM subjects WHERE id = $1 FOR UPDATE".into(), &[&id])?.is_none() {
            return Ok(false);
        }
        erase_locked(self, &[id], Some(rule), at)?;
        Ok(true)
    }

    fn erase_due(&mut self, ids: &[Id], at: DateTime<Utc>, due_at: NaiveDate) -> Result<Vec<DueRow>> {
        let mut erased = Vec::new();
        for chunk in ids.chunks(ERASE_CHUNK) {
            // Under the row lock, the conditions are read again from the latest committed
            // row: a legal hold or a contract committed during the sweep keeps the subject.
            let sql = EraseSql::for_chunk(chunk.len());
            let padded = pad(chunk);
            let due: Vec<DueRow> = self.rows(Stmt::Static(&sql.lock_due), &with_ids(&[&due_at], &padded))?;
            let locked: Vec<Id> = due.iter().map(|r| r.id).collect();
            erase_locked(self, &locked, None, at)?;
            erased.extend(due);
        }
        Ok(erased)
    }

    // Recipients and transfers.

    fn insert_safeguard(&mut self, g: &SafeguardRow) -> Result<()> {
        self.execute(
            "INSERT INTO safeguards (id, recipient, kind, signed_on, recorded_at, reference)
             VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&g.id, &g.recipient, &g.kind, &g.signed_on, &g.recorded_at, &g.reference],
        )?;
        Ok(())
    }

    fn activate_transfer(&mut self, recipient: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO transfer_activations (recipient, activated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING".into(),
            &[&recipient, &at],
        )?;
        Ok(n == 1)
    }

    // Outbox.

    fn queue_message(&mut self, m: &NewMessage) -> Result<bool> {
        let n = self.execute(
            Stmt::Static(concat!(
                "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                                 next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, ",
                outbox_pending!(),
                ", 0, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING"
            )),
            &[&m.idempotency_key, &m.subject_id, &m.recipient, &m.template, &m.params, &m.at],
        )?;
        Ok(n == 1)
    }

    fn queue_for_subjects(
        &mut self,
        kinds: &[SubjectKind],
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let f = ScopeFilter { kinds: kinds.to_vec(), ..ScopeFilter::default() };
        if kinds.is_empty() {
            return Ok(0);
        }
        self.queue_for_scope(&f, template, params, key_prefix, at)
    }

    fn claim_messages(
        &mut self,
        due: DateTime<Utc>,
        owner: Id,
        lease: TimeDelta,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        let now = self.database_now()?;
        let until = now + lease;
        // SKIP LOCKED: instances claiming at once take disjoint messages. A
        // message whose claim committed meanwhile is re-checked on its new
        // version, found leased, and left out.
        let mut claimed: Vec<MessageRow> = self.rows(
            Stmt::Static(concat!(
                "UPDATE outbox SET lease_until = $2, lease_owner = $4 WHERE id IN (
                     SELECT id FROM outbox WHERE status = ",
                outbox_pending!(),
                " AND next_attempt_at <= $1
                     AND (lease_until IS NULL OR lease_until < $5) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING ",
                message_columns!()
            )),
            &[&due, &until, &limit, &owner, &now],
        )?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    fn mark_sent(&mut self, id: i64, owner: Id, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            Stmt::Static(concat!(
                "UPDATE outbox SET status = ",
                outbox_sent!(),
                ", sent_at = $2, attempts = attempts + 1, lease_until = NULL, lease_owner = NULL
                 WHERE id = $1 AND lease_owner = $3 AND status = ",
                outbox_pending!()
            )),
            &[&id, &at, &owner],
        )?;
        Ok(n == 1)
    }

    fn mark_failed(&mut self, id: i64, owner: Id, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<bool> {
        let n = self.execute(
            Stmt::Static(concat!(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, lease_until = NULL, lease_owner = NULL,
             status = CASE WHEN $3::timestamptz IS NULL THEN ",
                outbox_failed!(),
                " ELSE ",
                outbox_pending!(),
                " END,
             next_attempt_at = COALESCE($3::timestamptz, next_attempt_at) WHERE id = $1 AND lease_owner = $4 AND status = ",
                outbox_pending!()
            )),
            &[&id, &error, &retry_at, &owner],
        )?;
        Ok(n == 1)
    }

    // Policy versions.

    fn insert_policy_version(&mut self, v: &PolicyVersionRow) -> Result<()> {
        self.execute(
            "INSERT INTO policy_versions (version, text, effective_date, status, uploaded_at, activated_at)
             VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&v.version, &v.text, &v.effective_date, &v.status, &v.uploaded_at, &v.activated_at],
        )?;
        Ok(())
    }

    fn set_policy_status(&mut self, version: &str, status: PolicyStatus, at: DateTime<Utc>) -> Result<()> {
        self.update_one(
            concat!(
                "UPDATE policy_versions SET status = $2::text,
             activated_at = CASE WHEN $2::text = ",
                policy_active!(),
                " THEN $3::timestamptz ELSE activated_at END WHERE version = $1"
            ),
            &[&version, &status, &at],
            || format!("policy version {version}"),
        )
    }

    fn record_assessment(&mut self, a: &AssessmentRow) -> Result<()> {
        self.execute(
            "INSERT INTO policy_assessments
             (version, purpose, kind, from_basis, to_basis, compatible, reasoning, assessed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (version, purpose, kind) DO UPDATE SET from_basis = excluded.from_basis,
             to_basis = excluded.to_basis, compatible = excluded.compatible, reasoning = excluded.reasoning,
             assessed_at = excluded.assessed_at"
                .into(),
            &[&a.version, &a.purpose, &a.kind, &a.from_basis, &a.to_basis, &a.compatible, &a.reasoning, &a.assessed_at],
        )?;
        Ok(())
    }

    // Rights requests.

    fn insert_request(&mut self, r: &RequestRow) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO requests (",
                request_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
            )),
            &[
                &r.id,
                &r.kind,
                &r.channel,
                &r.received_on,
                &r.due_on,
                &r.extended_due_on,
                &r.status,
                &r.subject_id,
                &r.requester_bi,
                &r.requester,
                &r.identity_document,
                &r.identity_decision,
                &r.identity_at,
                &r.extension_reason,
                &r.outcome,
                &r.response,
                &r.wrapped_key,
                &r.created_at,
                &r.updated_at,
                &r.completed_at,
                &r.suspended_since,
                &r.suspended_days,
                &r.extension_months,
                &r.lang,
            ],
        )?;
        Ok(())
    }

    fn lock_request(&mut self, id: Id) -> Result<Option<RequestRow>> {
        self.opt(
            Stmt::Static(concat!("SELECT ", request_columns!(), " FROM requests WHERE id = $1 FOR UPDATE")),
            &[&id],
        )
    }

    fn update_request(&mut self, r: &RequestRow) -> Result<()> {
        self.update_one(
            "UPDATE requests SET due_on = $2, extended_due_on = $3, status = $4, subject_id = $5, identity_document = $6,
                 identity_decision = $7, identity_at = $8, extension_reason = $9, outcome = $10, response = $11,
                 updated_at = $12, completed_at = $13, requester = $14, suspended_since = $15, suspended_days = $16,
                 extension_months = $17
             WHERE id = $1",
            &[
                &r.id,
                &r.due_on,
                &r.extended_due_on,
                &r.status,
                &r.subject_id,
                &r.identity_document,
                &r.identity_decision,
                &r.identity_at,
                &r.extension_reason,
                &r.outcome,
                &r.response,
                &r.updated_at,
                &r.completed_at,
                &r.requester,
                &r.suspended_since,
                &r.suspended_days,
                &r.extension_months,
            ],
            || format!("request {}", r.id),
        )
    }

    fn put_identity_document(
        &mut self,
        request: Id,
        sealed: &[u8],
        content_type: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO identity_documents (request_id, content, content_type, uploaded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (request_id) DO UPDATE SET content = excluded.content, content_type = excluded.content_type,
             uploaded_at = excluded.uploaded_at"
                .into(),
            &[&request, &sealed, &content_type, &at],
        )?;
        Ok(())
    }

    fn delete_identity_document(&mut self, request: Id) -> Result<bool> {
        Ok(self.execute("DELETE FROM identity_documents WHERE request_id = $1".into(), &[&request])? == 1)
    }

    fn put_identity_confirmation(&mut self, c: &ConfirmationRow) -> Result<()> {
        self.execute(
            "INSERT INTO identity_confirmations (request_id, subject_id, token_hash, token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (request_id) DO UPDATE SET subject_id = excluded.subject_id, token_hash = excluded.token_hash,
             token = excluded.token, created_at = excluded.created_at, expires_at = excluded.expires_at"
                .into(),
            &[&c.request_id, &c.subject_id, &c.token_hash, &c.token, &c.created_at, &c.expires_at],
        )?;
        Ok(())
    }

    fn delete_identity_confirmation(&mut self, request: Id) -> Result<bool> {
        Ok(self.execute("DELETE FROM identity_confirmations WHERE request_id = $1".into(), &[&request])? == 1)
    }

    fn suppress(&mut self, bi: &[u8], reason: &str, at: DateTime<Utc>, expires_on: NaiveDate) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO suppression (bi, added_at, reason, expires_on) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (bi) DO UPDATE SET added_at = excluded.added_at, reason = excluded.reason, \
             expires_on = excluded.expires_on WHERE suppression.expires_on < excluded.expires_on"
                .into(),
            &[&bi, &at, &reason, &expires_on],
        )?;
        Ok(n == 1)
    }

    fn lift_suppression(&mut self, bi: &[u8]) -> Result<bool> {
        Ok(self.execute("DELETE FROM suppression WHERE bi = $1".into(), &[&bi])? == 1)
    }

    fn delete_expired_suppressions(&mut self, today: NaiveDate) -> Result<u64> {
        self.execute("DELETE FROM suppression WHERE expires_on < $1".into(), &[&today])
    }

    fn update_identity(
        &mut self,
        id: Id,
        identity: &[u8],
        email_bi: Option<&[u8]>,
        phone_bi: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.update_one(
            "UPDATE subjects SET identity = $2, email_bi = $3, phone_bi = $4, updated_at = $5 WHERE id = $1",
            &[&id, &identity, &email_bi, &phone_bi, &at],
            || format!("subject {id}"),
        )
    }

    fn rekey_subject(&mut self, r: &Rekeyed, at: DateTime<Utc>) -> Result<()> {
        self.update_one(
            "UPDATE subjects SET identity = $2, email_bi = $3, phone_bi = $4, legal_hold = $5, updated_at = $6 WHERE id = $1",
            &[&r.id, &r.identity, &r.email_bi, &r.phone_bi, &r.legal_hold, &at],
            || format!("subject {}", r.id),
        )?;
        self.execute("UPDATE subject_keys SET wrapped = $2 WHERE subject_id = $1".into(), &[&r.id, &r.wrapped_key])?;
        for (id, v) in &r.contracts {
            self.execute("UPDATE contracts SET reference = $2 WHERE id = $1".into(), &[id, v])?;
        }
        for (id, v) in &r.interactions {
            self.execute("UPDATE interactions SET summary = $2 WHERE id = $1".into(), &[id, v])?;
        }
        for (id, v) in &r.consents {
            self.execute("UPDATE consents SET evidence = $2 WHERE id = $1".into(), &[id, v])?;
        }
        for (id, v) in &r.hold_events {
            self.execute("UPDATE legal_hold_events SET reason = $2 WHERE id = $1".into(), &[id, v])?;
        }
        if let Some(v) = &r.restriction_lift_reason {
            self.execute("UPDATE restrictions SET lift_reason = $2 WHERE subject_id = $1".into(), &[&r.id, v])?;
        }
        Ok(())
    }

    fn delete_interactions(&mut self, subject: Id) -> Result<u64> {
        self.execute("DELETE FROM interactions WHERE subject_id = $1".into(), &[&subject])
    }

    fn delete_closed_requests(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute("DELETE FROM requests WHERE completed_at IS NOT NULL AND completed_at < $1".into(), &[&before])
    }

    // Breaches.

    fn insert_breach(&mut self, b: &BreachRow) -> Result<()> {
        let (nature, data_categories) = (token_list(&b.nature), token_list(&b.data_categories));
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO breaches (",
                breach_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
            )),
            &[
                &b.id,
                &b.detected_at,
                &nature,
                &data_categories,
                &b.scope,
                &b.risk,
                &b.status,
                &b.keys_compromised,
                &b.subjects_concerned,
                &b.records_concerned,
                &b.clients_concerned,
                &b.prospects_concerned,
                &b.details,
                &b.wrapped_key,
                &b.created_at,
                &b.updated_at,
            ],
        )?;
        Ok(())
    }

    fn update_breach(&mut self, b: &BreachRow) -> Result<()> {
        let (nature, data_categories) = (token_list(&b.nature), token_list(&b.data_categories));
        self.update_one(
            "UPDATE breaches SET nature = $2, data_categories = $3, scope = $4, risk = $5, status = $6, keys_compromised = $7,
                 subjects_concerned = $8, records_concerned = $9, clients_concerned = $10, prospects_concerned = $11,
                 details = $12, updated_at = $13 WHERE id = $1",
            &[
                &b.id,
                &nature,
                &data_categories,
                &b.scope,
                &b.risk,
                &b.status,
                &b.keys_compromised,
                &b.subjects_concerned,
                &b.records_concerned,
                &b.clients_concerned,
                &b.prospects_concerned,
                &b.details,
                &b.updated_at,
            ],
            || format!("breach {}", b.id),
        )
    }

    fn insert_breach_phase(&mut self, p: &BreachPhaseRow) -> Result<()> {
        self.execute(
            "INSERT INTO breach_phases (id, breach_id, at, phase, details, actor) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&p.id, &p.breach_id, &p.at, &p.phase, &p.details, &p.actor],
        )?;
        Ok(())
    }

    fn queue_for_scope(
        &mut self,
        f: &ScopeFilter,
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        // One statement whatever the number of subjects; the key is the prefix and
        // the id as 32 lowercase hex digits.
        flush_audit(self)?;
        let mut args: Vec<&dyn ToArg> = vec![&key_prefix, &template, &params, &at];
        let scope = scope_where(f, &mut args);
        let hex = self.dialect().hex_id("s.id");
        once(
            self,
            &format!(
                concat!(
                    "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                                     next_attempt_at, created_at)
                 SELECT $1::text || {hex}, s.id, NULL, $2, $3, ",
                    outbox_pending!(),
                    ", 0, $4, $4
                 FROM subjects s WHERE ({scope}) AND s.email_bi IS NOT NULL ON CONFLICT (idempotency_key) DO NOTHING"
                ),
                hex = hex,
                scope = scope
            ),
            &args,
        )
    }

    // Background jobs.

    fn claim_job(&mut self, name: &str, today: NaiveDate, owner: Id, lease: TimeDelta) -> Result<bool> {
        self.execute("INSERT INTO jobs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING".into(), &[&name])?;
        let now = self.database_now()?;
        // In PostgreSQL's READ COMMITTED a competing claim waits on the row lock, then
        // re-evaluates the condition against the winner's committed lease.
        let n = self.execute(
            "UPDATE jobs SET lease_until = $4, lease_owner = $5 WHERE name = $1
             AND (lease_until IS NULL OR lease_until < $3) AND (last_run_on IS NULL OR last_run_on < $2)"
                .into(),
            &[&name, &today, &now, &(now + lease), &owner],
        )?;
        Ok(n == 1)
    }

    fn renew_job(&mut self, name: &str, owner: Id, lease: TimeDelta) -> Result<bool> {
        let until = self.database_now()? + lease;
        let n = self.execute(
            "UPDATE jobs SET lease_until = $3 WHERE name = $1 AND lease_owner = $2".into(),
            &[&name, &owner, &until],
        )?;
        Ok(n == 1)
    }

    fn release_job(&mut self, name: &str, owner: Id) -> Result<bool> {
        let n = self.execute(
            "UPDATE jobs SET lease_until = NULL, lease_owner = NULL WHERE name = $1 AND lease_owner = $2".into(),
            &[&name, &owner],
        )?;
        Ok(n == 1)
    }

    fn finish_job(&mut self, name: &str, owner: Id, today: NaiveDate) -> Result<bool> {
        let n = self.execute(
            "UPDATE jobs SET lease_until = NULL, lease_owner = NULL, last_run_on = $3 WHERE name = $1 AND lease_owner = $2"
                .into(),
            &[&name, &owner, &today],
        )?;
        Ok(n == 1)
    }

    // A subject's records.

    fn insert_contract(&mut self, c: &ContractRow) -> Result<()> {
        self.execute(
            "INSERT INTO contracts (id, subject_id, reference, start_date, end_date, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&c.id, &c.subject_id, &c.reference, &c.start, &c.end, &c.created_at],
        )?;
        Ok(())
    }

    fn insert_interaction(&mut self, i: &InteractionRow) -> Result<()> {
        self.execute(
            "INSERT INTO interactions (id, subject_id, at, direction, channel, summary, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
                .into(),
            &[&i.id, &i.subject_id, &i.at, &i.direction, &i.channel, &i.summary, &i.created_at],
        )?;
        Ok(())
    }

    fn insert_consent(&mut self, c: &ConsentRow) -> Result<()> {
        self.execute(
            "INSERT INTO consents (id, subject_id, purpose, granted, at, evidence) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&c.id, &c.subject_id, &c.purpose, &c.granted, &c.at, &c.evidence],
        )?;
        Ok(())
    }

    fn insert_objection(&mut self, o: &ObjectionRow) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO objections (id, subject_id, purpose, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
                .into(),
            &[&o.id, &o.subject_id, &o.purpose, &o.at],
        )?;
        Ok(n == 1)
    }

    // Tokens.

    fn revoke_token(&mut self, id: Id, at: DateTime<Utc>) -> Result<bool> {
        let n =
            self.execute("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL".into(), &[&id, &at])?;
        Ok(n == 1)
    }

    fn insert_token(&mut self, t: &TokenRow) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO tokens (",
                token_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            )),
            &[&t.id, &t.hash, &t.role, &t.recipient, &t.created_at, &t.revoked_at, &t.expires_at, &t.last_used_at],
        )?;
        Ok(())
    }

    fn touch_token(&mut self, id: Id, at: DateTime<Utc>) -> Result<()> {
        self.execute("UPDATE tokens SET last_used_at = $2 WHERE id = $1".into(), &[&id, &at])?;
        Ok(())
    }

    // Accounts and sessions.

    fn insert_account(&mut self, a: &AccountRow) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO accounts (",
                account_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            )),
            &[
                &a.id,
                &a.email_bi,
                &a.email,
                &a.wrapped_key,
                &a.role,
                &a.password_hash,
                &a.must_change,
                &a.created_at,
                &a.password_changed_at,
                &a.last_login_at,
                &a.disabled_at,
            ],
        )?;
        Ok(())
    }

    fn set_password(&mut self, id: Id, hash: &str, must_change: bool, at: DateTime<Utc>) -> Result<()> {
        self.update_one(
            "UPDATE accounts SET password_hash = $2, must_change = $3, password_changed_at = $4 WHERE id = $1",
            &[&id, &hash, &must_change, &at],
            || format!("account {id}"),
        )
    }

    fn disable_account(&mut self, id: Id, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "UPDATE accounts SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL".into(),
            &[&id, &at],
        )?;
        Ok(n == 1)
    }

    fn record_login(&mut self, id: Id, at: DateTime<Utc>) -> Result<()> {
        self.update_one("UPDATE accounts SET last_login_at = $2 WHERE id = $1", &[&id, &at], || format!("account {id}"))
    }

    fn insert_session(&mut self, s: &SessionRow) -> Result<()> {
        self.execute(
            "INSERT INTO sessions (hash, account_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)".into(),
            &[&s.hash, &s.account_id, &s.created_at, &s.last_seen_at],
        )?;
        Ok(())
    }

    fn touch_session(&mut self, hash: &[u8], at: DateTime<Utc>) -> Result<()> {
        self.execute("UPDATE sessions SET last_seen_at = $2 WHERE hash = $1".into(), &[&hash, &at])?;
        Ok(())
    }

    fn delete_session(&mut self, hash: &[u8]) -> Result<bool> {
        Ok(self.execute("DELETE FROM sessions WHERE hash = $1".into(), &[&hash])? == 1)
    }

    fn delete_sessions_of(&mut self, account: Id) -> Result<u64> {
        self.execute("DELETE FROM sessions WHERE account_id = $1".into(), &[&account])
    }

    fn delete_idle_sessions(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute("DELETE FROM sessions WHERE last_seen_at < $1".into(), &[&before])
    }

    // Audit trail.

    fn audit_head(&mut self) -> Result<(i64, Vec<u8>)> {
        // The entries queued so far take their places first: the caller seals after them.
        flush_audit(self)?;
        lock_head(self)
    }

    fn queue_audit(&mut self, e: AuditRow, seal: std::sync::Arc<dyn crate::AuditSeal>) -> Result<()> {
        self.audit_head_copy().pending.push(Queued { entry: e, seal });
        Ok(())
    }

    fn append_audit(&mut self, e: &AuditRow, head_mac: &[u8]) -> Result<()> {
        // Sealed by the caller after `audit_head`, which wrote the queue and locked the head.
        self.audit_head()?;
        self.bulk_insert_audit(std::slice::from_ref(e))?;
        self.audit_head_copy().current =
            Some(HeadCopy { seq: e.seq, hash: e.hash.clone(), unwritten_mac: Some(head_mac.to_vec()) });
        Ok(())
    }

    fn append_audits(&mut self, entries: &[AuditRow], head_mac: &[u8]) -> Result<()> {
        let Some(last) = entries.last() else { return Ok(()) };
        self.audit_head()?;
        self.bulk_insert_audit(entries)?;
        self.audit_head_copy().current =
            Some(HeadCopy { seq: last.seq, hash: last.hash.clone(), unwritten_mac: Some(head_mac.to_vec()) });
        Ok(())
    }

    fn head_begin(&mut self) {
        *self.audit_head_copy() = AuditHead::default();
    }

    fn head_savepoint(&mut self) {
        let h = self.audit_head_copy();
        h.saved = h.current.clone();
        h.saved_pending = h.pending.len();
        h.rescued.clear();
        h.saved_counts = h.counts.clone();
        h.rescued_counts.clear();
    }

    fn head_rollback(&mut self) {
        let h = self.audit_head_copy();
        h.current = h.saved.take();
        let kept = h.saved_pending;
        h.pending.truncate(kept);
        if !h.rescued.is_empty() {
            let mut again = std::mem::take(&mut h.rescued);
            again.append(&mut h.pending);
            h.pending = again;
        }
        h.saved_pending = h.pending.len();
        let mut counts = std::mem::take(&mut h.saved_counts);
        for (kind, n) in std::mem::take(&mut h.rescued_counts) {
            *counts.entry(kind).or_default() += n;
        }
        h.saved_counts = counts.clone();
        h.counts = counts;
    }

    fn head_flush(&mut self) -> Result<()> {
        flush_audit(self)?;
        let Some(HeadCopy { seq, hash, unwritten_mac: Some(mac) }) = self.audit_head_copy().current.clone() else {
            return Ok(());
        };
        self.execute("UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1".into(), &[&seq, &hash, &mac])?;
        if let Some(h) = &mut self.audit_head_copy().current {
            h.unwritten_mac = None;
        }
        Ok(())
    }

    fn set_audit_head_mac(&mut self, mac: &[u8]) -> Result<()> {
        self.head_flush()?;
        self.execute("UPDATE audit_head SET mac = $1 WHERE id = 1".into(), &[&mac])?;
        Ok(())
    }

    // Disclosures.

    fn insert_disclosure(&mut self, d: &DisclosureRow) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO disclosures (",
                disclosure_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )),
            &[&d.id, &d.at, &d.recipient, &d.subject_id, &d.fields, &d.purpose, &d.token_id],
        )?;
        Ok(())
    }

    // Key rotation.

    fn set_wrapped_key(&mut self, owner: KeyOwner, id: Id, wrapped: &[u8]) -> Result<()> {
        let sql = match owner {
            KeyOwner::Subject => "UPDATE subject_keys SET wrapped = $2 WHERE subject_id = $1",
            KeyOwner::Request => "UPDATE requests SET wrapped_key = $2 WHERE id = $1",
            KeyOwner::Breach => "UPDATE breaches SET wrapped_key = $2 WHERE id = $1",
            KeyOwner::Account => "UPDATE accounts SET wrapped_key = $2 WHERE id = $1",
        };
        self.execute(sql.into(), &[&id, &wrapped])?;
        Ok(())
    }

    // Settings kept in the database.

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                .into(),
            &[&key, &value],
        )?;
        Ok(())
    }

    // Restriction of processing (Art. 18).

    fn restrict(&mut self, r: &RestrictionRow) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO restrictions (subject_id, ground, request_id, restricted_at, lifted_at, lift_reason)
             VALUES ($1, $2, $3, $4, NULL, NULL)
             ON CONFLICT (subject_id) DO UPDATE SET ground = excluded.ground, request_id = excluded.request_id,
                 restricted_at = excluded.restricted_at, lifted_at = NULL, lift_reason = NULL
             WHERE restrictions.lifted_at IS NOT NULL"
                .into(),
            &[&r.subject_id, &r.ground, &r.request_id, &r.restricted_at],
        )?;
        Ok(n == 1)
    }

    fn lift_restriction(&mut self, subject: Id, reason: &[u8], at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "UPDATE restrictions SET lifted_at = $2, lift_reason = $3 WHERE subject_id = $1 AND lifted_at IS NULL"
                .into(),
            &[&subject, &at, &reason],
        )?;
        Ok(n == 1)
    }

    // Names.

    fn set_subject_name(&mut self, id: Id, name_bi: Option<&[u8]>) -> Result<()> {
        self.execute("DELETE FROM subject_names WHERE subject_id = $1".into(), &[&id])?;
        if let Some(bi) = name_bi {
            self.execute("INSERT INTO subject_names (subject_id, name_bi) VALUES ($1, $2)".into(), &[&id, &bi])?;
        }
        Ok(())
    }

    fn set_contract_reference(&mut self, contract: Id, reference_bi: &[u8]) -> Result<()> {
        self.update_one("UPDATE contracts SET reference_bi = $2 WHERE id = $1", &[&contract, &reference_bi], || {
            format!("contract {contract}")
        })
    }

    fn insert_subject_names(&mut self, rows: &[(Id, Vec<u8>)]) -> Result<()> {
        // Several rows a statement (500 rows: 1,000 parameters, within both engines' limits).
        for chunk in rows.chunks(500) {
            let mut args: Vec<&dyn ToArg> = Vec::with_capacity(chunk.len() * 2);
            let mut values = Vec::with_capacity(chunk.len());
            for (id, bi) in chunk {
                args.push(id);
                args.push(bi);
                values.push(format!("(${}, ${})", args.len() - 1, args.len()));
            }
            once(
                self,
                &format!("INSERT INTO subject_names (subject_id, name_bi) VALUES {}", values.join(", ")),
                &args,
            )?;
        }
        Ok(())
    }
}

/// Erases subjects whose rows this transaction has locked (see [`Tx::erase_subject`]): the
/// tombstones and counts first (read from the rows, under `rule` or, when None, each subject's
/// retention rule), then every row about them, their requests' sealed values, and the rows.
fn erase_locked<D: Driver>(d: &mut D, ids: &[Id], rule: Option<&str>, at: DateTime<Utc>) -> Result<()> {
    let month = at.format("%Y-%m").to_string();
    let nothing: &[u8] = &[];
    for chunk in ids.chunks(ERASE_CHUNK) {
        let sql = EraseSql::for_chunk(chunk.len());
        let padded = pad(chunk);
        d.execute(Stmt::Static(&sql.tombstones), &with_ids(&[&at, &rule], &padded))?;
        d.execute(Stmt::Static(&sql.counts), &with_ids(&[&month, &rule], &padded))?;
        let only_ids = with_ids(&[], &padded);
        for delete in &sql.deletes {
            d.execute(Stmt::Static(delete), &only_ids)?;
        }
        d.execute(Stmt::Static(&sql.requests), &with_ids(&[&nothing], &padded))?;
        d.execute(Stmt::Static(&sql.subjects), &only_ids)?;
    }
    Ok(())
}

/// `first`, then `ids`: a statement's parameters.
fn with_ids<'a>(first: &[&'a dyn ToArg], ids: &'a [Id]) -> Vec<&'a dyn ToArg> {
    let mut args = first.to_vec();
    args.extend(ids.iter().map(|id| id as &dyn ToArg));
    args
}
