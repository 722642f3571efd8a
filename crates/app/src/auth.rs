//! Bearer tokens and roles (SPEC 4.5). Tokens are stored as hashes; a small
//! in-memory cache spares the database a lookup per request, and forgets an
//! entry after a short time so a revocation takes effect quickly.

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

const CACHE_TTL: Duration = Duration::from_secs(30);

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: Id,
    pub role: Role,
    /// For the `recipient` role: the policy recipient the token is bound to.
    pub recipient: Option<String>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::Token(self.token_id)
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
                "{what} requires the role {}; this token has the role {}",
                allowed.join(" or "),
                self.role
            )))
        }
    }
}

#[derive(Default)]
pub(crate) struct TokenCache(Mutex<HashMap<[u8; 32], (Principal, Instant)>>);

impl TokenCache {
    fn get(&self, hash: &[u8; 32]) -> Option<Principal> {
        let map = self.0.lock().ok()?;
        map.get(hash).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(p, _)| p.clone())
    }
    /// Forgets a token at once (its revocation on this instance).
    fn forget(&self, id: Id) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (p, _)| p.token_id != id);
        }
    }
    fn put(&self, hash: [u8; 32], p: Principal) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            }
            map.insert(hash, (p, Instant::now()));
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
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
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
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    /// Revokes a token (admin): refused from then on, on this instance at once, on others
    /// once their token cache expires (30 s). Audited.
    pub async fn revoke_token(&self, who: &Principal, id: Id) -> Result<()> {
        who.require(&[Role::Admin], "revoking a token")?;
        self.revoke_token_by(who.actor(), id).await
    }

    /// [`App::revoke_token`] by an actor already authorised (the command line).
    pub async fn revoke_token_by(&self, actor: Actor, id: Id) -> Result<()> {
        let revoked = self
            .db
            .audited(actor, move |tx, trail| {
                if !tx.revoke_token(id, trail.at)? {
                    return Err(AppError::NotFound(format!("token {id} (or it is already revoked)")));
                }
                let recorded = trail.record(tx, Entry::new("token.revoke").detail(format!("token:{id}")))?;
                Ok(((), recorded))
            })
            .await;
        self.tokens.forget(id);
        revoked
    }

    /// Resolves a bearer token to its principal.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let hash = vigie_crypto::token_hash(token);
        if let Some(p) = self.tokens.get(&hash) {
            return Ok(p);
        }
        let row = self.db.read(move |tx| tx.token_by_hash(&hash)).await?.ok_or(AppError::Unauthenticated)?;
        if row.revoked_at.is_some() {
            return Err(AppError::Unauthenticated);
        }
        let p = Principal { token_id: row.id, role: row.role, recipient: row.recipient };
        self.tokens.put(hash, p.clone());
        Ok(p)
    }

    /// Creates a token and returns it (the only time it is ever shown).
    /// `role` and `recipient` are checked against the roles and the policy.
    pub async fn create_token(&self, actor: Actor, role: &str, recipient: Option<&str>) -> Result<(Id, String)> {
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
        let row = TokenRow { id: new_id(), hash: hash.to_vec(), role, recipient, created_at: at, revoked_at: None };
        let id = row.id;
        self.db
            .audited(actor.clone(), move |tx, trail| {
                tx.insert_token(&row)?;
                let detail = match &row.recipient {
                    Some(r) => format!("role={} recipient={r}", row.role),
                    None => format!("role={}", row.role),
                };
                let recorded = trail.record(tx, Entry::new("token.create").detail(format!("token:{id} {detail}")))?;
                Ok(((), recorded))
            })
            .await?;
        Ok((id, token))
    }

    /// [`App::create_token`] for the CLI.
    pub fn create_token_blocking(&self, role: &str, recipient: Option<&str>) -> Result<(Id, String)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AppError::failed("starting a runtime", e))?;
        rt.block_on(self.create_token(Actor::Cli, role, recipient))
    }

    /// On a fresh database, creates the first admin token and returns it; otherwise None.
    pub async fn bootstrap_admin(&self) -> Result<Option<String>> {
        let count = self.db.read(|tx| tx.count_tokens()).await?;
        if count > 0 {
            return Ok(None);
        }
        let (_, token) = self.create_token(Actor::System, "admin", None).await?;
        Ok(Some(token))
    }
}
