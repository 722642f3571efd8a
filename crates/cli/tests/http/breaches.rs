//! The breach register: scopes, the 72-hour clock, the CNIL draft, notices to subjects.

use crate::support::{R, Server, backends, camille, person};
use serde_json::{Value, json};

#[test]
fn breaches_are_scoped_clocked_drafted_and_notified() -> R {
    for b in backends() {
        let (s, smtp) = Server::with_mail(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let a = s.create(&staff, camille())?;
        let c = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        s.post(&staff, &format!("/api/v1/subjects/{c}/contracts"), json!({"reference":"C-1","start":"2024-01-01"}))?;
        let other = s.create(&staff, person("Léa", "lea@example.fr", "prospect"))?;
        let _ = other;

        let body = json!({"detected_at":"2026-11-20T08:30:00Z","nature":["confidentiality"],"description":"a laptop was stolen",
            "data_categories":["identity","contact","contract"],"scope":{"subject_ids":[a, c]},
            "likely_consequences":"phishing","measures":"passwords reset","risk":"high","keys_compromised":"no"});
        assert_eq!(s.post(&staff, "/api/v1/breaches", body.clone())?.0, 403);
        let (st, v) = s.post(&dpo, "/api/v1/breaches", body)?;
        assert_eq!(st, 201, "{b:?} {v}");
        assert_eq!(v["notify_authority_by"], "2026-11-23T08:30:00Z");
        assert_eq!(v["subjects_concerned"], 2);
        assert_eq!(v["records_concerned"], 3, "two identities and one contract");
        assert!(v["subjects_information"].as_str().is_some_and(|t| t.starts_with("exemption_to_confirm")), "{v}");
        let id = v["id"].as_str().ok_or("id")?.to_string();

        // Scopes by kind and by a token's accesses.
        let (_, v) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-11-25T08:00:00Z","nature":["availability"],"description":"outage",
            "data_categories":["identity"],"scope":{"kinds":["prospect"]},"keys_compromised":"unknown"}),
        )?;
        assert_eq!(v["subjects_concerned"], 2, "{v}");
        let leaky = s.token("staff", None)?;
        s.get(&leaky, &format!("/api/v1/subjects/{a}"), Some("prospect_relations"))?;
        let (_, tokens) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let token_id = tokens["entries"]
            .as_array()
            .and_then(|e| e.iter().rev().find(|x| x["action"] == "subject.read").map(|x| x["actor"].clone()))
            .unwrap_or(Value::Null);
        let token_id = token_id.as_str().and_then(|t| t.strip_prefix("token:")).ok_or("actor")?.to_string();
        let (_, v) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-11-25T09:00:00Z","nature":["confidentiality"],"description":"token leaked",
            "data_categories":["identity"],"scope":{"token": token_id, "from":"2026-01-01T00:00:00Z"},"keys_compromised":"no"}),
        )?;
        assert_eq!(v["subjects_concerned"], 1, "the subjects that token read: {v}");
        assert_eq!(s.post(&dpo, "/api/v1/breaches", json!({"detected_at":"2026-11-25T09:00:00Z","nature":["theft"],"description":"x","data_categories":[],"scope":{"all":true},"keys_compromised":"no"}))?.0, 400);
        assert_eq!(s.post(&dpo, "/api/v1/breaches", json!({"detected_at":"2026-11-25T09:00:00Z","nature":["integrity"],"description":"x","data_categories":[],"scope":{},"keys_compromised":"no"}))?.0, 400);

        // The draft notification to the CNIL (Art. 33(3)), in JSON and in French.
        let (st, v) = s.get(&dpo, &format!("/api/v1/breaches/{id}/notification"), None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["subjects_concerned"], 2);
        assert_eq!(v["dpo"]["email"], "dpo-msi@racine.eu");
        assert_eq!(v["likely_consequences"], "phishing");
        let html = s
            .http
            .get(format!("{}/api/v1/breaches/{id}/notification?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        // A document in words, on the one stylesheet: the count, the consequences, the DPO, no token.
        for words in ["Personnes concernées (nombre approximatif)", "2 personnes", "phishing", "dpo-msi@racine.eu"] {
            assert!(html.contains(words), "{words}: {html}");
        }
        assert!(html.contains(vigie_ui::STYLESHEET) && !html.contains("style=\""), "{html}");
        for token in ["confidentiality", "subjects_concerned", "likely_consequences", id.as_str()] {
            assert!(!html.contains(token), "{token}: {html}");
        }

        // Detected more than 72 hours ago: a notification now is late and needs reasons.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{id}/phases"),
            json!({"phase":"authority_notified","details":"sent via the CNIL form"}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("late_reasons")), "{v}");
        let (st, v) = s.post(&dpo, &format!("/api/v1/breaches/{id}/phases"), json!({"phase":"authority_notified","details":"sent via the CNIL form","late_reasons":"the theft was reported late by the employee"}))?;
        assert_eq!((st, v["late"].as_bool(), v["status"].as_str()), (200, Some(true), Some("notified")), "{v}");
        assert_eq!(v["phases"].as_array().map(Vec::len), Some(2));

        // High risk: the DPO has the subjects notified; each concerned subject with an email gets one notice.
        let (st, v) = s.post(&dpo, &format!("/api/v1/breaches/{id}/subjects"), json!({"decision":"notify"}))?;
        assert_eq!(st, 200, "{v}");
        assert!(v["subjects_information"].as_str().is_some_and(|t| t.contains("2 notices")), "{v}");
        let mail = smtp.wait_for(2);
        assert_eq!(mail.len(), 2, "{b:?}");
        assert!(mail.iter().any(|m| m.contains("hugo@example.fr") && m.contains("phishing")));
        // The notice as Hugo reads it (Art. 34(2)): what happened, the data, the consequences,
        // the measures, the DPO's contact, in French first.
        let hugo = mail.iter().find(|m| m.contains("hugo@example.fr")).map(|m| body_of(m)).ok_or("hugo")?;
        for expected in [
            "Bonjour Hugo Durand",
            "Le 20/11/2026, ",
            "violation de données personnelles qui vous concerne",
            "risque élevé pour vos droits et libertés",
            "article 34 du RGPD",
            "Ce qui s'est passé : des personnes non autorisées ont pu accéder à certaines de vos données",
            "Données concernées : votre identité (civilité, prénom, nom), vos coordonnées",
            "vos contrats (référence et dates)",
            "Conséquences possibles pour vous : phishing",
            "Mesures prises ou envisagées : passwords reset",
            "délégué à la protection des données : ",
            "dpo-msi@racine.eu",
            "réclamation à la CNIL",
            "What happened: people without authorisation may have accessed",
            "Measures taken or proposed: passwords reset",
        ] {
            assert!(hugo.contains(expected), "{expected:?} in:\n{hugo}");
        }
        assert!(!hugo.contains("laptop"), "the register's description stays internal: {hugo}");
        assert!(!mail.iter().any(|m| m.contains("lea@example.fr")), "only the subjects concerned");
        let (_, list) = s.get(&dpo, "/api/v1/breaches", None)?;
        assert_eq!(list["breaches"].as_array().map(Vec::len), Some(3));
        assert_eq!(list["breaches"][2]["id"], id.as_str(), "the notified breach comes last");
        let (_, audit) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        assert!(!audit.to_string().contains("laptop"), "no breach text in the audit trail");
    }
    Ok(())
}

/// The text of a received message, as the person's mail client shows it (quoted-printable or base64).
fn body_of(message: &str) -> String {
    let (head, body) = message.split_once("\r\n\r\n").unwrap_or((message, ""));
    let head = head.to_ascii_lowercase();
    if head.contains("content-transfer-encoding: base64") {
        let table = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            } as u32)
        };
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
        for v in body.bytes().filter_map(table) {
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        return String::from_utf8_lossy(&out).into_owned();
    }
    if head.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let (mut out, mut i) = (Vec::new(), 0);
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(h)) => {
                    out.push(h);
                    i += 3;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        return String::from_utf8_lossy(&out).replace("\r\n", "\n");
    }
    body.replace("\r\n", "\n")
}

fn breach(scope: Value, risk: &str, keys: &str) -> Value {
    json!({"detected_at":"2026-11-20T08:30:00Z","nature":["confidentiality"],"description":"a token was leaked",
        "data_categories":["identity","contact"],"scope": scope,"risk": risk,"keys_compromised": keys,
        "likely_consequences":"des courriels d'hameçonnage","measures":"le jeton a été révoqué"})
}

/// Art. 34(3): the exemptions are refused where they do not hold, the notice is complete or not
/// sent, the subjects without an email are counted and must be told another way.
#[test]
fn breach_exemptions_are_refused_where_they_do_not_hold() -> R {
    for b in backends() {
        let (s, smtp) = Server::with_mail(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let a = s.create(&staff, camille())?;
        let phone_only = s.create(
            &staff,
            json!({"kind":"client","identity":{"first_name":"Jules","last_name":"Petit","phone":"+33611223344"}}),
        )?;
        let ids = json!({"subject_ids":[a, phone_only]});

        // keys_compromised is required, a string of a closed set: never a silent default.
        let mut body = breach(ids.clone(), "high", "no");
        body.as_object_mut().ok_or("obj")?.remove("keys_compromised");
        let (st, v) = s.post(&dpo, "/api/v1/breaches", body)?;
        assert_eq!((st, v["field"].as_str()), (400, Some("keys_compromised")), "{b:?} {v}");
        let mut body = breach(ids.clone(), "high", "no");
        body["keys_compromised"] = json!(false);
        let (st, v) = s.post(&dpo, "/api/v1/breaches", body)?;
        assert_eq!((st, v["field"].as_str()), (400, Some("keys_compromised")), "the old booleans: {v}");
        let (st, v) = s.post(&dpo, "/api/v1/breaches", breach(ids.clone(), "high", "perhaps"))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("keys_compromised")), "{v}");
        assert!(!v.to_string().contains("perhaps"), "the value is not echoed: {v}");

        // Keys unknown: the encryption exemption is refused.
        let (st, v) = s.post(&dpo, "/api/v1/breaches", breach(ids.clone(), "high", "unknown"))?;
        assert_eq!((st, v["keys_compromised"].as_str()), (201, Some("unknown")), "{v}");
        assert!(v["subjects_information"].as_str().is_some_and(|t| t.starts_with("to_notify")), "{v}");
        let unknown = v["id"].as_str().ok_or("id")?.to_string();
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/breaches/{unknown}/subjects"), json!({"decision":"confirm_exemption"}))?;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("unknown")), "{v}");

        // Keys safe but the data left through a recipient's or a token's reads: refused too.
        let recipient = s.get(&dpo, "/api/v1/recipients", None)?.1["recipients"]
            .as_array()
            .and_then(|r| r.iter().find(|x| x["kind"] != "internal").and_then(|x| x["id"].as_str().map(String::from)))
            .ok_or("an external recipient")?;
        for scope in [json!({"recipient": recipient}), json!({"token": uuid::Uuid::new_v4().to_string()})] {
            let (st, v) = s.post(&dpo, "/api/v1/breaches", breach(scope.clone(), "high", "no"))?;
            assert_eq!(st, 201, "{scope} {v}");
            assert!(v["subjects_information"].as_str().is_some_and(|t| t.starts_with("to_notify")), "{v}");
            let id = v["id"].as_str().ok_or("id")?;
            let (st, v) =
                s.post(&dpo, &format!("/api/v1/breaches/{id}/subjects"), json!({"decision":"confirm_exemption"}))?;
            assert_eq!(st, 409, "{scope} {v}");
            assert!(v["detail"].as_str().is_some_and(|d| d.contains("decrypted")), "{v}");
        }

        // 34(3)(b) needs its justification, sealed, audited without it.
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/breaches/{unknown}/subjects"), json!({"decision":"measures_taken"}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("justification")), "{v}");

        // Notify with empty measures: refused, nothing queued.
        let mut body = breach(ids.clone(), "high", "yes");
        body.as_object_mut().ok_or("obj")?.remove("measures");
        let (st, v) = s.post(&dpo, "/api/v1/breaches", body)?;
        assert_eq!(st, 201, "{v}");
        assert!(v["decisions"].as_array().is_some_and(Vec::is_empty), "not notified without measures: {v}");
        let bare = v["id"].as_str().ok_or("id")?.to_string();
        let (st, v) = s.post(&dpo, &format!("/api/v1/breaches/{bare}/subjects"), json!({"decision":"notify"}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("measures")), "{v}");
        let (_, outbox) = s.get(&dpo, "/api/v1/outbox", None)?;
        assert!(!outbox.to_string().contains("breach_notice"), "nothing queued: {outbox}");
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{bare}/phases"),
            json!({"phase":"update","details":"measures decided","measures":"   "}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("measures")), "blank measures: {v}");

        // With its measures, notify: one notice for the subject with an email, the other counted.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{bare}/phases"),
            json!({"phase":"update","details":"measures decided","measures":"mots de passe réinitialisés"}),
        )?;
        assert_eq!(st, 200, "{v}");
        let (st, v) = s.post(&dpo, &format!("/api/v1/breaches/{bare}/subjects"), json!({"decision":"notify"}))?;
        assert_eq!(
            (st, v["unreachable"].as_i64(), v["unreachable_pending"].as_bool()),
            (200, Some(1), Some(true)),
            "{v}"
        );
        assert!(v["subjects_information"].as_str().is_some_and(|t| t.contains("1 subject(s) have no email")), "{v}");
        let mail = smtp.wait_for(1);
        assert_eq!(mail.len(), 1, "{b:?}");
        let text = body_of(&mail[0]);
        assert!(text.contains("Mesures prises ou envisagées : mots de passe réinitialisés"), "{text}");
        assert!(text.contains("Conséquences possibles pour vous : des courriels d'hameçonnage"), "{text}");
        // Once notified, no exemption; the unreachable subject is told by a public communication.
        let (st, _) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{bare}/subjects"),
            json!({"decision":"measures_taken","justification":"x"}),
        )?;
        assert_eq!(st, 409);
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/breaches/{bare}/subjects"), json!({"decision":"public_communication"}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("justification")), "{v}");
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{bare}/subjects"),
            json!({"decision":"public_communication","justification":"avis publié sur le site le 21/11 (Jules P.)"}),
        )?;
        assert_eq!((st, v["unreachable_pending"].as_bool()), (200, Some(false)), "{v}");
        let decisions = v["decisions"].as_array().ok_or("decisions")?;
        assert_eq!(decisions.len(), 2, "{v}");
        assert_eq!(decisions[1]["decision"], "public_communication");
        assert_eq!(decisions[1]["justification"], "avis publié sur le site le 21/11 (Jules P.)");
        let (st, _) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{bare}/subjects"),
            json!({"decision":"other_channel","justification":"letter"}),
        )?;
        assert_eq!(st, 409, "nobody waits for another channel any more");

        // 34(3)(b) on the breach with unknown keys: recorded with its justification.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{unknown}/subjects"),
            json!({"decision":"measures_taken","justification":"le jeton volé a été révoqué avant tout usage"}),
        )?;
        assert_eq!(st, 200, "{v}");
        assert!(v["subjects_information"].as_str().is_some_and(|t| t.starts_with("exemption_measures")), "{v}");

        // The CNIL draft names the categories of data subjects.
        let (st, v) = s.get(&dpo, &format!("/api/v1/breaches/{bare}/notification"), None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["subject_categories"][0], json!({"category":"client","label":"Clients / Clients","count":1}));
        assert_eq!(v["subject_categories"][1]["category"], "prospect");
        assert_eq!(v["subject_categories"][1]["count"], 1);
        let html = s
            .http
            .get(format!("{}/api/v1/breaches/{bare}/notification?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        assert!(html.contains("1 client, 1 prospect ou contact"), "{html}");

        // Nothing of the justifications or of the people in the audit trail.
        let (_, audit) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let audit = audit.to_string();
        assert!(!audit.contains("avis publié") && !audit.contains("révoqué"), "{audit}");
        assert!(audit.contains("decision=public_communication"), "each decision audited");
        assert!(audit.contains("queued=1 unreachable=1"), "{audit}");
    }
    Ok(())
}

/// Risk none (Art. 33(1)): the reasons for not notifying are recorded, and the breach is never late.
#[test]
fn a_breach_without_risk_records_why_and_is_never_late() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let a = s.create(&staff, camille())?;
        let scope = json!({"subject_ids":[a]});
        let (st, v) = s.post(&dpo, "/api/v1/breaches", breach(scope.clone(), "none", "no"))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("no_notification_reasons")), "{b:?} {v}");
        let mut body = breach(scope.clone(), "none", "no");
        body["no_notification_reasons"] = json!("the stolen disk was encrypted and found intact the same day");
        let (st, v) = s.post(&dpo, "/api/v1/breaches", body)?;
        assert_eq!(st, 201, "{v}");
        assert_eq!((v["late"].as_bool(), v["hours_left"].as_i64().is_some_and(|h| h < 0)), (Some(false), true), "{v}");
        assert_eq!(v["no_notification_reasons"], "the stolen disk was encrypted and found intact the same day");
        let id = v["id"].as_str().ok_or("id")?.to_string();
        let (_, v) = s.get(&dpo, &format!("/api/v1/breaches/{id}/notification"), None)?;
        assert_eq!(v["late"], false, "{v}");

        // A breach whose risk becomes none records why, unless the authority was notified.
        let (st, v) = s.post(&dpo, "/api/v1/breaches", breach(scope.clone(), "risk", "no"))?;
        assert_eq!((st, v["late"].as_bool()), (201, Some(true)), "{v}");
        let other = v["id"].as_str().ok_or("id")?.to_string();
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{other}/phases"),
            json!({"phase":"update","details":"reassessed","risk":"none"}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("no_notification_reasons")), "{v}");
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{other}/phases"),
            json!({"phase":"update","details":"reassessed","risk":"none","no_notification_reasons":"only public data"}),
        )?;
        assert_eq!((st, v["late"].as_bool(), v["risk"].as_str()), (200, Some(false), Some("none")), "{v}");
        let (_, audit) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        assert!(!audit.to_string().contains("only public data"), "the reasons are sealed");
    }
    Ok(())
}
