//! Bearer tokens and roles (SPEC 4.5). Tokens are stored as hashes; a small
//! in-memory cache spares the database a lookup per request, and forgets an
//! entry after a second, so that a revocation on another instance takes effect
//! within a second (on the revoking instance, at once). A token may expire;
//! its last use is recorded to the minute. Creating or revoking a token of a
//! role that reads personal data is audited and notified to the DPO.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::error::{AppError, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vigie_domain::access::{Caller, Role};
use vigie_domain::policy::RecipientKind;
use vigie_store::{Id, TokenRow, new_id};

/// Roles that record and change subjects and what is disclosed of them: the employees.
pub const WRITERS: &[Role] = &[Role::Staff, Role::Dpo];

const CACHE_TTL: Duration = Duration::from_secs(1);

/// How often a token's last use is written: its precision.
const LAST_USED_PRECISION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The notice to the DPO of a token that reads personal data, created or revoked.
pub const TOKEN_NOTICE: &str = "dpo_token";

/// The longest a token may be made to last (`--expires-in`): about ten years.
const MAX_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(3660);

/// What authenticated a caller: a bearer token (machines), or a person's account (a console session).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Token(Id),
    Account(Id),
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub by: By,
    pub role: Role,
    /// For the `recipient` role: the policy recipient the token is bound to.
    pub recipient: Option<String>,
}

impl Principal {
    /// The caller as the audit trail names it: `token:<id>` or `user:<id>`.
    pub fn actor(&self) -> Actor {
        match self.by {
            By::Token(id) => Actor::Token(id),
            By::Account(id) => Actor::User(id),
        }
    }
    /// The token that authenticated the caller, if a token did.
    pub fn token_id(&self) -> Option<Id> {
        match self.by {
            By::Token(id) => Some(id),
            By::Account(_) => None,
        }
    }
    pub fn caller(&self) -> Caller<'_> {
        Caller { role: self.role, recipient: self.recipient.as_deref() }
    }
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(AppError::Forbidden(format!(
                "{what} requires the role {}; the caller has the role {}",
                allowed.join(" or "),
                self.role
            )))
        }
    }
}

/// A cached token: who it is, until when it is valid, and when it was cached.
type Cached = (Principal, Option<chrono::DateTime<chrono::Utc>>, Instant);

#[derive(Default)]
pub(crate) struct TokenCache(Mutex<HashMap<[u8; 32], Cached>>);

impl TokenCache {
    fn get(&self, hash: &[u8; 32]) -> Option<(Principal, Option<chrono::DateTime<chrono::Utc>>)> {
        let map = self.0.lock().ok()?;
        map.get(hash).filter(|(_, _, at)| at.elapsed() < CACHE_TTL).map(|(p, e, _)| (p.clone(), *e))
    }
    /// Forgets a token at once (its revocation on this instance).
    fn forget(&self, id: Id) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (p, _, _)| p.by != By::Token(id));
        }
    }
    fn put(&self, hash: [u8; 32], p: Principal, expires: Option<chrono::DateTime<chrono::Utc>>) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (_, _, at)| at.elapsed() < CACHE_TTL);
            }
            map.insert(hash, (p, expires, Instant::now()));
        }
    }
}

/// A token as the admin sees it: never its secret or hash.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Id,
    pub role: Role,
    pub recipient: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it last authenticated a request, to the minute; null if never.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it stops being accepted; null if it does not expire.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A token just made: the only time its secret is shown.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: Id,
    pub token: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Whether a role's tokens read personal data: their creation and revocation are notified to the DPO.
fn reads_personal_data(role: Role) -> bool {
    matches!(role, Role::Dpo | Role::Staff | Role::Recipient)
}

/// Parses a token lifetime: a number and a unit, `s`, `m`, `h`, `d` or `w` (`90d`, `12h`,
/// `1s`), more than zero and at most about ten years.
pub fn parse_lifetime(text: &str) -> Result<chrono::TimeDelta> {
    let bad = || {
        AppError::invalid(
            "expires_in",
            "expected a duration such as 90d, 12h, 30m or 1s (a whole number and one of s, m, h, d, w), at most 3660d",
        )
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    let seconds = n.checked_mul(unit).ok_or_else(bad)?;
    let lifetime = chrono::TimeDelta::try_seconds(seconds).ok_or_else(bad)?;
    if seconds <= 0 || lifetime > MAX_LIFETIME {
        return Err(bad());
    }
    Ok(lifetime)
}

impl App {
    /// Every token, oldest first (admin).
    pub async fn list_tokens(&self, who: &Principal) -> Result<Vec<TokenView>> {
        who.require(&[Role::Admin], "listing tokens")?;
        self.list_tokens_by().await
    }

    /// [`App::list_tokens`] for the command line.
    pub async fn list_tokens_by(&self) -> Result<Vec<TokenView>> {
        let rows = self.db.read(|tx| tx.tokens()).await?;
        Ok(rows
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                role: t.role,
                recipient: t.recipient,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                expires_at: t.expires_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    /// Revokes a token (admin): refused from then on, on this instance at once, on others
    /// within a second (their token cache). Audited; notified to the DPO when the token
    /// read personal data.
    pub async fn revoke_token(&self, who: &Principal, id: Id) -> Result<()> {
        who.require(&[Role::Admin], "revoking a token")?;
        self.revoke_token_by(who.actor(), id).await
    }

    /// [`App::revoke_token`] by an actor already authorised (the command line).
    pub async fn revoke_token_by(&self, actor: Actor, id: Id) -> Result<()> {
        let revoked = self
            .db
            .audited(actor, move |tx, trail| {
                let token = tx.tokens()?.into_iter().find(|t| t.id == id);
                let gone = || AppError::NotFound(format!("token {id} (or it is already revoked)"));
                let token = token.ok_or_else(gone)?;
                if !tx.revoke_token(id, trail.at)? {
                    return Err(gone());
                }
                let recorded = trail.record(tx, Entry::new("token.revoke").detail(format!("token:{id}")))?;
                if reads_personal_data(token.role) {
                    notify_dpo(tx, &token, "revoked", trail.at)?;
                }
                Ok(((), recorded))
            })
            .await;
        self.tokens.forget(id);
        revoked
    }

    /// Resolves a bearer token to its principal.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let hash = vigie_crypto::token_hash(token);
        let now = self.now();
        let expired = |expires: Option<chrono::DateTime<chrono::Utc>>| expires.is_some_and(|e| e <= now);
        if let Some((p, expires)) = self.tokens.get(&hash) {
            return if expired(expires) { Err(AppError::Unauthenticated) } else { Ok(p) };
        }
        let row = self.db.read(move |tx| tx.token_by_hash(&hash)).await?.ok_or(AppError::Unauthenticated)?;
        if row.revoked_at.is_some() || expired(row.expires_at) {
            return Err(AppError::Unauthenticated);
        }
        let p = Principal { by: By::Token(row.id), role: row.role, recipient: row.recipient };
        self.tokens.put(hash, p.clone(), row.expires_at);
        // The last use, to the minute: at most one write a minute per token and instance,
        // off the request's path (a failure to record it refuses nothing).
        if row.last_used_at.is_none_or(|t| now - t >= LAST_USED_PRECISION) {
            let (db, id) = (self.db.clone(), row.id);
            tokio::spawn(async move {
                if let Err(e) = db.bookkeeping(move |b| b.touch_token(id, now)).await {
                    tracing::debug!(error = %e, token = %id, "a token's last use was not recorded");
                }
            });
        }
        Ok(p)
    }

    /// Creates a token and returns it (the only time it is ever shown).
    /// `role` and `recipient` are checked against the roles and the policy.
    /// `expires_in` bounds its life (see [`parse_lifetime`]).
    pub async fn create_token(
        &self,
        actor: Actor,
        role: &str,
        recipient: Option<&str>,
        expires_in: Option<chrono::TimeDelta>,
    ) -> Result<IssuedToken> {
        let role: Role = role.parse().map_err(|_| {
            AppError::invalid("role", format!("`{role}` is not a role (expected one of: {})", Role::expected()))
        })?;
        let recipient = match (role, recipient) {
            (Role::Recipient, None) => {
                return Err(AppError::invalid(
                    "recipient",
                    "a recipient token must name the policy recipient it is bound to",
                ));
            }
            (Role::Recipient, Some(id)) => match self.policy().recipient(id) {
                Some(r) if r.kind == RecipientKind::External => Some(id.to_string()),
                Some(_) => {
                    return Err(AppError::invalid(
                        "recipient",
                        format!("`{id}` is an internal recipient: use the staff role"),
                    ));
                }
                None => {
                    let policy = self.policy();
                    let known: Vec<&str> = policy
                        .recipients
                        .iter()
                        .filter(|r| r.kind == RecipientKind::External)
                        .map(|r| r.id.as_str())
                        .collect();
                    return Err(AppError::invalid(
                        "recipient",
                        format!("`{id}` is not a recipient of the policy (external recipients: {})", known.join(", ")),
                    ));
                }
            },
            (_, Some(_)) => {
                return Err(AppError::invalid(
                    "recipient",
                    "only a token of the recipient role is bound to a recipient",
                ));
            }
            (_, None) => None,
        };
        let (token, hash) = vigie_crypto::new_token()?;
        let at = self.now();
        let row = TokenRow {
            id: new_id(),
            hash: hash.to_vec(),
            role,
            recipient,
            created_at: at,
            revoked_at: None,
            expires_at: expires_in.map(|d| at + d),
            last_used_at: None,
        };
        let (id, expires_at) = (row.id, row.expires_at);
        self.db
            .audited(actor.clone(), move |tx, trail| {
                tx.insert_token(&row)?;
                let detail = match &row.recipient {
                    Some(r) => format!("role={} recipient={r}", row.role),
                    None => format!("role={}", row.role),
                };
                let detail = match row.expires_at {
                    Some(e) => format!("token:{id} {detail} expires={}", e.to_rfc3339()),
                    None => format!("token:{id} {detail}"),
                };
                let recorded = trail.record(tx, Entry::new("token.create").detail(detail))?;
                if reads_personal_data(row.role) {
                    notify_dpo(tx, &row, "created", trail.at)?;
                }
                Ok(((), recorded))
            })
            .await?;
        Ok(IssuedToken { id, token, expires_at })
    }

    /// [`App::create_token`] for the CLI.
    pub fn create_token_blocking(
        &self,
        role: &str,
        recipient: Option<&str>,
        expires_in: Option<chrono::TimeDelta>,
    ) -> Result<IssuedToken> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AppError::failed("starting a runtime", e))?;
        rt.block_on(self.create_token(Actor::Cli, role, recipient, expires_in))
    }

    /// On a fresh database, creates the first admin token and returns it; otherwise None.
    pub async fn bootstrap_admin(&self) -> Result<Option<String>> {
        let count = self.db.read(|tx| tx.count_tokens()).await?;
        if count > 0 {
            return Ok(None);
        }
        let issued = self.create_token(Actor::System, "admin", None, None).await?;
        Ok(Some(issued.token))
    }
}

/// Queues the notice to the DPO that a token reading personal data was created or revoked.
fn notify_dpo(
    tx: &mut dyn vigie_store::Tx,
    token: &TokenRow,
    action: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let params = serde_json::json!({
        "token": token.id.to_string(),
        "role": token.role.as_str(),
        "recipient": token.recipient,
        "action": action,
        "at": at.to_rfc3339(),
        "expires_at": token.expires_at.map(|e| e.to_rfc3339()),
    });
    tx.queue_message(&vigie_store::NewMessage {
        idempotency_key: format!("token:{}:{action}", token.id),
        subject_id: None,
        recipient: None,
        template: TOKEN_NOTICE.into(),
        params: params.to_string(),
        at,
    })?;
    Ok(())
}
