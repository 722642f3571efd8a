//! The answers to people, filled from the records (`vigie_ui::answers` holds the model and its
//! templates): every name resolved from the policy in the requester's language when the answer
//! is made, the purposes actually used for the person, the recipients by name, the
//! consultations from the audit trail, the Art. 19 notices as they stand.

use super::*;
use vigie_domain::Lang;
use vigie_domain::access::SubjectFacts;
use vigie_domain::policy::Purpose;
use vigie_domain::records::OutboxStatus;
use vigie_domain::transfers::Ground;
use vigie_store::{AuditRow, ReadTx};
use vigie_ui::Tr;
use vigie_ui::answers::{
    self as model, Answer, Body, Consultation, Notice, NoticeState, PurposeRef, Reader, RecipientUse, Recipients,
    Safeguard,
};

/// An answer to `row`, made at `at`, saying `body`.
pub(super) fn answer(
    policy: &Policy,
    row: &RequestRow,
    requester: &Requester,
    at: DateTime<Utc>,
    subject_found: bool,
    body: Body,
) -> Answer {
    let name = [requester.first_name.as_deref(), requester.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Answer {
        request: row.id,
        kind: row.kind,
        lang: row.lang,
        received_on: row.received_on,
        answered_on: at.date_naive(),
        subject_found,
        addressee: (!name.is_empty()).then_some(name),
        controller: policy.controller.name.clone(),
        dpo: model::Dpo {
            name: policy.dpo.name.clone(),
            email: policy.dpo.email.clone(),
            address: policy.dpo.address.clone(),
        },
        complaint: model::Complaint {
            authority: policy.authority.name.clone(),
            address: policy.authority.complaint_address.clone(),
            phone: policy.authority.phone.clone(),
        },
        body,
    }
}

/// A purpose by id and by name in `lang` (Vigie's own `rights_request` in words too).
pub(super) fn purpose_ref(policy: &Policy, lang: Lang, id: &str) -> PurposeRef {
    PurposeRef { id: id.to_string(), name: purpose_name(policy, lang, id) }
}

pub(super) fn purpose_name(policy: &Policy, lang: Lang, id: &str) -> String {
    match policy.purpose(id) {
        Some(p) => p.name.get(lang).to_string(),
        None => {
            let key = format!("words.purpose.{id}");
            let t = Tr(lang);
            if vigie_ui::has(&key) { t.t(&key).to_string() } else { id.replace('_', " ") }
        }
    }
}

/// A recipient's name in `lang`; none once the policy no longer has it.
fn recipient_name(policy: &Policy, lang: Lang, id: &str) -> Option<String> {
    policy.recipient(id).map(|r| r.name.get(lang).to_string())
}

/// Whether the purpose's legal basis holds for the subject now, as `check_read` would decide
/// for its readers: a contract running (or, archived, a purpose that survives it), a consent
/// given, no objection; under a restriction only legal claims.
pub(super) fn basis_holds(p: &Purpose, kind: SubjectKind, facts: &SubjectFacts) -> Option<LegalBasis> {
    let basis = *p.bases.get(&kind)?;
    if facts.restricted && !p.legal_claims {
        return None;
    }
    let holds = match basis {
        LegalBasis::Contract => facts.active_contract || (facts.any_contract && p.survives_contract),
        LegalBasis::Consent => !facts.objections.contains(&p.id) && facts.consents.get(&p.id) == Some(&true),
        LegalBasis::LegitimateInterest | LegalBasis::PublicTask => !facts.objections.contains(&p.id),
        LegalBasis::LegalObligation | LegalBasis::VitalInterests => true,
    };
    holds.then_some(basis)
}

/// What the reads of a subject's data were: by day, purpose and reader, from the audit trail's
/// reads (`subject.read` allowed) and recorded disclosures (`disclosure.record`).
pub(super) fn consultations(
    tx: &mut dyn ReadTx,
    policy: &Policy,
    lang: Lang,
    subject: Id,
) -> Result<Vec<Consultation>> {
    const PAGE: i64 = 5_000;
    let mut grouped: BTreeMap<(NaiveDate, String, Reader, Option<String>), u32> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page: Vec<AuditRow> = tx.audit_for_subject(subject, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() as i64 == PAGE;
        for e in page {
            let read = (e.action == "subject.read" && e.outcome == "ok") || e.action == "disclosure.record";
            let Some(purpose) = e.purpose.filter(|_| read) else { continue };
            let recipient = e.detail.as_deref().and_then(|d| d.strip_prefix("disclosed to ")).map(str::to_string);
            let by = if recipient.is_some() { Reader::Recipient } else { Reader::Staff };
            *grouped.entry((e.at.date_naive(), purpose, by, recipient)).or_default() += 1;
        }
        if !full {
            break;
        }
    }
    Ok(grouped
        .into_iter()
        .map(|((on, purpose, by, recipient), times)| Consultation {
            on,
            purpose_name: purpose_name(policy, lang, &purpose),
            purpose,
            by,
            recipient_name: recipient.as_deref().and_then(|r| recipient_name(policy, lang, r)),
            recipient,
            times,
        })
        .collect())
}

/// The recipients the subject's data was disclosed to, by name, with their country and the
/// ground of the transfer as of `today`.
pub(super) fn recipients(
    policy: &Policy,
    transfers: &vigie_domain::transfers::TransferList,
    lang: Lang,
    disclosures: &[vigie_store::DisclosureRow],
    safeguards: &[vigie_store::SafeguardRow],
    today: NaiveDate,
) -> Vec<RecipientUse> {
    let mut by: BTreeMap<&str, Vec<&vigie_store::DisclosureRow>> = BTreeMap::new();
    for d in disclosures {
        by.entry(d.recipient.as_str()).or_default().push(d);
    }
    by.into_iter()
        .map(|(id, ds)| {
            let r = policy.recipient(id);
            let country = r.and_then(|r| r.country.clone());
            let sg: Vec<_> = safeguards
                .iter()
                .filter(|s| s.recipient == id)
                .map(|s| vigie_domain::transfers::Safeguard { kind: s.kind, signed_on: s.signed_on })
                .collect();
            let safeguard = match vigie_domain::transfers::assess(transfers, country.as_deref(), &sg, today) {
                Ok(Ground::Eea { .. }) => Some(Safeguard::Eea),
                Ok(Ground::Adequacy { decision, .. }) => Some(Safeguard::Adequacy { decision }),
                Ok(Ground::Safeguard { kind, signed_on, .. }) => Some(Safeguard::Safeguard { kind, signed_on }),
                Ok(Ground::Internal) | Err(_) => None,
            };
            let mut purposes: Vec<String> = Vec::new();
            let mut fields: Vec<String> = Vec::new();
            for d in &ds {
                let name = purpose_name(policy, lang, &d.purpose);
                if !purposes.contains(&name) {
                    purposes.push(name);
                }
                for f in d.fields.split(',').filter(|f| !f.is_empty()) {
                    if !fields.iter().any(|x| x == f) {
                        fields.push(f.to_string());
                    }
                }
            }
            fields.sort_by_key(|f| f.parse::<FieldName>().map_or(u8::MAX, |x| x as u8));
            RecipientUse {
                recipient: id.to_string(),
                name: r.map_or_else(
                    || Tr(lang).t("answer.access.consultations.former_recipient").to_string(),
                    |r| r.name.get(lang).to_string(),
                ),
                country,
                safeguard,
                purposes,
                fields,
                first_on: ds.iter().map(|d| d.at.date_naive()).min().unwrap_or(today),
                last_on: ds.iter().map(|d| d.at.date_naive()).max().unwrap_or(today),
            }
        })
        .collect()
}

/// The Art. 19 notices of a request, as queued: ids (`recipients`) and each notice's state.
pub(super) fn notices(policy: &Policy, lang: Lang, n: &fulfil::Notified) -> (Recipients, Vec<Notice>) {
    let name = |id: &String| {
        recipient_name(policy, lang, id)
            .unwrap_or_else(|| Tr(lang).t("answer.access.consultations.former_recipient").to_string())
    };
    let mut out: Vec<Notice> =
        n.queued.iter().map(|r| Notice { recipient: r.clone(), name: name(r), state: NoticeState::Pending }).collect();
    out.extend(n.unreachable.iter().map(|r| Notice {
        recipient: r.clone(),
        name: name(r),
        state: NoticeState::Unreachable,
    }));
    (Recipients { queued: n.queued.clone(), unreachable: n.unreachable.clone() }, out)
}

/// Brings each Art. 19 notice of an answer to where the outbox has it now (sent, pending, given
/// up): the answer says honestly who was told.
pub(super) fn refresh_notices(tx: &mut dyn ReadTx, answer: &mut Answer) -> Result<()> {
    let (template, notices) = match &mut answer.body {
        Body::Rectification(x) => ("rectification_notice", &mut x.notices),
        Body::Erasure(x) => ("erasure_notice", &mut x.notices),
        Body::Restriction(x) => ("restriction_notice", &mut x.notices),
        _ => return Ok(()),
    };
    for n in notices.iter_mut().filter(|n| n.state != NoticeState::Unreachable) {
        let key = format!("request:{}:{template}:{}", answer.request, n.recipient);
        if let Some(m) = tx.message_by_key(&key)? {
            n.state = match m.status {
                OutboxStatus::Sent => NoticeState::Notified,
                OutboxStatus::Pending => NoticeState::Pending,
                OutboxStatus::Failed => NoticeState::Failed,
            };
        }
    }
    Ok(())
}

/// What the requester is told of an extension (Art. 12(3)): their address and name, the
/// deadline in force and the DPO's reasons, read from the sealed request.
pub(crate) struct ExtensionNotice {
    pub(crate) email: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) due_on: NaiveDate,
    pub(crate) reason: String,
}

pub(crate) fn extension_notice(keys: &MasterKey, row: &RequestRow) -> Result<ExtensionNotice> {
    let key = request_key(keys, row)?;
    let sealed: Sealed = open_json(&key, row.id, Part::Requester, &row.requester)?;
    let reason = match &row.extension_reason {
        Some(r) => String::from_utf8(key.open(&aad_for(row.id, Part::Extension, None), r)?)
            .map_err(|_| AppError::Internal(format!("request {} extension reason", row.id)))?,
        None => String::new(),
    };
    let name = [sealed.requester.first_name.as_deref(), sealed.requester.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(ExtensionNotice {
        email: sealed.requester.email,
        name: (!name.is_empty()).then_some(name),
        due_on: row.extended_due_on.unwrap_or(row.due_on),
        reason,
    })
}
