//! Carrying out a request whose identity was verified: access, portability, rectification,
//! objection, erasure, each inside the request's transaction, each audited.

use super::*;

/// What a request's work needs, inside its transaction.
pub(super) struct Ctx<'a> {
    pub(super) tx: &'a mut dyn Tx,
    /// Where the work's audit entries go (the request's transaction, its actor and time).
    pub(super) trail: &'a Trail<'a>,
    pub(super) keys: &'a MasterKey,
    pub(super) policy: &'a Policy,
    pub(super) transfers: &'a vigie_domain::transfers::TransferList,
    pub(super) at: DateTime<Utc>,
    pub(super) request: Id,
}

impl Ctx<'_> {
    pub(super) fn carry_out(
        self,
        kind: RequestKind,
        subject: Id,
        p: &Particulars,
    ) -> Result<(serde_json::Value, RequestOutcome)> {
        match kind {
            RequestKind::Access => Ok((self.access(subject)?, RequestOutcome::Answered)),
            RequestKind::Portability => Ok((self.portability(subject)?, RequestOutcome::Answered)),
            RequestKind::Rectification => self.rectify(subject, p),
            RequestKind::Objection => self.object(subject, p),
            RequestKind::Erasure => self.erase(subject, p),
            RequestKind::Restriction => self.restrict(subject, p),
        }
    }

    fn subject(&mut self, id: Id) -> Result<(vigie_store::SubjectRow, SubjectKey, BTreeMap<FieldName, IdentityField>)> {
        let row = crate::record::load(self.tx, id)?;
        let (key, identity) = open_identity_pub(self.keys, &row)?;
        Ok((row, key, identity))
    }

    /// The access package (Art. 15): the data and everything about its processing.
    fn access(mut self, id: Id) -> Result<serde_json::Value> {
        let (row, key, identity) = self.subject(id)?;
        let contracts = self.tx.contracts(id)?;
        let interactions = self.tx.interactions(id)?;
        let consents = self.tx.consents(id)?;
        let objections = self.tx.objections(id)?;
        let disclosures = self.tx.disclosures_for_subject(id)?;
        let safeguards = self.tx.safeguards()?;
        let text = |sealed: &[u8], what: Part, rid: Id| -> Result<String> {
            String::from_utf8(key.open(&aad_for(id, what, Some(rid)), sealed)?)
                .map_err(|_| AppError::Internal(format!("{what} {rid}")))
        };
        let data: BTreeMap<String, serde_json::Value> = identity
            .iter()
            .map(|(f, v)| {
                (f.as_str().to_string(), serde_json::json!({"value": v.v, "source": v.p, "category": f.category()}))
            })
            .collect();
        let purposes: Vec<serde_json::Value> = self
            .policy
            .purposes
            .iter()
            .filter_map(|p| {
                p.bases.get(&row.kind).map(|b| {
                    serde_json::json!({"id": p.id, "name": p.name.fr, "legal_basis": b, "data_categories": p.data_categories,
                        "aggregates_only": p.aggregates_only})
                })
            })
            .collect();
        let received: BTreeSet<&str> = disclosures.iter().map(|d| d.recipient.as_str()).collect();
        let today = self.at.date_naive();
        let transfers: Vec<serde_json::Value> = received
            .iter()
            .filter_map(|r| self.policy.recipient(r))
            .filter(|r| r.kind == RecipientKind::External)
            .filter_map(|r| {
                let sg: Vec<_> = safeguards
                    .iter()
                    .filter(|s| s.recipient == r.id)
                    .map(|s| vigie_domain::transfers::Safeguard { kind: s.kind, signed_on: s.signed_on })
                    .collect();
                let ground = vigie_domain::transfers::assess(self.transfers, r.country.as_deref(), &sg, today).ok()?;
                ground
                    .outside_eea()
                    .then(|| serde_json::json!({"recipient": r.id, "country": r.country, "safeguard": ground}))
            })
            .collect();
        let out = serde_json::json!({
            "request": self.request,
            "kind": "access",
            "subject_found": true,
            "subject": {"id": id, "kind": row.kind, "collected_at": row.collected_at},
            "data": data,
            "contracts": contracts.iter().map(|c| Ok(serde_json::json!({"reference": text(&c.reference, Part::Contract, c.id)?, "start": c.start, "end": c.end}))).collect::<Result<Vec<_>>>()?,
            "interactions": interactions.iter().map(|i| Ok(serde_json::json!({"at": i.at, "direction": i.direction, "channel": i.channel,
                "summary": i.summary.as_deref().map(|s| text(s, Part::Interaction, i.id)).transpose()?}))).collect::<Result<Vec<_>>>()?,
            "consents": consents.iter().map(|c| Ok(serde_json::json!({"purpose": c.purpose, "granted": c.granted, "at": c.at,
                "evidence": text(&c.evidence, Part::Consent, c.id)?}))).collect::<Result<Vec<_>>>()?,
            "objections": objections.iter().map(|o| serde_json::json!({"purpose": o.purpose, "at": o.at})).collect::<Vec<_>>(),
            "purposes": purposes,
            "recipients": disclosures.iter().map(|d| serde_json::json!({"recipient": d.recipient, "fields": d.fields.split(',').collect::<Vec<_>>(), "purpose": d.purpose, "at": d.at})).collect::<Vec<_>>(),
            "retention": {"rule": row.retention_rule, "basis_date": row.basis_date, "expires_on": row.expires_on,
                "legal_hold": row.legal_hold.is_some()},
            "transfers_outside_eea": transfers,
            "rights": ["access", "rectification", "erasure", "restriction", "portability", "objection", "withdraw_consent", "complaint"],
            "dpo": dpo(self.policy),
            "complaint": complaint(self.policy),
            "policy_version": self.policy.version,
        });
        self.trail.record(
            self.tx,
            Entry::new("subject.read")
                .subject(id)
                .purpose("rights_request")
                .fields(identity.keys().map(|f| f.as_str()))
                .detail(format!("request:{} access", self.request)),
        )?;
        Ok(out)
    }

    /// Portability (Art. 20): fields the subject provided, for purposes under contract or consent; JSON and CSV.
    fn portability(mut self, id: Id) -> Result<serde_json::Value> {
        let (row, _, identity) = self.subject(id)?;
        let consents = self.tx.consents(id)?;
        let mut latest = BTreeMap::new();
        for c in &consents {
            latest.insert(c.purpose.clone(), c.granted);
        }
        let eligible: BTreeSet<_> = self
            .policy
            .purposes
            .iter()
            .filter(|p| match p.bases.get(&row.kind) {
                Some(LegalBasis::Contract) => row.kind == SubjectKind::Client,
                Some(LegalBasis::Consent) => latest.get(&p.id) == Some(&true),
                _ => false,
            })
            .flat_map(|p| p.data_categories.iter().copied())
            .collect();
        let fields: BTreeMap<&str, &str> = identity
            .iter()
            .filter(|(f, v)| v.p == Provenance::Provided && eligible.contains(&f.category()))
            .map(|(f, v)| (f.as_str(), v.v.as_str()))
            .collect();
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(fields.keys()).map_err(|e| AppError::failed("writing CSV", e))?;
        csv.write_record(fields.values()).map_err(|e| AppError::failed("writing CSV", e))?;
        let csv = String::from_utf8(csv.into_inner().map_err(|e| AppError::failed("writing CSV", e.into_error()))?)
            .unwrap_or_default();
        self.trail.record(
            self.tx,
            Entry::new("subject.read")
                .subject(id)
                .purpose("rights_request")
                .fields(fields.keys().copied())
                .detail(format!("request:{} portability", self.request)),
        )?;
        Ok(
            serde_json::json!({"request": self.request, "kind": "portability", "subject_found": true, "format": "json+csv",
            "data": fields, "csv": csv}),
        )
    }

    /// Rectification (Art. 16 and 19): applies the changes, records who and when (not the old values),
    /// and queues a notice to every recipient that received the data.
    fn rectify(mut self, id: Id, p: &Particulars) -> Result<(serde_json::Value, RequestOutcome)> {
        let (_, key, mut identity) = self.subject(id)?;
        for (name, value) in &p.changes {
            let field: FieldName =
                name.parse().map_err(|_| AppError::invalid("particulars.changes", "unknown field"))?;
            match value {
                Some(v) => {
                    identity.insert(field, IdentityField { v: v.clone(), p: Provenance::Provided });
                }
                None => {
                    identity.remove(&field);
                }
            }
        }
        self.rewrite(id, &key, &identity)?;
        let changed: Vec<&str> = p.changes.keys().map(String::as_str).collect();
        self.trail.record(
            self.tx,
            Entry::new("subject.rectify")
                .subject(id)
                .fields(changed.iter().copied())
                .detail(format!("request:{}", self.request)),
        )?;
        let notified = self.notify_recipients(id, "rectification_notice", Some(&changed))?;
        Ok((
            serde_json::json!({"request": self.request, "kind": "rectification", "subject_found": true,
            "changed_fields": changed, "recipients_notified": notified.queued, "recipients": notified.json(),
            "recipients_notice": notified.sentence(self.policy, "cette rectification")}),
            RequestOutcome::Rectified,
        ))
    }

    /// Objection (Art. 21): recorded per purpose, effective at once.
    /// An objection to prospecting also puts the person's email and phone on the suppression list.
    fn object(self, id: Id, p: &Particulars) -> Result<(serde_json::Value, RequestOutcome)> {
        let row = crate::record::load(self.tx, id)?;
        if p.purposes.iter().any(|x| x == super::suppression::PROSPECTING) {
            let years = self.policy.retention.suppression_years;
            let reason = "objection_to_prospecting";
            if let Some(e) =
                super::suppression::suppress_subject(self.tx, &row, years, self.at.date_naive(), reason, self.at)?
            {
                self.trail.record(self.tx, e.detail(format!("reason={reason} request:{}", self.request)))?;
            }
        }
        for purpose in &p.purposes {
            self.tx.insert_objection(&vigie_store::ObjectionRow {
                id: new_id(),
                subject_id: id,
                purpose: purpose.clone(),
                at: self.at,
            })?;
            self.trail.record(
                self.tx,
                Entry::new("objection.create").subject(id).purpose(purpose).detail(format!("request:{}", self.request)),
            )?;
        }
        Ok((
            serde_json::json!({"request": self.request, "kind": "objection", "subject_found": true, "purposes": p.purposes}),
            RequestOutcome::ObjectionRecorded,
        ))
    }

    /// Erasure (Art. 17): on an objection to prospecting or a ground the DPO records. A prospect is
    /// erased entirely; a client's data under legal retention is kept, archived, and the rest erased.
    fn erase(mut self, id: Id, p: &Particulars) -> Result<(serde_json::Value, RequestOutcome)> {
        let (row, key, identity) = self.subject(id)?;
        let objected = self.tx.objections(id)?.iter().any(|o| o.purpose == "prospect_relations");
        let ground = match (&p.ground, objected) {
            (Some(g), _) => one_of::<ErasureGround>("particulars.ground", g)?,
            (None, true) => ErasureGround::ObjectionToProspecting,
            (None, false) => {
                return Ok((
                    serde_json::json!({"request": self.request, "kind": "erasure", "subject_found": true, "erased": false,
                    "reason": "Aucun motif d'effacement (article 17) n'est établi : ni opposition à la prospection, ni autre motif retenu par le DPO. / No ground for erasure (Art. 17) is established."}),
                    RequestOutcome::NoGround,
                ));
            }
        };
        let notified = self.notify_recipients(id, "erasure_notice", None)?;
        let recipients_notice = notified.sentence(self.policy, "cet effacement");
        if ground == ErasureGround::ObjectionToProspecting || objected {
            let on = super::suppression::objected_on(self.tx, id)?.unwrap_or(self.at.date_naive());
            let years = self.policy.retention.suppression_years;
            let reason = "objection_to_prospecting";
            if let Some(e) = super::suppression::suppress_subject(self.tx, &row, years, on, reason, self.at)? {
                self.trail.record(self.tx, e.detail(format!("reason={reason} request:{}", self.request)))?;
            }
        }
        if row.kind == SubjectKind::Prospect {
            self.tx.erase_subject(id, "erasure_request", self.at)?;
            self.trail.record(
                self.tx,
                Entry::new("subject.erase")
                    .subject(id)
                    .detail(format!("rule=erasure_request ground={ground} request:{}", self.request)),
            )?;
            return Ok((
                serde_json::json!({"request": self.request, "kind": "erasure", "subject_found": true, "erased": true,
                "ground": ground, "kept": [], "recipients_notified": notified.queued, "recipients": notified.json(),
                "recipients_notice": recipients_notice}),
                RequestOutcome::Erased,
            ));
        }
        // A client: what the contract purposes surviving the contract need is kept (accounting, legal claims).
        let kept_categories: BTreeSet<_> = self
            .policy
            .purposes
            .iter()
            .filter(|p| p.survives_contract)
            .flat_map(|p| p.data_categories.iter().copied())
            .collect();
        let (kept, removed): (BTreeMap<_, _>, BTreeMap<_, _>) =
            identity.into_iter().partition(|(f, _)| kept_categories.contains(&f.category()));
        self.rewrite(id, &key, &kept)?;
        let interactions = self.tx.delete_interactions(id)?;
        let kept_fields: Vec<&str> = kept.keys().map(|f| f.as_str()).collect();
        let removed_fields: Vec<&str> = removed.keys().map(|f| f.as_str()).collect();
        self.trail.record(
            self.tx,
            Entry::new("subject.erase_partial").subject(id).fields(removed_fields.iter().copied()).detail(format!(
                "ground={ground} kept={} interactions={interactions} request:{}",
                kept_fields.join("+"),
                self.request
            )),
        )?;
        let until = row.expires_on.map(|d| d.to_string()).unwrap_or_else(|| {
            "la fin du contrat plus la durée légale / the end of the contract plus the legal period".into()
        });
        Ok((
            serde_json::json!({"request": self.request, "kind": "erasure", "subject_found": true, "erased": true, "partial": true,
            "ground": ground, "erased_fields": removed_fields, "erased_interactions": interactions,
            "kept": kept_fields, "kept_contracts": true,
            "why_kept": format!("Obligations légales et défense de droits (comptabilité, prescriptions) : données archivées, accessibles au seul DPO et à l'expert-comptable, conservées jusqu'au {until}. / Legal obligations and legal claims: archived, kept until {until}."),
            "recipients_notified": notified.queued, "recipients": notified.json(), "recipients_notice": recipients_notice}),
            RequestOutcome::ErasedPartially,
        ))
    }

    /// Rewrites the subject's identity under a fresh key, re-sealing every other value of the
    /// subject with it; the old key is destroyed when the transaction commits, so no earlier
    /// page or journal copy of the removed or corrected values can be opened again.
    fn rewrite(&mut self, id: Id, old: &SubjectKey, identity: &BTreeMap<FieldName, IdentityField>) -> Result<()> {
        let row = crate::record::load(self.tx, id)?;
        let new = SubjectKey::generate()?;
        let reseal = |what: Part, part: Option<Id>, sealed: &[u8]| -> Result<Vec<u8>> {
            let aad = aad_for(id, what, part);
            Ok(new.seal(&aad, &old.open(&aad, sealed)?)?)
        };
        let plain = serde_json::to_vec(identity).map_err(|e| AppError::failed("encoding JSON", e))?;
        let bi = |f: FieldName| identity.get(&f).map(|x| self.keys.blind_index(f.as_str(), &x.v).to_vec());
        let mut r = vigie_store::Rekeyed {
            id,
            wrapped_key: self.keys.wrap(&new, id.as_bytes())?,
            identity: new.seal(&aad_for(id, Part::Identity, None), &plain)?,
            email_bi: bi(FieldName::Email),
            phone_bi: bi(FieldName::Phone),
            legal_hold: row.legal_hold.as_deref().map(|h| reseal(Part::LegalHold, None, h)).transpose()?,
            ..Default::default()
        };
        for c in self.tx.contracts(id)? {
            r.contracts.push((c.id, reseal(Part::Contract, Some(c.id), &c.reference)?));
        }
        for i in self.tx.interactions(id)? {
            r.interactions
                .push((i.id, i.summary.as_deref().map(|v| reseal(Part::Interaction, Some(i.id), v)).transpose()?));
        }
        for c in self.tx.consents(id)? {
            r.consents.push((c.id, reseal(Part::Consent, Some(c.id), &c.evidence)?));
        }
        for e in self.tx.hold_events(id)? {
            r.hold_events.push((e.id, reseal(Part::LegalHold, None, &e.reason)?));
        }
        if let Some(reason) = self.tx.restriction(id)?.and_then(|x| x.lift_reason) {
            r.restriction_lift_reason = Some(reseal(Part::Restriction, None, &reason)?);
        }
        self.tx.rekey_subject(&r, self.at)?;
        Ok(())
    }

    /// Restriction (Art. 18): from now on the subject's data is only stored, and read only for
    /// legal claims (`access::Rule::Restricted`); the recipients that received it are told (Art. 19).
    fn restrict(mut self, id: Id, p: &Particulars) -> Result<(serde_json::Value, RequestOutcome)> {
        crate::record::load(self.tx, id)?;
        let ground: RestrictionGround =
            one_of("particulars.restriction_ground", p.restriction_ground.as_deref().unwrap_or_default())?;
        let set = self.tx.restrict(&vigie_store::RestrictionRow {
            subject_id: id,
            ground,
            request_id: Some(self.request),
            restricted_at: self.at,
            lifted_at: None,
            lift_reason: None,
        })?;
        self.trail.record(
            self.tx,
            Entry::new("subject.restrict")
                .subject(id)
                .detail(format!("ground={ground} already={} request:{}", !set, self.request)),
        )?;
        let notified = self.notify_recipients(id, "restriction_notice", None)?;
        let message = format!(
            "Le traitement de vos données est limité depuis le {} (article 18 du RGPD) : elles sont conservées, \
             et ne sont plus utilisées que pour la constatation, l'exercice ou la défense de droits en justice. \
             Vous serez informé(e) avant que cette limitation ne soit levée.",
            self.at.date_naive().format("%d/%m/%Y")
        );
        Ok((
            serde_json::json!({"request": self.request, "kind": "restriction", "subject_found": true,
            "restricted": true, "restriction_ground": ground, "message": message,
            "recipients": notified.json(), "recipients_notice": notified.sentence(self.policy, "cette limitation")}),
            RequestOutcome::Restricted,
        ))
    }

    /// Queues a notice to every external recipient that received the subject's data (Art. 19), at
    /// the contact address the policy gives it; a recipient without one is reported unreachable.
    /// A rectification notice names the changed fields that the recipient received; their new values
    /// are read from the sealed record when it is sent, never stored in the outbox.
    fn notify_recipients(&mut self, id: Id, template: &str, changed: Option<&[&str]>) -> Result<Notified> {
        let mut received: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for d in self.tx.disclosures_for_subject(id)? {
            received.entry(d.recipient).or_default().extend(d.fields.split(',').map(str::to_string));
        }
        let mut out = Notified::default();
        for (r, fields) in &received {
            let fields: Vec<&str> = match changed {
                Some(changed) => changed.iter().copied().filter(|f| fields.contains(*f)).collect(),
                None => Vec::new(),
            };
            if changed.is_some() && fields.is_empty() {
                continue; // it never received what changed
            }
            if self.policy.recipient(r).and_then(|x| x.contact.as_deref()).is_none() {
                out.unreachable.push(r.clone());
                continue;
            }
            self.tx.queue_message(&vigie_store::NewMessage {
                idempotency_key: format!("request:{}:{template}:{r}", self.request),
                // A rectification notice is rendered from the subject's record: it goes with the subject.
                subject_id: changed.is_some().then_some(id),
                recipient: Some(r.clone()),
                template: template.into(),
                params: serde_json::json!({"recipient": r, "subject": id.to_string(),
                    "request": self.request.to_string(), "fields": fields})
                .to_string(),
                at: self.at,
            })?;
            out.queued.push(r.clone());
        }
        Ok(out)
    }
}

/// The recipients an Art. 19 notice was queued for, and those it cannot reach (no address).
#[derive(Debug, Default)]
pub(super) struct Notified {
    pub(super) queued: Vec<String>,
    pub(super) unreachable: Vec<String>,
}

impl Notified {
    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::json!({"queued": self.queued, "unreachable": self.unreachable})
    }

    /// What the person is told, in French, naming the recipients (never by an internal id).
    pub(super) fn sentence(&self, policy: &Policy, what: &str) -> String {
        let names = |ids: &[String]| -> String {
            ids.iter()
                .map(|id| {
                    policy.recipient(id).map_or_else(|| "un ancien destinataire".to_string(), |r| r.name.fr.clone())
                })
                .collect::<Vec<_>>()
                .join(" ; ")
        };
        let mut out = match self.queued.is_empty() {
            true if self.unreachable.is_empty() => {
                return format!(
                    "Vos données n'ont été communiquées à aucun destinataire : personne n'est à informer de {what}."
                );
            }
            true => String::new(),
            false => format!(
                "Nous informons de {what} les destinataires qui ont reçu vos données : {}.",
                names(&self.queued)
            ),
        };
        if !self.unreachable.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!(
                "Nous n'avons pas pu informer les destinataires suivants, faute d'adresse de contact : {}. \
                 Notre délégué à la protection des données s'en charge.",
                names(&self.unreachable)
            ));
        }
        out
    }
}
