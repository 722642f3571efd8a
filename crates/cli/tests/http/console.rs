//! The console over plain HTTP (both backends): accounts made by the CLI, `/login`, sessions
//! in cookies, the forced password change, CSRF on every form, roles per page, throttled
//! failures, idle expiry, logout, and the admin's pages. The browser tests (`browser.rs`)
//! drive the same pages in Chromium.

use crate::support::{Backend, R, Server, backends, count, files};
use reqwest::blocking::{Client, Response};
use std::io::Write;
use std::process::Stdio;

pub(crate) fn client() -> R<Client> {
    Ok(Client::builder().redirect(reqwest::redirect::Policy::none()).build()?)
}

/// `vigie user create`: the generated password (alone on one line), or the one given on stdin.
pub(crate) fn user(s: &Server, email: &str, role: &str, password: Option<&str>) -> R<String> {
    let mut c = s.cli();
    c.args(["user", "create", "--email", email, "--role", role]);
    if password.is_some() {
        c.arg("--password-stdin");
    }
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    if let Some(p) = password {
        child.stdin.take().ok_or("stdin")?.write_all(format!("{p}\n").as_bytes())?;
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output()?;
    assert!(out.status.success(), "user create: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    match password {
        Some(p) => {
            assert!(text.is_empty(), "a chosen password is not printed: {text}");
            Ok(p.to_string())
        }
        None => {
            assert_eq!(text.lines().count(), 1, "the password alone on one line: {text}");
            Ok(text.trim().to_string())
        }
    }
}

/// The session cookie a response sets, with its attributes.
pub(crate) fn set_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("vigie_session="))
        .map(str::to_string)
}

/// `vigie_session=…` for a Cookie header.
pub(crate) fn cookie_pair(set: &str) -> String {
    set.split(';').next().unwrap_or("").to_string()
}

pub(crate) fn login(s: &Server, email: &str, password: &str) -> R<Response> {
    Ok(client()?.post(format!("{}/login", s.base)).form(&[("email", email), ("password", password)]).send()?)
}

/// Logs in and returns the Cookie header's value.
pub(crate) fn session(s: &Server, email: &str, password: &str) -> R<String> {
    let r = login(s, email, password)?;
    assert_eq!(r.status().as_u16(), 303, "login of {email}");
    Ok(cookie_pair(&set_cookie(&r).ok_or("no cookie")?))
}

pub(crate) fn get(s: &Server, cookie: &str, path: &str) -> R<(u16, String, Option<String>)> {
    let r = client()?.get(format!("{}{path}", s.base)).header("Cookie", cookie).send()?;
    let status = r.status().as_u16();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
    Ok((status, r.text()?, location))
}

pub(crate) fn post(s: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> R<(u16, String, Option<String>)> {
    let r = client()?.post(format!("{}{path}", s.base)).header("Cookie", cookie).form(form).send()?;
    let status = r.status().as_u16();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
    Ok((status, r.text()?, location))
}

/// The CSRF token of a page's forms.
pub(crate) fn csrf(html: &str) -> R<String> {
    let at = html.find("name=\"csrf\" value=\"").ok_or("no csrf field")? + "name=\"csrf\" value=\"".len();
    Ok(html[at..].split('"').next().ok_or("csrf")?.to_string())
}

#[test]
fn login_sessions_and_csrf() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        // Without a session, every console path, existing or not, leads to /login.
        for path in ["/console/", "/console/users", "/console/no-such-page", "/console/requests/x"] {
            let (st, _, to) = get(&s, "vigie_session=0000", path)?;
            assert_eq!((st, to.as_deref()), (303, Some("/login")), "{path}");
        }
        let (st, html, _) = get(&s, "", "/login")?;
        assert_eq!(st, 200);
        for needle in [
            "<label for=\"email\">",
            "id=\"email\" name=\"email\"",
            "<label for=\"password\">",
            "id=\"password\" name=\"password\"",
        ] {
            assert!(html.contains(needle), "{needle}: {html}");
        }
        let first = user(&s, "Dominique.DPO@example.fr", "dpo", None)?;
        assert_eq!(first.len(), 23, "{first}");
        // A duplicate is refused, whatever the case.
        let out =
            s.cli().args(["user", "create", "--email", "dominique.dpo@EXAMPLE.fr", "--role", "staff"]).output()?;
        assert!(!out.status.success() && out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

        // A wrong password and an unknown email: the same 401 page, no cookie.
        let wrong = login(&s, "dominique.dpo@example.fr", "not the password")?;
        assert_eq!(wrong.status().as_u16(), 401);
        assert!(set_cookie(&wrong).is_none());
        let wrong = wrong.text()?;
        let unknown = login(&s, "nobody@example.fr", &first)?;
        assert_eq!(unknown.status().as_u16(), 401);
        assert!(set_cookie(&unknown).is_none());
        assert_eq!(unknown.text()?, wrong, "the answer does not say which was wrong");
        assert!(wrong.contains("Adresse électronique ou mot de passe incorrect"));
        assert!(!wrong.contains("dominique"), "the email is not echoed");

        // Another site cannot post the login form.
        let cross = client()?
            .post(format!("{}/login", s.base))
            .header("Origin", "https://evil.example")
            .form(&[("email", "dominique.dpo@example.fr"), ("password", first.as_str())])
            .send()?;
        assert_eq!(cross.status().as_u16(), 403);
        assert!(set_cookie(&cross).is_none());
        let cross = client()?
            .post(format!("{}/login", s.base))
            .header("Sec-Fetch-Site", "cross-site")
            .form(&[("email", "dominique.dpo@example.fr"), ("password", first.as_str())])
            .send()?;
        assert_eq!(cross.status().as_u16(), 403);

        // The right password: 303 to /console/, a strict cookie; Secure behind an HTTPS proxy.
        let ok = login(&s, "dominique.dpo@example.fr", &first)?;
        assert_eq!(ok.status().as_u16(), 303);
        assert_eq!(ok.headers().get("location").and_then(|v| v.to_str().ok()), Some("/console/"));
        let set = set_cookie(&ok).ok_or("cookie")?;
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attr), "{set}");
        }
        assert!(!set.contains("Secure"), "plain HTTP: {set}");
        let proxied = client()?
            .post(format!("{}/login", s.base))
            .header("X-Forwarded-Proto", "https")
            .form(&[("email", "dominique.dpo@example.fr"), ("password", first.as_str())])
            .send()?;
        assert!(set_cookie(&proxied).is_some_and(|c| c.contains("; Secure")));
        let c = cookie_pair(&set);
        let secret = c.trim_start_matches("vigie_session=").to_string();
        assert_eq!(secret.len(), 64);

        // A generated password opens nothing but the page that replaces it.
        for path in ["/console/", "/console/requests", "/console/users"] {
            assert_eq!(get(&s, &c, path)?.2.as_deref(), Some("/console/password"), "{path}");
        }
        let (st, html, _) = get(&s, &c, "/console/password")?;
        assert_eq!(st, 200);
        let token = csrf(&html)?;
        let new = "correct horse battery";
        let form = |t: &'static str| -> Vec<(&'static str, String)> {
            vec![
                ("csrf", t.to_string()),
                ("current_password", first.clone()),
                ("new_password", new.into()),
                ("confirm", new.into()),
            ]
        };
        // CSRF: without the token, with a wrong one, or from another site: 403, nothing changed.
        let without: Vec<(&str, String)> = form("").into_iter().filter(|(k, _)| *k != "csrf").collect();
        let r = client()?.post(format!("{}/console/password", s.base)).header("Cookie", &c).form(&without).send()?;
        assert_eq!(r.status().as_u16(), 403);
        let r =
            client()?.post(format!("{}/console/password", s.base)).header("Cookie", &c).form(&form("0123")).send()?;
        assert_eq!(r.status().as_u16(), 403);
        let mut good = form("");
        good[0].1 = token.clone();
        let r = client()?
            .post(format!("{}/console/password", s.base))
            .header("Cookie", &c)
            .header("Origin", "https://evil.example")
            .form(&good)
            .send()?;
        assert_eq!(r.status().as_u16(), 403);
        assert_eq!(get(&s, &c, "/console/")?.2.as_deref(), Some("/console/password"), "still to change");
        // Too short, mismatched, wrong current password: the form again, saying why.
        let (st, html, _) = post(
            &s,
            &c,
            "/console/password",
            &[("csrf", &token), ("current_password", &first), ("new_password", "short"), ("confirm", "short")],
        )?;
        assert_eq!(st, 400);
        assert!(html.contains("au moins 12 caractères"), "{html}");
        let (st, _, _) = post(
            &s,
            &c,
            "/console/password",
            &[("csrf", &token), ("current_password", "nope nope nope"), ("new_password", new), ("confirm", new)],
        )?;
        assert_eq!(st, 400);
        let r = client()?.post(format!("{}/console/password", s.base)).header("Cookie", &c).form(&good).send()?;
        assert_eq!(r.status().as_u16(), 303);
        assert!(login(&s, "dominique.dpo@example.fr", &first)?.status().as_u16() == 401, "the old password is gone");

        // The DPO's home, and a page of another role: 403 with the rule.
        let (st, html, _) = get(&s, &c, "/console/")?;
        assert_eq!(st, 200);
        assert!(html.contains("Ce qui vous attend aujourd&#39;hui") && html.contains("Effacements à venir"), "{html}");
        assert!(!html.contains("/console/users"), "no admin entry in a DPO's navigation");
        let (st, html, _) = get(&s, &c, "/console/users")?;
        assert_eq!(st, 403);
        assert!(html.contains("réservée au rôle Administrateur"), "{html}");
        let (st, _, _) = get(&s, &c, "/console/no-such-page")?;
        assert_eq!(st, 404);
        let (st, html, _) = get(&s, &c, "/console/?lang=en")?;
        assert!(st == 200 && html.contains("What needs you today"), "{html}");

        // The session is stored hashed: its id is nowhere in the database.
        assert_eq!(count(&s, "SELECT count(*) FROM sessions")?, 1, "a password change ends the other sessions");
        if b == Backend::Sqlite {
            for (path, bytes) in files(&s.dir.join("data")) {
                assert!(!crate::support::contains(&bytes, secret.as_bytes()), "{} holds a session id", path.display());
                assert!(!crate::support::contains(&bytes, b"dominique"), "{} holds an email", path.display());
            }
        }

        // Logout needs the token; then the session is gone.
        let (st, _, _) = post(&s, &c, "/logout", &[])?;
        assert_eq!(st, 403);
        let r = client()?
            .post(format!("{}/logout", s.base))
            .header("Cookie", &c)
            .form(&[("csrf", token.as_str())])
            .send()?;
        assert_eq!(r.status().as_u16(), 303);
        assert!(set_cookie(&r).is_some_and(|v| v.contains("Max-Age=0")), "the cookie is cleared");
        assert_eq!(get(&s, &c, "/console/")?.2.as_deref(), Some("/login"));
        assert_eq!(count(&s, "SELECT count(*) FROM sessions")?, 0);

        // The trail names the account by id, never an email or a password.
        let leaked = count(
            &s,
            "SELECT count(*) FROM audit WHERE detail LIKE '%example%' OR detail LIKE '%correct horse%' OR actor LIKE '%@%'",
        )?;
        assert_eq!(leaked, 0);
        let logins = count(
            &s,
            "SELECT count(*) FROM audit WHERE action IN ('account.login', 'account.login_failed', 'account.logout', 'account.password_change')",
        )?;
        assert!(logins >= 7, "{logins}");
        assert!(crate::support::verify(&s)?.0);
    }
    Ok(())
}

#[test]
fn repeated_failures_are_throttled() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let pw = user(&s, "staff@example.fr", "staff", Some("a password of my own"))?;
        for _ in 0..5 {
            assert_eq!(login(&s, "staff@example.fr", "wrong wrong wrong")?.status().as_u16(), 401);
        }
        let r = login(&s, "staff@example.fr", "wrong wrong wrong")?;
        assert_eq!(r.status().as_u16(), 429);
        let wait: u64 =
            r.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).ok_or("retry-after")?;
        assert!(wait >= 1);
        // Refused before the password is checked, right or not.
        let r = login(&s, "STAFF@example.fr", &pw)?;
        assert_eq!(r.status().as_u16(), 429);
        assert!(set_cookie(&r).is_none());
        // Another account from the same address still logs in, until the address's quota is spent.
        let other = user(&s, "other@example.fr", "auditor", Some("another password here"))?;
        assert_eq!(login(&s, "other@example.fr", &other)?.status().as_u16(), 303);
        let mut statuses = Vec::new();
        for i in 0..20 {
            statuses.push(login(&s, &format!("guess{i}@example.fr"), "wrong wrong wrong")?.status().as_u16());
        }
        assert!(statuses.contains(&429), "one address is throttled too: {statuses:?}");
        assert_eq!(login(&s, "other@example.fr", &other)?.status().as_u16(), 429);
    }
    Ok(())
}

#[test]
fn idle_sessions_expire_and_are_deleted() -> R {
    for b in backends() {
        let s = Server::start_with(b, &["--session-idle", "1s"])?;
        let pw = user(&s, "auditor@example.fr", "auditor", Some("a password of my own"))?;
        let c = session(&s, "auditor@example.fr", &pw)?;
        let (st, html, _) = get(&s, &c, "/console/")?;
        assert_eq!(st, 200);
        assert!(html.contains("/console/register") && html.contains("/console/audit"), "the auditor's links");
        assert!(!html.contains("/console/requests"), "no DPO entry for an auditor");
        // Unused for longer than the idle time: expired, and its row deleted.
        std::thread::sleep(std::time::Duration::from_millis(2500));
        assert_eq!(get(&s, &c, "/console/")?.2.as_deref(), Some("/login"));
        assert_eq!(count(&s, "SELECT count(*) FROM sessions")?, 0);
        // Another one, never asked for again, is purged by the server all the same.
        session(&s, "auditor@example.fr", &pw)?;
        assert_eq!(count(&s, "SELECT count(*) FROM sessions")?, 1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while count(&s, "SELECT count(*) FROM sessions")? > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        assert_eq!(count(&s, "SELECT count(*) FROM sessions")?, 0, "purged without a request");
        let out = s.cli().args(["serve", "--session-idle", "2 weeks"]).output()?;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--session-idle"));
    }
    Ok(())
}

#[test]
fn the_admin_manages_accounts_and_tokens() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let pw = user(&s, "admin@example.fr", "admin", Some("the admin's own password"))?;
        let old = session(&s, "admin@example.fr", &pw)?;
        // A login from a browser that still holds a session: a new id, the old one ended.
        let r = client()?
            .post(format!("{}/login", s.base))
            .header("Cookie", &old)
            .form(&[("email", "admin@example.fr"), ("password", pw.as_str())])
            .send()?;
        assert_eq!(r.status().as_u16(), 303);
        let c = cookie_pair(&set_cookie(&r).ok_or("cookie")?);
        assert_ne!(c, old);
        assert_eq!(get(&s, &old, "/console/")?.2.as_deref(), Some("/login"));
        assert_eq!(count(&s, "SELECT count(*) FROM sessions")?, 1);
        let (st, html, _) = get(&s, &c, "/console/users")?;
        assert_eq!(st, 200);
        assert!(html.contains("admin@example.fr") && !html.contains("$argon2"), "{html}");
        let token = csrf(&html)?;
        // Create: the first password shown once; a duplicate and a bad email refused.
        let (st, html, _) =
            post(&s, &c, "/console/users", &[("csrf", &token), ("email", "Staff.One@example.fr"), ("role", "staff")])?;
        assert_eq!(st, 201, "{html}");
        let shown = html.split("<code class=\"secret\">").nth(1).and_then(|r| r.split('<').next()).ok_or("shown")?;
        assert_eq!(login(&s, "staff.one@example.fr", shown)?.status().as_u16(), 303);
        let (st, html, _) =
            post(&s, &c, "/console/users", &[("csrf", &token), ("email", "staff.one@example.fr"), ("role", "dpo")])?;
        assert!(st == 409 && html.contains("existe déjà"), "{st}");
        let (st, _, _) = post(&s, &c, "/console/users", &[("csrf", &token), ("email", "nope"), ("role", "dpo")])?;
        assert_eq!(st, 400);
        let (st, _, _) =
            post(&s, &c, "/console/users", &[("csrf", &token), ("email", "r@example.fr"), ("role", "recipient")])?;
        assert_eq!(st, 400);
        let (st, _, _) = post(&s, &c, "/console/users", &[("email", "x@example.fr"), ("role", "dpo")])?;
        assert_eq!(st, 403, "no CSRF token");
        // The token may come in a header instead (htmx), never from another session.
        let r = client()?
            .post(format!("{}/console/users", s.base))
            .header("Cookie", &c)
            .header("X-CSRF-Token", &token)
            .form(&[("email", "by.header@example.fr"), ("role", "auditor")])
            .send()?;
        assert_eq!(r.status().as_u16(), 201);
        let r = client()?
            .post(format!("{}/console/users", s.base))
            .header("Cookie", &old)
            .header("X-CSRF-Token", &token)
            .form(&[("email", "other.session@example.fr"), ("role", "auditor")])
            .send()?;
        assert_eq!(r.status().as_u16(), 303, "the old session is gone: to /login, nothing done");
        // The CLI lists what the console made: email, role, state; never a hash.
        let out = s.cli().args(["user", "list"]).output()?;
        let list = String::from_utf8(out.stdout)?;
        assert!(list.contains("staff.one@example.fr") && list.contains("must_change_password"), "{list}");
        assert!(!list.contains("argon2"));
        let id =
            list.lines().find(|l| l.contains("staff.one")).and_then(|l| l.split_whitespace().next()).ok_or("id")?;
        // Reset: a new password, the old one refused; disable: refused at login.
        let (st, html, _) = post(&s, &c, &format!("/console/users/{id}/reset"), &[("csrf", &token)])?;
        assert_eq!(st, 200);
        let again = html.split("<code class=\"secret\">").nth(1).and_then(|r| r.split('<').next()).ok_or("shown")?;
        assert_ne!(again, shown);
        assert_eq!(login(&s, "staff.one@example.fr", shown)?.status().as_u16(), 401);
        let (st, _, _) = post(&s, &c, &format!("/console/users/{id}/disable"), &[("csrf", &token)])?;
        assert_eq!(st, 200);
        assert_eq!(login(&s, "staff.one@example.fr", again)?.status().as_u16(), 401);
        let (st, _, _) = post(&s, &c, &format!("/console/users/{id}/disable"), &[("csrf", &token)])?;
        assert_eq!(st, 404, "already disabled");
        let out = s.cli().args(["user", "reset-password", "staff.one@example.fr"]).output()?;
        assert!(!out.status.success(), "a disabled account is not reset");
        // Tokens: create with an expiry (shown once, and it works), revoke.
        let (st, html, _) = get(&s, &c, "/console/tokens")?;
        assert_eq!(st, 200);
        let (st, html2, _) =
            post(&s, &c, "/console/tokens", &[("csrf", &token), ("role", "auditor"), ("expires_in", "7d")])?;
        assert_eq!(st, 201, "{html}");
        let secret = html2.split("<code class=\"secret\">").nth(1).and_then(|r| r.split('<').next()).ok_or("token")?;
        assert_eq!(s.get(secret, "/api/v1/audit/verify", None)?.0, 200);
        let (st, _, _) =
            post(&s, &c, "/console/tokens", &[("csrf", &token), ("role", "auditor"), ("expires_in", "forever")])?;
        assert_eq!(st, 400);
        let (st, _, _) = post(&s, &c, "/console/tokens", &[("csrf", &token), ("role", "recipient")])?;
        assert_eq!(st, 400, "a recipient token names its recipient");
        let (_, tokens, _) = get(&s, &c, "/console/tokens")?;
        let token_id = tokens
            .split("/console/tokens/")
            .filter_map(|r| r.split('/').next())
            .last()
            .ok_or("a token to revoke")?
            .to_string();
        let (st, _, _) = post(&s, &c, &format!("/console/tokens/{token_id}/revoke"), &[("csrf", &token)])?;
        assert_eq!(st, 200);
        // The admin's pages are the admin's: a staff member is refused with the rule.
        let staff = user(&s, "staff.two@example.fr", "staff", Some("staff two's password"))?;
        let sc = session(&s, "staff.two@example.fr", &staff)?;
        let (st, html, _) = get(&s, &sc, "/console/tokens")?;
        assert!(st == 403 && html.contains("Administrateur"), "{st}");
        // Another session's token is no token: the staff's form with the admin's is refused.
        let (st, _, _) = post(
            &s,
            &sc,
            "/console/password",
            &[
                ("csrf", &token),
                ("current_password", &staff),
                ("new_password", "stolen password!"),
                ("confirm", "stolen password!"),
            ],
        )?;
        assert_eq!(st, 403);
        assert_eq!(login(&s, "staff.two@example.fr", &staff)?.status().as_u16(), 303, "unchanged");
        let (st, html, _) = get(&s, &sc, "/console/subjects")?;
        assert_eq!(st, 200, "the staff's page");
        assert!(html.contains("<h1>Personnes</h1>"));
        let (_, home, _) = get(&s, &sc, "/console/")?;
        assert!(home.contains("href=\"/console/subjects\""));
        // Every account event is in the trail, by account id only.
        for action in ["account.create", "account.reset_password", "account.disable", "token.create", "token.revoke"] {
            let n = count(&s, &format!("SELECT count(*) FROM audit WHERE action = '{action}'"))?;
            assert!(n >= 1, "{action}");
        }
        let by_user = count(&s, "SELECT count(*) FROM audit WHERE actor LIKE 'user:%'")?;
        assert!(by_user >= 5, "the admin's actions name the account: {by_user}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE detail LIKE '%@%'")?, 0);
    }
    Ok(())
}
