//! Carrying out a request whose identity was verified: access, portability, rectification,
//! objection, erasure, restriction, consent withdrawal, each inside the request's transaction,
//! each audited; each returns the body of its answer (`vigie_ui::answers`).

use super::answer::{self, purpose_ref};
use super::*;
use vigie_domain::Lang;
use vigie_domain::policy::DataCategory;
use vigie_ui::answers::{self as model, Body};

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
    /// The requester's language: the answer's, and the words recorded for them (evidence).
    pub(super) lang: Lang,
}

impl Ctx<'_> {
    pub(super) fn carry_out(self, kind: RequestKind, subject: Id, p: &Particulars) -> Result<(Body, RequestOutcome)> {
        match kind {
            RequestKind::Access => Ok((Body::Access(Box::new(self.access(subject)?)), RequestOutcome::Answered)),
            RequestKind::Portability => Ok((Body::Portability(self.portability(subject)?), RequestOutcome::Answered)),
            RequestKind::Rectification => self.rectify(subject, p),
            RequestKind::Objection => self.object(subject, p),
            RequestKind::Erasure => self.erase(subject, p),
            RequestKind::Restriction => self.restrict(subject, p),
            RequestKind::ConsentWithdrawal => self.withdraw(subject, p),
        }
    }

    fn subject(&mut self, id: Id) -> Result<(vigie_store::SubjectRow, SubjectKey, BTreeMap<FieldName, IdentityField>)> {
        let row = crate::record::load(self.tx, id)?;
        let (key, identity) = open_identity_pub(self.keys, &row)?;
        Ok((row, key, identity))
    }

    fn purpose(&self, id: &str) -> model::PurposeRef {
        purpose_ref(self.policy, self.lang, id)
    }

    /// The access answer (Art. 15): the data, and everything about its processing for this person.
    fn access(mut self, id: Id) -> Result<model::Access> {
        let today = self.at.date_naive();
        let loaded =
            crate::record::Loaded::load(self.tx, id)?.ok_or_else(|| AppError::NotFound(format!("subject {id}")))?;
        let facts = loaded.facts(today);
        let (row, key, identity) = self.subject(id)?;
        let disclosures = self.tx.disclosures_for_subject(id)?;
        let safeguards = self.tx.safeguards()?;
        let restriction = self.tx.restriction(id)?.filter(|r| r.lifted_at.is_none());
        let consultations = answer::consultations(self.tx, self.policy, self.lang, id)?;
        let text = |sealed: &[u8], what: Part, rid: Id| -> Result<String> {
            String::from_utf8(key.open(&aad_for(id, what, Some(rid)), sealed)?)
                .map_err(|_| AppError::Internal(format!("{what} {rid}")))
        };
        let data: BTreeMap<FieldName, model::Datum> = identity
            .iter()
            .map(|(f, v)| (*f, model::Datum { value: v.v.clone(), source: v.p, category: f.category() }))
            .collect();
        let read: BTreeSet<&str> = consultations.iter().map(|c| c.purpose.as_str()).collect();
        let purposes: Vec<model::PurposeUse> = self
            .policy
            .purposes
            .iter()
            .filter_map(|p| {
                let basis = *p.bases.get(&row.kind)?;
                let in_use = answer::basis_holds(p, row.kind, &facts).is_some();
                let was_read = read.contains(p.id.as_str());
                (in_use || was_read).then(|| model::PurposeUse {
                    id: p.id.clone(),
                    name: p.name.get(self.lang).to_string(),
                    legal_basis: basis,
                    interest: (basis == LegalBasis::LegitimateInterest)
                        .then(|| p.interest.as_ref().map(|i| i.get(self.lang).to_string()))
                        .flatten(),
                    data_categories: p.data_categories.clone(),
                    in_use,
                    read: was_read,
                    aggregates_only: p.aggregates_only,
                })
            })
            .collect();
        let mut categories: BTreeSet<DataCategory> = identity.keys().map(|f| f.category()).collect();
        if !loaded.contracts.is_empty() {
            categories.insert(DataCategory::Contract);
        }
        if !loaded.interactions.is_empty() {
            categories.insert(DataCategory::Interactions);
        }
        let recipients = answer::recipients(self.policy, self.transfers, self.lang, &disclosures, &safeguards, today);
        let transfers_outside_eea = recipients
            .iter()
            .filter_map(|r| match (&r.safeguard, &r.country) {
                (Some(s @ (model::Safeguard::Adequacy { .. } | model::Safeguard::Safeguard { .. })), Some(c)) => {
                    Some(model::Transfer {
                        recipient: r.recipient.clone(),
                        name: r.name.clone(),
                        country: c.clone(),
                        safeguard: s.clone(),
                    })
                }
                _ => None,
            })
            .collect();
        let third_party = identity.values().any(|v| v.p == Provenance::ThirdParty);
        let out = model::Access {
            subject: model::SubjectRef { id, kind: row.kind, collected_on: row.collected_at.date_naive() },
            data,
            prospect_source: third_party
                .then(|| self.policy.information.prospect_source.as_ref().map(|s| s.get(self.lang).to_string()))
                .flatten(),
            contracts: loaded
                .contracts
                .iter()
                .map(|c| {
                    Ok(model::Contract {
                        reference: text(&c.reference, Part::Contract, c.id)?,
                        start: c.start,
                        end: c.end,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            interactions: loaded
                .interactions
                .iter()
                .map(|i| {
                    Ok(model::Interaction {
                        at: i.at,
                        direction: i.direction,
                        channel: i.channel.clone(),
                        summary: i.summary.as_deref().map(|s| text(s, Part::Interaction, i.id)).transpose()?,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            consents: loaded
                .consents
                .iter()
                .map(|c| {
                    Ok(model::Consent {
                        purpose: c.purpose.clone(),
                        purpose_name: answer::purpose_name(self.policy, self.lang, &c.purpose),
                        granted: c.granted,
                        at: c.at,
                        evidence: text(&c.evidence, Part::Consent, c.id)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            objections: loaded
                .objections
                .iter()
                .map(|o| model::ObjectionRecord {
                    purpose: o.purpose.clone(),
                    purpose_name: answer::purpose_name(self.policy, self.lang, &o.purpose),
                    at: o.at,
                })
                .collect(),
            purposes,
            categories: categories.into_iter().collect(),
            recipients,
            retention: model::Retention {
                rule: row.retention_rule.clone(),
                years: self.policy.retention_rule(row.kind).years,
                basis_date: row.basis_date,
                expires_on: row.expires_on,
                legal_hold: row.legal_hold.is_some(),
                held_by_restriction: restriction.as_ref().is_some_and(|r| r.ground.holds_erasure()),
            },
            transfers_outside_eea,
            automated_decisions: self
                .policy
                .information
                .automated_decisions
                .as_ref()
                .map(|s| s.get(self.lang).to_string()),
            consultations,
            restriction: restriction.map(|r| r.ground),
            rights: model::Right::ALL.to_vec(),
            policy_version: self.policy.version.clone(),
        };
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
    fn portability(mut self, id: Id) -> Result<model::Portability> {
        let (row, _, identity) = self.subject(id)?;
        let consents = self.tx.consents(id)?;
        let mut latest = BTreeMap::new();
        for c in &consents {
            latest.insert(c.purpose.clone(), c.granted);
        }
        let eligible: Vec<&vigie_domain::Purpose> = self
            .policy
            .purposes
            .iter()
            .filter(|p| match p.bases.get(&row.kind) {
                Some(LegalBasis::Contract) => row.kind == SubjectKind::Client,
                Some(LegalBasis::Consent) => latest.get(&p.id) == Some(&true),
                _ => false,
            })
            .collect();
        let categories: BTreeSet<_> = eligible.iter().flat_map(|p| p.data_categories.iter().copied()).collect();
        let fields: BTreeMap<FieldName, String> = identity
            .iter()
            .filter(|(f, v)| v.p == Provenance::Provided && categories.contains(&f.category()))
            .map(|(f, v)| (*f, v.v.clone()))
            .collect();
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(fields.keys().map(|f| f.as_str())).map_err(|e| AppError::failed("writing CSV", e))?;
        csv.write_record(fields.values()).map_err(|e| AppError::failed("writing CSV", e))?;
        let csv = String::from_utf8(csv.into_inner().map_err(|e| AppError::failed("writing CSV", e.into_error()))?)
            .unwrap_or_default();
        self.trail.record(
            self.tx,
            Entry::new("subject.read")
                .subject(id)
                .purpose("rights_request")
                .fields(fields.keys().map(|f| f.as_str()))
                .detail(format!("request:{} portability", self.request)),
        )?;
        let purposes = eligible
            .iter()
            .filter(|p| p.data_categories.iter().any(|c| fields.keys().any(|f| f.category() == *c)))
            .map(|p| self.purpose(&p.id))
            .collect();
        Ok(model::Portability { format: "json+csv".into(), data: fields, csv, purposes })
    }

    /// Rectification (Art. 16 and 19): applies the changes, records who and when (not the old values),
    /// and queues a notice to every recipient that received the data.
    fn rectify(mut self, id: Id, p: &Particulars) -> Result<(Body, RequestOutcome)> {
        let (_, key, mut identity) = self.subject(id)?;
        let mut changes = Vec::new();
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
            changes.push(model::Change { field, value: value.clone() });
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
        let (recipients, notices) = answer::notices(self.policy, self.lang, &notified);
        Ok((
            Body::Rectification(model::Rectification {
                changed_fields: changes.iter().map(|c| c.field).collect(),
                changes,
                recipients_notified: notified.queued.clone(),
                recipients,
                notices,
            }),
            RequestOutcome::Rectified,
        ))
    }

    /// Objection (Art. 21): recorded per purpose, effective at once.
    /// An objection to prospecting also puts the person's email and phone on the suppression list.
    fn object(self, id: Id, p: &Particulars) -> Result<(Body, RequestOutcome)> {
        let row = crate::record::load(self.tx, id)?;
        let mut suppressed_until = None;
        if p.purposes.iter().any(|x| x == super::suppression::PROSPECTING) {
            let years = self.policy.retention.suppression_years;
            let reason = "objection_to_prospecting";
            let today = self.at.date_naive();
            if let Some(e) = super::suppression::suppress_subject(self.tx, &row, years, today, reason, self.at)? {
                self.trail.record(self.tx, e.detail(format!("reason={reason} request:{}", self.request)))?;
                suppressed_until = Some(super::suppression::end_of(years, today));
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
        let purposes = p.purposes.iter().map(|x| self.purpose(x)).collect();
        Ok((Body::Objection(model::Objection { purposes, suppressed_until }), RequestOutcome::ObjectionRecorded))
    }

    /// The withdrawal of a consent (Art. 7(3)): recorded for each purpose named, effective at once.
    fn withdraw(self, id: Id, p: &Particulars) -> Result<(Body, RequestOutcome)> {
        let row = crate::record::load(self.tx, id)?;
        let key = self.keys.unwrap_key(&row.wrapped_key, id.as_bytes())?;
        let mut latest = BTreeMap::new();
        for c in self.tx.consents(id)? {
            latest.insert(c.purpose, c.granted);
        }
        let evidence = vigie_ui::Tr(self.lang).f("answer.withdrawal.evidence", &[]);
        let mut purposes = Vec::new();
        for purpose in &p.purposes {
            let cid = new_id();
            self.tx.insert_consent(&vigie_store::ConsentRow {
                id: cid,
                subject_id: id,
                purpose: purpose.clone(),
                granted: false,
                at: self.at,
                evidence: key.seal(&aad_for(id, Part::Consent, Some(cid)), evidence.as_bytes())?,
            })?;
            self.trail.record(
                self.tx,
                Entry::new("consent.withdraw")
                    .subject(id)
                    .purpose(purpose)
                    .fields(["granted", "evidence"])
                    .detail(format!("consent:{cid} request:{}", self.request)),
            )?;
            let r = self.purpose(purpose);
            purposes.push(model::Withdrawn { id: r.id, name: r.name, was_granted: latest.get(purpose) == Some(&true) });
        }
        Ok((
            Body::ConsentWithdrawal(model::ConsentWithdrawal { purposes, at: self.at }),
            RequestOutcome::ConsentWithdrawn,
        ))
    }

    /// Erasure (Art. 17): on an objection to prospecting or a ground the DPO records. A prospect is
    /// erased entirely. A client's data under legal retention is kept (with its contracts) and the
    /// rest erased; every purpose resting on consent or legitimate interest is stopped (the consent
    /// withdrawn, an objection recorded), so the kept data serves only the contract while it runs,
    /// then the archive's legal obligations and claims.
    fn erase(mut self, id: Id, p: &Particulars) -> Result<(Body, RequestOutcome)> {
        let (row, key, identity) = self.subject(id)?;
        let objected = self.tx.objections(id)?.iter().any(|o| o.purpose == super::suppression::PROSPECTING);
        let nothing = |ground| model::Erasure {
            erased: false,
            partial: false,
            ground,
            erased_fields: Vec::new(),
            erased_interactions: 0,
            kept: Vec::new(),
            kept_contracts: false,
            kept_until: None,
            contract_running: false,
            still_used_for: Vec::new(),
            stopped: Vec::new(),
            suppressed_until: None,
            recipients_notified: Vec::new(),
            recipients: model::Recipients::default(),
            notices: Vec::new(),
        };
        let ground = match (&p.ground, objected) {
            (Some(g), _) => one_of::<ErasureGround>("particulars.ground", g)?,
            (None, true) => ErasureGround::ObjectionToProspecting,
            (None, false) => return Ok((Body::Erasure(nothing(None)), RequestOutcome::NoGround)),
        };
        let notified = self.notify_recipients(id, "erasure_notice", None)?;
        let (recipients, notices) = answer::notices(self.policy, self.lang, &notified);
        let mut suppressed_until = None;
        if ground == ErasureGround::ObjectionToProspecting || objected {
            let on = super::suppression::objected_on(self.tx, id)?.unwrap_or(self.at.date_naive());
            let years = self.policy.retention.suppression_years;
            let reason = "objection_to_prospecting";
            if let Some(e) = super::suppression::suppress_subject(self.tx, &row, years, on, reason, self.at)? {
                self.trail.record(self.tx, e.detail(format!("reason={reason} request:{}", self.request)))?;
                suppressed_until = Some(super::suppression::end_of(years, on));
            }
        }
        let mut out = model::Erasure {
            erased: true,
            ground: Some(ground),
            suppressed_until,
            recipients_notified: notified.queued.clone(),
            recipients,
            notices,
            ..nothing(Some(ground))
        };
        if row.kind == SubjectKind::Prospect {
            self.tx.erase_subject(id, "erasure_request", self.at)?;
            self.trail.record(
                self.tx,
                Entry::new("subject.erase")
                    .subject(id)
                    .detail(format!("rule=erasure_request ground={ground} request:{}", self.request)),
            )?;
            out.erased_fields = identity.keys().copied().collect();
            return Ok((Body::Erasure(out), RequestOutcome::Erased));
        }
        // A client: what the contract purposes surviving the contract need is kept (accounting, legal claims).
        let today = self.at.date_naive();
        let facts = crate::record::facts(self.tx, id, today)?;
        let stopped = self.stop_purposes(id, &key, row.kind, &facts)?;
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
                "ground={ground} kept={} interactions={interactions} stopped={} request:{}",
                kept_fields.join("+"),
                stopped.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join("+"),
                self.request
            )),
        )?;
        let after = crate::record::facts(self.tx, id, today)?;
        let row = crate::record::load(self.tx, id)?;
        out.partial = true;
        out.erased_fields = removed.keys().copied().collect();
        out.erased_interactions = interactions;
        out.kept = kept.keys().copied().collect();
        out.kept_contracts = !self.tx.contracts(id)?.is_empty();
        out.kept_until = row.expires_on;
        out.contract_running = after.active_contract;
        out.still_used_for = self
            .policy
            .purposes
            .iter()
            .filter(|p| !p.aggregates_only && answer::basis_holds(p, row.kind, &after).is_some())
            .map(|p| self.purpose(&p.id))
            .collect();
        out.stopped = stopped;
        Ok((Body::Erasure(out), RequestOutcome::ErasedPartially))
    }

    /// Stops every purpose of a partially erased subject that rests on its consent (withdrawn) or
    /// on a legitimate interest (objection recorded), each audited; the purposes stopped.
    fn stop_purposes(
        &mut self,
        id: Id,
        key: &SubjectKey,
        kind: SubjectKind,
        facts: &vigie_domain::access::SubjectFacts,
    ) -> Result<Vec<model::PurposeRef>> {
        let mut stopped = Vec::new();
        let evidence = vigie_ui::Tr(self.lang).f("answer.erasure.evidence", &[]);
        for p in &self.policy.purposes {
            if p.aggregates_only {
                continue; // statistics never read one person's data
            }
            match answer::basis_holds(p, kind, facts) {
                Some(LegalBasis::Consent) => {
                    let cid = new_id();
                    self.tx.insert_consent(&vigie_store::ConsentRow {
                        id: cid,
                        subject_id: id,
                        purpose: p.id.clone(),
                        granted: false,
                        at: self.at,
                        evidence: key.seal(&aad_for(id, Part::Consent, Some(cid)), evidence.as_bytes())?,
                    })?;
                    self.trail.record(
                        self.tx,
                        Entry::new("consent.withdraw")
                            .subject(id)
                            .purpose(&p.id)
                            .fields(["granted", "evidence"])
                            .detail(format!("consent:{cid} erasure request:{}", self.request)),
                    )?;
                }
                Some(LegalBasis::LegitimateInterest | LegalBasis::PublicTask) => {
                    self.tx.insert_objection(&vigie_store::ObjectionRow {
                        id: new_id(),
                        subject_id: id,
                        purpose: p.id.clone(),
                        at: self.at,
                    })?;
                    self.trail.record(
                        self.tx,
                        Entry::new("objection.create")
                            .subject(id)
                            .purpose(&p.id)
                            .detail(format!("erasure request:{}", self.request)),
                    )?;
                }
                _ => continue,
            }
            stopped.push(purpose_ref(self.policy, self.lang, &p.id));
        }
        Ok(stopped)
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
        self.tx.set_subject_name(id, crate::record::name_bi(self.keys, identity).as_deref())?;
        Ok(())
    }

    /// Restriction (Art. 18): from now on the subject's data is only stored, and read only for
    /// legal claims (`access::Rule::Restricted`); the recipients that received it are told (Art. 19).
    fn restrict(mut self, id: Id, p: &Particulars) -> Result<(Body, RequestOutcome)> {
        let row = crate::record::load(self.tx, id)?;
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
        let since = self.tx.restriction(id)?.map_or(self.at, |r| r.restricted_at).date_naive();
        let notified = self.notify_recipients(id, "restriction_notice", None)?;
        let (recipients, notices) = answer::notices(self.policy, self.lang, &notified);
        let legal_claims = self
            .policy
            .purposes
            .iter()
            .filter(|p| p.legal_claims && p.bases.contains_key(&row.kind))
            .map(|p| self.purpose(&p.id))
            .collect();
        Ok((
            Body::Restriction(model::Restriction {
                restricted: true,
                restriction_ground: ground,
                since,
                legal_claims,
                recipients_notified: notified.queued.clone(),
                recipients,
                notices,
            }),
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
