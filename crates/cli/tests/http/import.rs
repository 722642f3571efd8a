//! CSV import: all or nothing, errors by line, contracts and their clocks.

use crate::support::{R, Server, backends, count};

#[test]
fn import_is_all_or_nothing_and_reports_lines() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let csv = s.dir.join("people.csv");
        std::fs::write(
            &csv,
            "kind;first_name;last_name;email;phone\n\
             prospect;Léa;Petit;lea.petit@example.fr;06 11 22 33 44\n\
             client;Hugo;Bernard;not-an-email;\n\
             prospect;Inès;Moreau;ines@example.fr;\n\
             lead;Jade;Roux;jade@example.fr;\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("people.csv:3: identity.email"), "{err}");
        assert!(err.contains("people.csv:5: kind"), "{err}");
        assert!(!err.contains("not-an-email"), "no value in errors: {err}");
        let found = s.get(&staff, "/api/v1/subjects?email=lea.petit%40example.fr", Some("prospect_relations"))?;
        assert_eq!(found.1["subjects"].as_array().map(Vec::len), Some(0), "nothing imported");

        let out = s.cli().arg("import").arg("--skip-invalid").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 subject(s), rejected 2 row(s)"));
        let (st, v) = s.get(&staff, "/api/v1/subjects?phone=%2B33611223344", Some("prospect_relations"))?;
        assert_eq!(st, 200);
        assert_eq!(v["subjects"][0]["identity"]["last_name"], "Petit");

        let bad_header = s.dir.join("bad.csv");
        std::fs::write(&bad_header, "kind,first_name,shoe_size\nprospect,Léa,38\n")?;
        let out = s.cli().arg("import").arg(&bad_header).output()?;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("column `shoe_size`"));
        let latin1 = s.dir.join("latin1.csv");
        std::fs::write(&latin1, b"kind,first_name\nprospect,L\xe9a\n")?;
        let out = s.cli().arg("import").arg(&latin1).output()?;
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("latin1.csv:2: the row is not valid UTF-8"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(s.audit_entries()? > 2);
    }
    Ok(())
}

/// Issue 9: a CRM export brings its contracts; the clients' clocks run on them.
#[test]
fn csv_import_brings_contracts_and_their_clocks() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        let csv = s.dir.join("crm.csv");
        std::fs::write(
            &csv,
            "kind;collected_at;first_name;email;contract_reference;contract_start;contract_end\n\
             prospect;2010-01-01;Ana;ana@example.fr;C-1;2012-01-01;2019-06-30\n\
             client;2010-01-01;Ben;ben@example.fr;C-2;2012-01-01;\n\
             client;2010-01-01;Cléo;cleo@example.fr;C-3;2012-01-01;9999-12-31\n\
             client;2010-01-01;Dan;dan@example.fr;;;\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        let (_, plan) = s.get(&dpo, "/api/v1/retention/plan", None)?;
        assert_eq!(plan["due_count"], 1, "{b:?}: only the contract that ended in 2019: {plan}");
        assert_eq!(plan["due"][0]["rule"], "last_contract_end");
        assert_eq!(plan["due"][0]["expires_on"], "2024-06-30");
        assert_eq!(plan["to_review_count"], 1, "{b:?}: Dan has no contract: {plan}");
        assert_eq!(count(&s, "SELECT count(*) FROM contracts")?, 3);
        // Bad contract cells are reported by line, and nothing is imported.
        let bad = s.dir.join("bad.csv");
        std::fs::write(
            &bad,
            "kind,first_name,contract_reference,contract_start,contract_end\nclient,Eve,C-9,2020-01-01,2019-01-01\nclient,Fay,C-8,+10000-01-01,\n",
        )?;
        let out = s.cli().arg("import").arg(&bad).output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(":2: contract_end") && err.contains(":3: contract_start"),
            "{err}"
        );
        assert_eq!(count(&s, "SELECT count(*) FROM contracts")?, 3);
    }
    Ok(())
}
