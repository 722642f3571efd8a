//! JSON bodies fuzzed through the real server: every POST operation of the OpenAPI document,
//! on every backend, with a dpo token (the admin's where a dpo is refused), gets proptest-made
//! JSON values (any nesting, wrong types, huge numbers, unicode, nulls, the operation's own
//! field names with wrong values) and bodies that are not JSON at all: never a 5xx, and every
//! 4xx is application/problem+json (`Server::send` checks it).
//!
//! 64 cases per operation and backend by default; run longer with e.g.
//! `PROPTEST_CASES=5000 cargo test -p vigie --test http fuzz_`.

use crate::support::{Backend, R, Server, backends, camille};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

/// Strings a field may be given, built to hurt.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "null",
            "client",
            "prospect",
            "dpo",
            "admin",
            "access",
            "erasure",
            "email",
            "camille.martin@example.fr",
            "+33612345678",
            "2024-02-30",
            "0000-00-00",
            "9999-12-31",
            "9999-12-31T23:59:59Z",
            "2024-01-01T00:00:00Z",
            "-0001-01-01",
            "1e999",
            "NaN",
            "00000000-0000-0000-0000-000000000000",
            "contract_management",
            "saas_erp",
            "../../etc/passwd",
            "\u{0}",
            "\u{202e}evil",
            "\u{feff}",
            "Zoë 🎉 漢字",
            "<script>alert(1)</script>",
            "'; DROP TABLE subjects;--",
        ])
        .prop_map(str::to_string),
        any::<String>(),
        (1usize..4).prop_map(|n| "x".repeat(n * 20_000)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1, 1, 4_294_967_296]).prop_map(Value::from),
        Just(json!(u64::MAX)),
        prop::sample::select(vec![1e308, -1e308, 0.5, -0.0, 1e-308]).prop_map(Value::from),
        hostile_string().prop_map(Value::from),
    ]
}

/// Any JSON value, its object keys drawn mostly from `keys` (the operation's own fields).
fn value(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let key = prop_oneof![4 => prop::sample::select(keys), 1 => hostile_string()];
    leaf().prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies no JSON value stands for: syntax errors, numbers out of range, deep nesting.
fn raw_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "{",
            "}",
            "[",
            "nul",
            "{\"kind\": 1e999}",
            "{\"kind\": -1e999}",
            "{\"a\":1,\"a\":2}",
            "{\"identity\": {\"email\": \"\\ud800\"}}",
            "\u{feff}{}",
            "{} {}",
            "123456789012345678901234567890",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        (1usize..300).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..300).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// One POST operation: its path with ids filled in, and its request body's field names.
struct Operation {
    path: String,
    keys: Vec<String>,
}

/// Every POST operation of the document, with real ids where there are some.
fn operations(s: &Server, ids: &[(&str, String)]) -> R<Vec<Operation>> {
    let (st, doc) = s.get("", "/api/v1/openapi.json", None)?;
    assert_eq!(st, 200);
    let schemas = &doc["components"]["schemas"];
    let mut out = Vec::new();
    for (template, ops) in doc["paths"].as_object().ok_or("paths")? {
        let Some(post) = ops.get("post") else { continue };
        let mut path = template.clone();
        for (name, id) in ids {
            path = path.replace(&format!("{{{name}}}"), id);
        }
        // A path parameter with no real id: one that names nothing.
        while let (Some(a), Some(b)) = (path.find('{'), path.find('}')) {
            path.replace_range(a..=b, "00000000-0000-7000-8000-000000000000");
        }
        let mut keys = BTreeSet::new();
        for content in post["requestBody"]["content"].as_object().into_iter().flat_map(|c| c.values()) {
            collect_keys(schemas, &content["schema"], &mut keys, 0);
        }
        keys.extend(["kind", "identity", "email", "id", "role"].map(str::to_string));
        out.push(Operation { path, keys: keys.into_iter().collect() });
    }
    assert!(out.len() >= 20, "the document lists the POST operations: {}", out.len());
    Ok(out)
}

/// The property names of a schema and the schemas it refers to.
fn collect_keys(schemas: &Value, schema: &Value, keys: &mut BTreeSet<String>, depth: usize) {
    if depth > 6 {
        return;
    }
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        collect_keys(schemas, &schemas[name], keys, depth + 1);
    }
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            keys.insert(k.clone());
            collect_keys(schemas, v, keys, depth + 1);
        }
    }
    for list in ["allOf", "oneOf", "anyOf"] {
        for s in schema[list].as_array().into_iter().flatten() {
            collect_keys(schemas, s, keys, depth + 1);
        }
    }
    for nested in ["items", "additionalProperties"] {
        if schema[nested].is_object() {
            collect_keys(schemas, &schema[nested], keys, depth + 1);
        }
    }
}

fn fuzz_on(backend: Backend) -> R {
    let s = Server::start(backend)?;
    let dpo = s.token("dpo", None)?;
    let subject = s.create(&dpo, camille())?;
    let recipients = s.get(&dpo, "/api/v1/recipients", None)?.1;
    let recipient = recipients.as_array().and_then(|r| r.first()).and_then(|r| r["id"].as_str()).unwrap_or("saas_erp");
    let ids = [("id", subject.clone()), ("version", "1".to_string())];
    let mut ops = operations(&s, &ids)?;
    for op in &mut ops {
        if op.path.starts_with("/api/v1/recipients/") {
            op.path = op.path.replace(&subject, recipient);
        }
    }
    let url = |path: &str| format!("{}{path}", s.base);
    for op in &ops {
        // The dpo's token, or the admin's where a dpo is refused whatever the body.
        let (st, _) = s.post(&dpo, &op.path, json!({}))?;
        let token = if st == 403 { s.admin.clone() } else { dpo.clone() };
        let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
        let strategy = prop_oneof![
            4 => value(op.keys.clone()).prop_map(|v| (serde_json::to_vec(&v).unwrap_or_default(), true)),
            1 => raw_body().prop_map(|b| (b, false)),
            1 => raw_body().prop_map(|b| (b, true)),
        ];
        let outcome = runner.run(&strategy, |(body, purpose)| {
            let mut req = s
                .http
                .post(url(&op.path))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone());
            if purpose {
                req = req.header("Vigie-Purpose", "customer_relations");
            }
            let (status, answer) = s.send(req).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(status < 500, "POST {} answered {status}: {answer}", op.path);
            Ok(())
        });
        if let Err(e) = outcome {
            let log = std::fs::read_to_string(s.dir.join("server.log")).unwrap_or_default();
            let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
            return Err(
                format!("{backend:?} POST {}: {e}\nserver log (last lines, newest first):\n{tail}", op.path).into()
            );
        }
    }
    // The server still answers, and its trail is whole.
    let (st, _) = s.get(&dpo, "/api/v1/health", None)?;
    assert_eq!(st, 200);
    assert!(crate::support::verify(&s)?.0, "the audit trail verifies after the fuzzing");
    Ok(())
}

#[test]
fn fuzz_json_bodies_never_get_a_5xx() -> R {
    for backend in backends() {
        fuzz_on(backend)?;
    }
    Ok(())
}
