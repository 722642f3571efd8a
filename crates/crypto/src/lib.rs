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
//!   field, so a sealed value cannot be moved to another subject or field.
//! - Lookups use a **blind index**: a keyed HMAC of the normalised value.
//! - Tokens are 256-bit random secrets; only their SHA-256 is stored.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use std::io::Write;
use std::path::Path;
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

    /// Seals a value; `aad` names what it is (subject id and field), so it cannot be moved.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.key, aad, plaintext)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open_with(&self.key, aad, sealed)
    }
}

/// A new bearer token (shown once) and the hash under which it is stored.
pub fn new_token() -> Result<(String, [u8; 32]), CryptoError> {
    let secret = random::<32>()?;
    let token = format!("vigie_{}", hex(&secret));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a token. Tokens are 256-bit random, so a plain hash suffices.
pub fn token_hash(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
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

    proptest! {
        #[test]
        fn seal_open_round_trips(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let key = SubjectKey::generate().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let sealed = key.seal(b"s1/email", &data).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(key.open(b"s1/email", &sealed).ok(), Some(data));
            prop_assert!(key.open(b"s2/email", &sealed).is_err());
        }
    }

    #[test]
    fn wrapped_keys_are_bound_to_their_subject() -> Result<(), CryptoError> {
        let m = master();
        let k = SubjectKey::generate()?;
        let wrapped = m.wrap(&k, b"subject-a")?;
        let sealed = k.seal(b"x", b"Camille")?;
        let back = m.unwrap_key(&wrapped, b"subject-a")?;
        assert_eq!(back.open(b"x", &sealed)?, b"Camille");
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
    fn tokens_hash_stably_and_hex_round_trips() -> Result<(), CryptoError> {
        let (t, h) = new_token()?;
        assert!(t.starts_with("vigie_") && t.len() == 70);
        assert_eq!(token_hash(&t), h);
        assert_eq!(unhex(&hex(&h)).as_deref(), Some(&h[..]));
        Ok(())
    }
}
