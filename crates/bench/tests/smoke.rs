//! A tiny run of the benchmarks through the real binary: each prints its summary
//! line, beside the raw store figure, and exits 0. On PostgreSQL too when
//! `VIGIE_TEST_DATABASE_URL` names a server (each run creates and drops its databases).

use std::process::Command;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Runs `vigie-bench ARGS` (on SQLite unless `database_url`) and returns its standard output.
fn bench(args: &[&str], database_url: Option<&str>) -> Result<String> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigie-bench"));
    c.args(args).env_remove("VIGIE_DATABASE_URL").env_remove("VIGIE_POLICY_FILE").env_remove("VIGIE_TRANSFERS_FILE");
    if let Some(url) = database_url {
        c.env("VIGIE_DATABASE_URL", url);
    }
    let out = c.output()?;
    let stdout = String::from_utf8(out.stdout)?;
    if !out.status.success() {
        return Err(format!(
            "vigie-bench {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(stdout)
}

fn has_line(out: &str, start: &str) -> bool {
    out.lines().any(|l| l.starts_with(start) && l.contains(" raw ") && l.contains("ratio "))
}

#[test]
fn import_and_retention_print_their_figures_beside_the_raw_cost() -> Result {
    let out = bench(&["import", "--count", "300"], None)?;
    assert!(has_line(&out, "import  sqlite    300 subjects"), "{out}");
    let out = bench(&["ops", "retention", "--count", "300", "--repeat", "2"], None)?;
    assert!(has_line(&out, "retention plan   sqlite"), "{out}");
    assert!(has_line(&out, "retention apply  sqlite"), "{out}");
    if let Some(url) = std::env::var("VIGIE_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        let out = bench(&["import", "--count", "300"], Some(&url))?;
        assert!(has_line(&out, "import  postgres  300 subjects"), "{out}");
    }
    Ok(())
}

#[test]
fn a_database_url_that_is_not_postgres_is_refused() -> Result {
    let out = Command::new(env!("CARGO_BIN_EXE_vigie-bench"))
        .args(["import", "--count", "1"])
        .env("VIGIE_DATABASE_URL", "mysql://localhost/x")
        .output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with postgres://"));
    Ok(())
}
