//! Vigie's cryptography, in one small crate so that a reviewer reads it whole.
//!
//! - A **master key** lives in a file outside the database (0600). Three
//!   sub-keys are derived from it with HMAC-SHA-256 over fixed labels: the key
//!   that wraps subject keys, the blind-index key, and the audit-chain key.
//! - Each subject has its own random 256-bit **subject key**, stored only
//!   wrapped (AES-256-GCM under the wrapping key, bound to the subject id).
//!   Deleting the wrapped key makes every sealed value of that subject, in
//!   the database and in any copy of it, unreadable: crypto-shredding.
//! - Every personal value is **sealed** with AES-256-GCM under its subject's
//!   key, a fresh random nonce, and associated data naming the subject and the
//!   field, so a sealed value cannot be moved to another subject or field. The
//!   associated data is a [`Context`], encoded with a version byte and each part
//!   length-prefixed; values sealed before that version open too (see [`Context`]).
//! - Lookups use a **blind index**: a keyed HMAC of the normalised value.
//! - Tokens are 256-bit random secrets; only their SHA-256 is stored. Console sessions
//!   too, and a session's CSRF token is derived from its secret.
//! - People's passwords are hashed with argon2id (OWASP's parameters: 19 MiB, 2 passes,
//!   1 lane), each with its own random salt.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use std::io::Write;
use std::path::Path;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Length of a blind index, in bytes (128 bits: no collision among billions).
pub const BLIND_INDEX_LEN: usize = 16;
/// Length of a key, in bytes.
pub const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the master key file {path} cannot be read: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("a sealed value failed authentication (altered, moved, or sealed under another key)")]
    Open,
    #[error("the system random generator failed")]
    Random,
    #[error("a password could not be hashed")]
    Password,
}

fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    SystemRandom::new().fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

fn aead_key(bytes: &[u8]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, bytes).map(LessSafeKey::new).map_err(|_| CryptoError::Open)
}

/// Seals `plaintext` under `key`: `nonce || ciphertext || tag`.
fn seal_with(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce_bytes: [u8; NONCE_LEN] = random()?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(plaintext);
    let mut body = out.split_off(NONCE_LEN);
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(aad), &mut body)
        .map_err(|_| CryptoError::Random)?;
    out.extend_from_slice(&body);
    Ok(out)
}

fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
    let mut buf = body.to_vec();
    let len = key.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| CryptoError::Open)?.len();
    buf.truncate(len);
    Ok(buf)
}

/// What a sealed value is: the associated data that binds it to the record whose key
/// seals it (`owner`: a subject, a rights request, a breach), to its part of that
/// record, and to the item of the part it belongs to (a contract, an interaction, a
/// consent), so that it cannot be moved to another owner, part or item.
///
/// Encoded ([`Context::bytes_v2`]) as the version byte 2, then the owner, the part's
/// label and the item (empty when there is none), each preceded by its length (two
/// bytes, big-endian): no two contexts share an encoding.
///
/// Releases before it sealed under the owner's bytes, the label and the item's bytes
/// run together (version 1), where a label and an item could trade bytes ("a" and an
/// item starting with "b", "ab" and the rest). [`SubjectKey::open`] still opens those
/// values; [`SubjectKey::seal`] always writes version 2, so a value moves to it when it
/// is sealed again (rectification, partial erasure). A version 1 encoding starts with a
/// UUID and cannot equal a version 2 one: that would need the owner to repeat the bytes
/// `02 00 10`, which puts no valid UUID version in its seventh byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pub owner: Uuid,
    pub part: Part,
    pub item: Option<Uuid>,
}

/// The parts of a record that are sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A subject's identity fields (owner: the subject).
    Identity,
    /// A contract's reference (item: the contract).
    Contract,
    /// An interaction's summary (item: the interaction).
    Interaction,
    /// A consent's evidence (item: the consent).
    Consent,
    /// A legal hold's reason, the current one and each of its history.
    LegalHold,
    /// A rights request's requester and particulars (owner: the request).
    Requester,
    /// A rights request's response.
    Response,
    /// A requester's identity document.
    IdentityDocument,
    /// The reasons a request's deadline was extended.
    Extension,
    /// A breach's free text (owner: the breach).
    BreachDetails,
    /// The details of a breach's phase.
    BreachPhase,
    /// Why a subject's restriction of processing (Art. 18) was lifted (owner: the subject).
    Restriction,
    /// The token of a request's identity confirmation link (owner: the request).
    Confirmation,
    /// A person's account email (owner: the account).
    AccountEmail,
}

impl Part {
    /// The part's label in the associated data. Fixed: sealed values carry it.
    pub fn label(self) -> &'static str {
        match self {
            Part::Identity => "identity",
            Part::Contract => "contract",
            Part::Interaction => "interaction",
            Part::Consent => "consent",
            Part::LegalHold => "legal_hold",
            Part::Requester => "requester",
            Part::Response => "response",
            Part::IdentityDocument => "identity_document",
            Part::Extension => "extension",
            Part::BreachDetails => "details",
            Part::BreachPhase => "phase",
            Part::Restriction => "restriction",
            Part::Confirmation => "confirmation",
            Part::AccountEmail => "account_email",
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The version byte of [`Context::bytes_v2`].
const CONTEXT_V2: u8 = 2;

/// Version 2: the version byte, then each part preceded by its length.
fn context_v2(owner: &[u8], label: &[u8], item: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 6 + owner.len() + label.len() + item.len());
    out.push(CONTEXT_V2);
    for part in [owner, label, item] {
        // Parts are ids and fixed labels: far shorter than 64 KiB.
        out.extend_from_slice(&u16::try_from(part.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Version 1, as releases before version 2 built it: the parts run together.
fn context_v1(owner: &[u8], label: &[u8], item: &[u8]) -> Vec<u8> {
    [owner, label, item].concat()
}

impl Context {
    /// A part of a record that has no item (a subject's identity, a request's response).
    pub fn new(owner: Uuid, part: Part) -> Context {
        Context { owner, part, item: None }
    }

    /// An item's part of a record (a subject's contract, interaction or consent).
    pub fn item(owner: Uuid, part: Part, item: Uuid) -> Context {
        Context { owner, part, item: Some(item) }
    }

    /// The associated data every new seal uses.
    pub fn bytes_v2(&self) -> Vec<u8> {
        context_v2(self.owner.as_bytes(), self.part.label().as_bytes(), self.item_bytes())
    }

    /// The associated data of values sealed before version 2: only ever opened.
    fn bytes_v1(&self) -> Vec<u8> {
        context_v1(self.owner.as_bytes(), self.part.label().as_bytes(), self.item_bytes())
    }

    fn item_bytes(&self) -> &[u8] {
        self.item.as_ref().map_or(&[], |i| i.as_bytes().as_slice())
    }
}

/// The master key and the sub-keys derived from it.
pub struct MasterKey {
    wrap: LessSafeKey,
    blind: hmac::Key,
    audit: hmac::Key,
    /// The blind-index and audit keys' bytes: they outlive a rotation of the master key.
    kept: Zeroizing<[u8; 2 * KEY_LEN]>,
    /// Proves which key a database was created under, without revealing it.
    check: hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Builds the key set from 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Result<Self, CryptoError> {
        let root = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let derive = |label: &[u8]| Zeroizing::new(hmac::sign(&root, label).as_ref().to_vec());
        let mut kept = Zeroizing::new([0u8; 2 * KEY_LEN]);
        kept[..KEY_LEN].copy_from_slice(&derive(b"vigie/v1/blind-index"));
        kept[KEY_LEN..].copy_from_slice(&derive(b"vigie/v1/audit-chain"));
        Ok(MasterKey {
            wrap: aead_key(&derive(b"vigie/v1/wrap-subject-keys"))?,
            blind: hmac::Key::new(hmac::HMAC_SHA256, &kept[..KEY_LEN]),
            audit: hmac::Key::new(hmac::HMAC_SHA256, &kept[KEY_LEN..]),
            check: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"vigie/v1/key-check")),
            kept,
        })
    }

    /// The blind-index and audit keys of `self`, sealed under `next`'s wrapping key: what a
    /// rotation records so that lookups and the audit chain keep working under the new key.
    pub fn seal_kept_for(&self, next: &MasterKey) -> Result<Vec<u8>, CryptoError> {
        seal_with(&next.wrap, b"vigie/v1/kept-sub-keys", self.kept.as_ref())
    }

    /// Takes the blind-index and audit keys a rotation recorded (sealed under this key).
    pub fn with_kept(mut self, sealed: &[u8]) -> Result<MasterKey, CryptoError> {
        let raw = Zeroizing::new(open_with(&self.wrap, b"vigie/v1/kept-sub-keys", sealed)?);
        if raw.len() != 2 * KEY_LEN {
            return Err(CryptoError::Open);
        }
        self.kept.copy_from_slice(&raw);
        self.blind = hmac::Key::new(hmac::HMAC_SHA256, &self.kept[..KEY_LEN]);
        self.audit = hmac::Key::new(hmac::HMAC_SHA256, &self.kept[KEY_LEN..]);
        Ok(self)
    }

    /// A new random key (for a rotation), and its file text (64 hex digits).
    pub fn generate() -> Result<(MasterKey, Zeroizing<String>), CryptoError> {
        let bytes = Zeroizing::new(random::<KEY_LEN>()?);
        Ok((MasterKey::from_bytes(&bytes)?, Zeroizing::new(hex(bytes.as_ref()))))
    }

    /// Writes a key file (mode 0600, never over an existing file) and syncs it.
    pub fn write_file(path: &Path, text: &str) -> Result<(), CryptoError> {
        let err = |reason: String| CryptoError::KeyFile { path: path.display().to_string(), reason };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| err(e.to_string()))?;
        file.write_all(text.as_bytes()).map_err(|e| err(e.to_string()))?;
        file.sync_all().map_err(|e| err(e.to_string()))
    }

    /// The key-check value a database records: a MAC of a fixed label under a key
    /// derived for this use alone. It tells whether a key is the database's, and
    /// nothing about the key.
    pub fn check_value(&self) -> String {
        hex(hmac::sign(&self.check, b"vigie key-check value").as_ref())
    }

    /// A MAC under the audit key with a label of its own (the signed head, checkpoints).
    pub fn audit_mac(&self, label: &str, message: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.audit);
        ctx.update(label.as_bytes());
        ctx.update(&[0]);
        ctx.update(message);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Creates a new random master key file with mode 0600. Refuses to overwrite.
    pub fn create_file(path: &Path) -> Result<(), CryptoError> {
        let err = |reason: String| CryptoError::KeyFile { path: path.display().to_string(), reason };
        let bytes = Zeroizing::new(random::<KEY_LEN>()?);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| err(e.to_string()))?;
        file.write_all(&hex(bytes.as_ref()).into_bytes()).map_err(|e| err(e.to_string()))?;
        file.sync_all().map_err(|e| err(e.to_string()))?;
        Ok(())
    }

    /// Reads a master key file (64 hex digits). Refuses a file that others can read.
    pub fn load_file(path: &Path) -> Result<Self, CryptoError> {
        let err = |reason: &str| CryptoError::KeyFile { path: path.display().to_string(), reason: reason.to_string() };
        let meta = std::fs::metadata(path).map_err(|e| err(&e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(err("its mode lets other users read it; run chmod 600 on it"));
            }
        }
        let _ = meta;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(&e.to_string()))?);
        let bytes = Zeroizing::new(unhex(text.trim()).ok_or_else(|| err("it does not hold 64 hexadecimal digits"))?);
        let key: &[u8; KEY_LEN] =
            bytes.as_slice().try_into().map_err(|_| err("it does not hold 64 hexadecimal digits"))?;
        MasterKey::from_bytes(key)
    }

    /// Wraps a subject key for storage, bound to the subject id.
    pub fn wrap(&self, key: &SubjectKey, subject_id: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.wrap, subject_id, key.bytes.as_ref())
    }

    /// Unwraps a stored subject key; fails if it was altered or belongs to another subject.
    pub fn unwrap_key(&self, wrapped: &[u8], subject_id: &[u8]) -> Result<SubjectKey, CryptoError> {
        let raw = Zeroizing::new(open_with(&self.wrap, subject_id, wrapped)?);
        let bytes: [u8; KEY_LEN] = raw.as_slice().try_into().map_err(|_| CryptoError::Open)?;
        SubjectKey::from_bytes(bytes)
    }

    /// The blind index of a normalised value; `domain` separates kinds (email, phone).
    pub fn blind_index(&self, domain: &str, normalised: &str) -> [u8; BLIND_INDEX_LEN] {
        let mut ctx = hmac::Context::with_key(&self.blind);
        ctx.update(domain.as_bytes());
        ctx.update(&[0]);
        ctx.update(normalised.as_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; BLIND_INDEX_LEN];
        out.copy_from_slice(&tag.as_ref()[..BLIND_INDEX_LEN]);
        out
    }

    /// One link of the audit chain: MAC(previous hash || entry).
    pub fn chain(&self, previous: &[u8], entry: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.audit);
        ctx.update(previous);
        ctx.update(entry);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

/// A subject's data key. Never stored unwrapped.
pub struct SubjectKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    key: LessSafeKey,
}

impl SubjectKey {
    pub fn generate() -> Result<Self, CryptoError> {
        SubjectKey::from_bytes(random()?)
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<Self, CryptoError> {
        let key = aead_key(&bytes)?;
        Ok(SubjectKey { bytes: Zeroizing::new(bytes), key })
    }

    /// Seals a value as what `context` names, so it cannot be moved (version 2).
    pub fn seal(&self, context: &Context, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.key, &context.bytes_v2(), plaintext)
    }

    /// Opens a value sealed as what `context` names: sealed by this release (version 2)
    /// or by an earlier one (version 1).
    pub fn open(&self, context: &Context, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open_with(&self.key, &context.bytes_v2(), sealed).or_else(|_| open_with(&self.key, &context.bytes_v1(), sealed))
    }
}

/// A new bearer token (shown once) and the hash under which it is stored.
pub fn new_token() -> Result<(String, [u8; 32]), CryptoError> {
    let secret = random::<32>()?;
    let token = format!("vigie_{}", hex(&secret));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// A new one-time link token (64 hexadecimal digits, 256 random bits) and the hash under which
/// it is stored.
pub fn new_link_token() -> Result<(String, [u8; 32]), CryptoError> {
    let token = hex(&random::<32>()?);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a token. Tokens are 256-bit random, so a plain hash suffices.
pub fn token_hash(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

/// A new console session id (the cookie's value) and the hash under which it is stored.
pub fn new_session() -> Result<(String, [u8; 32]), CryptoError> {
    let secret = random::<32>()?;
    let id = hex(&secret);
    let hash = token_hash(&id);
    Ok((id, hash))
}

/// The CSRF token of a session (synchronizer token): derived from the session's secret, so it
/// is bound to that session, changes with it, and needs no storage; it reveals nothing of the
/// session id (a one-way function of it).
pub fn csrf_token(session: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"vigie/v1/csrf\0");
    ctx.update(session.as_bytes());
    hex(ctx.finish().as_ref())
}

/// Whether two secrets are equal, in time that depends on their length only.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// argon2id with OWASP's minimum parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Result<argon2::Argon2<'static>, CryptoError> {
    let params = argon2::Params::new(19_456, 2, 1, None).map_err(|_| CryptoError::Password)?;
    Ok(argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
}

/// Hashes a password (argon2id, a fresh 16-byte salt) as a PHC string. Slow by design
/// (tens of milliseconds): callers run it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    use argon2::password_hash::PasswordHasher;
    let salt = random::<16>()?;
    let hash = argon2()?.hash_password_with_salt(password.as_bytes(), &salt).map_err(|_| CryptoError::Password)?;
    Ok(hash.to_string())
}

/// Whether `password` matches a PHC string made by [`hash_password`]; a malformed hash matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), phc).is_ok())
}

/// A hash of no one's password, for checking a login against when the account does not exist:
/// an unknown account then costs the same time as a wrong password (no timing oracle).
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let secret = random::<32>().map(|b| hex(&b)).unwrap_or_default();
        hash_password(&secret).unwrap_or_default()
    });
    &DUMMY
}

/// A generated password: 20 characters from an alphabet without look-alikes (0/O, 1/l/I),
/// about 112 bits, in groups of five for reading it out.
pub fn new_password() -> Result<String, CryptoError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(23);
    let mut i = 0;
    while i < 20 {
        let byte = random::<1>()?[0];
        // Rejection sampling: no character is likelier than another.
        let limit = (256 / ALPHABET.len()) * ALPHABET.len();
        if usize::from(byte) >= limit {
            continue;
        }
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
        i += 1;
    }
    Ok(out)
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses hexadecimal (either case).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn master() -> MasterKey {
        match MasterKey::from_bytes(&[7u8; KEY_LEN]) {
            Ok(k) => k,
            Err(e) => unreachable!("{e}"),
        }
    }

    fn id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    proptest! {
        #[test]
        fn seal_open_round_trips(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let key = SubjectKey::generate().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (s1, s2) = (Context::new(id(1), Part::Identity), Context::new(id(2), Part::Identity));
            let sealed = key.seal(&s1, &data).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(key.open(&s1, &sealed).ok(), Some(data));
            prop_assert!(key.open(&s2, &sealed).is_err());
        }
    }

    #[test]
    fn a_value_is_bound_to_its_owner_part_and_item() -> Result<(), CryptoError> {
        let key = SubjectKey::generate()?;
        let here = Context::item(id(1), Part::Contract, id(2));
        let sealed = key.seal(&here, b"C-1")?;
        assert_eq!(key.open(&here, &sealed)?, b"C-1");
        for elsewhere in [
            Context::item(id(3), Part::Contract, id(2)),
            Context::item(id(1), Part::Consent, id(2)),
            Context::item(id(1), Part::Contract, id(4)),
            Context::new(id(1), Part::Contract),
        ] {
            assert!(key.open(&elsewhere, &sealed).is_err(), "{elsewhere:?}");
        }
        Ok(())
    }

    /// The associated data as releases before version 2 built it (`subjects::aad` in the
    /// app): the owner's bytes, the label, and the item's bytes, run together.
    fn legacy_aad(owner: Uuid, label: &str, item: Option<Uuid>) -> Vec<u8> {
        let mut v = owner.as_bytes().to_vec();
        v.extend_from_slice(label.as_bytes());
        if let Some(item) = item {
            v.extend_from_slice(item.as_bytes());
        }
        v
    }

    #[test]
    fn values_sealed_by_earlier_releases_still_open() -> Result<(), CryptoError> {
        let key = SubjectKey::generate()?;
        let (subject, contract) = (Uuid::now_v7(), Uuid::now_v7());
        let old_identity = seal_with(&key.key, &legacy_aad(subject, "identity", None), b"{\"email\":\"x\"}")?;
        let old_contract = seal_with(&key.key, &legacy_aad(subject, "contract", Some(contract)), b"C-9")?;
        let old_hold = seal_with(&key.key, &legacy_aad(subject, "legal_hold", None), b"litigation")?;
        assert_eq!(key.open(&Context::new(subject, Part::Identity), &old_identity)?, b"{\"email\":\"x\"}");
        assert_eq!(key.open(&Context::item(subject, Part::Contract, contract), &old_contract)?, b"C-9");
        assert_eq!(key.open(&Context::new(subject, Part::LegalHold), &old_hold)?, b"litigation");
        // Still bound: an old value does not open as another part, item or owner.
        assert!(key.open(&Context::new(subject, Part::Consent), &old_identity).is_err());
        assert!(key.open(&Context::item(subject, Part::Contract, Uuid::now_v7()), &old_contract).is_err());
        assert!(key.open(&Context::new(Uuid::now_v7(), Part::LegalHold), &old_hold).is_err());
        // New values are sealed under version 2 only.
        let new = key.seal(&Context::new(subject, Part::Identity), b"v2")?;
        assert!(open_with(&key.key, &legacy_aad(subject, "identity", None), &new).is_err());
        assert_eq!(Context::new(subject, Part::Identity).bytes_v1(), legacy_aad(subject, "identity", None));
        Ok(())
    }

    #[test]
    fn shifted_label_and_item_boundaries_do_not_meet() -> Result<(), CryptoError> {
        // Label "a" with an item of sixteen `b`, and label "a" + sixteen `b` without an item:
        // the same bytes in version 1, so one's value opened as the other's.
        let owner = Uuid::now_v7();
        let b16 = [b'b'; 16];
        let long = format!("a{}", "b".repeat(16));
        let (v1_short, v1_long) =
            (context_v1(owner.as_bytes(), b"a", &b16), context_v1(owner.as_bytes(), long.as_bytes(), &[]));
        assert_eq!(v1_short, v1_long, "version 1 is ambiguous");
        let (v2_short, v2_long) =
            (context_v2(owner.as_bytes(), b"a", &b16), context_v2(owner.as_bytes(), long.as_bytes(), &[]));
        assert_ne!(v2_short, v2_long);
        // "ab" with an item, "a" with an item starting with "b": distinct too.
        let mut b_then = [b'x'; 16];
        b_then[0] = b'b';
        assert_eq!(context_v1(owner.as_bytes(), b"ab", &[b'x'; 15]), context_v1(owner.as_bytes(), b"a", &b_then));
        assert_ne!(context_v2(owner.as_bytes(), b"ab", &[b'x'; 15]), context_v2(owner.as_bytes(), b"a", &b_then));
        let key = SubjectKey::generate()?;
        let sealed = seal_with(&key.key, &v2_short, b"one's data")?;
        assert!(open_with(&key.key, &v2_long, &sealed).is_err(), "does not open as the other's");
        assert_eq!(open_with(&key.key, &v2_short, &sealed)?, b"one's data");
        // The encoding itself: version, then each part with its length.
        let ctx = Context::item(id(1), Part::Contract, id(2));
        let mut expected = vec![2, 0, 16];
        expected.extend_from_slice(&[1; 16]);
        expected.extend_from_slice(&[0, 8]);
        expected.extend_from_slice(b"contract");
        expected.extend_from_slice(&[0, 16]);
        expected.extend_from_slice(&[2; 16]);
        assert_eq!(ctx.bytes_v2(), expected);
        let no_item = Context::new(id(1), Part::Identity).bytes_v2();
        assert_eq!(&no_item[no_item.len() - 2..], &[0, 0], "no item: an empty last part");
        Ok(())
    }

    #[test]
    fn wrapped_keys_are_bound_to_their_subject() -> Result<(), CryptoError> {
        let m = master();
        let k = SubjectKey::generate()?;
        let wrapped = m.wrap(&k, b"subject-a")?;
        let x = Context::new(id(7), Part::Identity);
        let sealed = k.seal(&x, b"Camille")?;
        let back = m.unwrap_key(&wrapped, b"subject-a")?;
        assert_eq!(back.open(&x, &sealed)?, b"Camille");
        assert!(m.unwrap_key(&wrapped, b"subject-b").is_err());
        let mut tampered = wrapped.clone();
        tampered[20] ^= 1;
        assert!(m.unwrap_key(&tampered, b"subject-a").is_err());
        Ok(())
    }

    #[test]
    fn check_values_tell_keys_apart() -> Result<(), CryptoError> {
        let a = master();
        assert_eq!(a.check_value(), master().check_value());
        assert_ne!(a.check_value(), MasterKey::from_bytes(&[8u8; KEY_LEN])?.check_value());
        assert_ne!(a.audit_mac("head", b"1"), a.audit_mac("checkpoint", b"1"));
        Ok(())
    }

    #[test]
    fn a_rotation_keeps_blind_indexes_and_the_audit_chain() -> Result<(), CryptoError> {
        let old = master();
        let (next, _) = MasterKey::generate()?;
        let sealed = old.seal_kept_for(&next)?;
        let rotated = MasterKey::generate()?.0;
        assert!(rotated.with_kept(&sealed).is_err(), "sealed for `next` only");
        let next = next.with_kept(&sealed)?;
        assert_eq!(next.blind_index("email", "x@y.fr"), old.blind_index("email", "x@y.fr"));
        assert_eq!(next.chain(b"p", b"e"), old.chain(b"p", b"e"));
        assert_ne!(next.check_value(), old.check_value());
        Ok(())
    }

    #[test]
    fn blind_indexes_are_keyed_and_separated_by_domain() -> Result<(), CryptoError> {
        let a = master();
        let b = MasterKey::from_bytes(&[8u8; KEY_LEN])?;
        assert_eq!(a.blind_index("email", "x@y.fr"), a.blind_index("email", "x@y.fr"));
        assert_ne!(a.blind_index("email", "x@y.fr"), b.blind_index("email", "x@y.fr"));
        assert_ne!(a.blind_index("email", "x@y.fr"), a.blind_index("phone", "x@y.fr"));
        Ok(())
    }

    #[test]
    fn key_file_is_private_and_round_trips() -> Result<(), CryptoError> {
        let dir = std::env::temp_dir().join(format!("vigie-key-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("master.key");
        let _ = std::fs::remove_file(&path);
        MasterKey::create_file(&path)?;
        assert!(MasterKey::create_file(&path).is_err(), "never overwrites a key");
        let k1 = MasterKey::load_file(&path)?;
        let k2 = MasterKey::load_file(&path)?;
        assert_eq!(k1.blind_index("e", "v"), k2.blind_index("e", "v"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
            assert!(MasterKey::load_file(&path).is_err());
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() -> Result<(), CryptoError> {
        let h = hash_password("correct horse")?;
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(hash_password("correct horse")?, h, "a fresh salt each time");
        assert!(!verify_password("", dummy_password_hash()));
        let p = new_password()?;
        assert_eq!(p.len(), 23);
        assert_eq!(p.split('-').count(), 4);
        assert!(p.chars().all(|c| c == '-' || (c.is_ascii_alphanumeric() && !"0O1lI".contains(c))), "{p}");
        assert_ne!(new_password()?, p);
        Ok(())
    }

    #[test]
    fn sessions_and_their_csrf_tokens() -> Result<(), CryptoError> {
        let (id, hash) = new_session()?;
        assert_eq!(id.len(), 64);
        assert_eq!(token_hash(&id), hash);
        let csrf = csrf_token(&id);
        assert_eq!(csrf, csrf_token(&id));
        assert_ne!(csrf, csrf_token(&new_session()?.0));
        assert_ne!(csrf, hex(&hash), "not the stored hash");
        assert!(same_secret(csrf.as_bytes(), csrf_token(&id).as_bytes()));
        assert!(!same_secret(csrf.as_bytes(), &csrf.as_bytes()[1..]));
        Ok(())
    }

    #[test]
    fn tokens_hash_stably_and_hex_round_trips() -> Result<(), CryptoError> {
        let (t, h) = new_token()?;
        assert!(t.starts_with("vigie_") && t.len() == 70);
        assert_eq!(token_hash(&t), h);
        assert_eq!(unhex(&hex(&h)).as_deref(), Some(&h[..]));
        Ok(())
    }
}
