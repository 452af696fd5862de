//! What a store sees: key names that are HMACs, and records sealed with an AEAD, both under
//! keys derived from the client secret.
//!
//! - **Keys.** HKDF-SHA256 (salt [`SALT`]) extracts one pseudo-random key from the client
//!   secret and expands it twice, with different `info`: an AES-256-GCM key for the records
//!   and an HMAC-SHA256 key for the key names.
//! - **Key name.** The first 128 bits of HMAC-SHA256 over the binding (client ID,
//!   environment base URL, entity ID, label), in hex. Without the secret, nobody can tell
//!   which client a key belongs to. Someone who knows the client ID (and the environment,
//!   entity and label) can test guesses of the secret offline against a key name: only a
//!   secret too long and random to guess (Zuora's are) is safe from that.
//! - **Record.** `version (1 byte) ‖ nonce (12 random bytes) ‖ AES-256-GCM(JSON record)`,
//!   the additional data being the version byte and the same binding: a record copied from
//!   another client's key (same secret or not), or relabelled as another format version,
//!   fails to open. A fresh random nonce per write; at one write per
//!   token lifetime, the random-nonce limit of GCM (2³² messages per key) is never near.
//!
//! A value that does not open or parse is a miss, never an error.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use ring::hmac::{self, HMAC_SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;
use zuora_oauth_core::{TokenRecord, TokenRequest};

/// HKDF salt: names this scheme and its version.
const SALT: &[u8] = b"zuora-oauth store v1";
/// HKDF `info` of the record encryption key.
const INFO_RECORD: &[u8] = b"zuora-oauth store v1 record key";
/// HKDF `info` of the key-name HMAC key.
const INFO_NAME: &[u8] = b"zuora-oauth store v1 key-name key";
/// First byte of every record.
const VERSION: u8 = 1;
/// Bytes of the HMAC kept in the key name (128 bits).
const NAME_BYTES: usize = 16;

/// Seals and opens the records of one token request, and names its key in a store (see
/// the [module docs](super)). A token source makes its own; a program that drives the core
/// itself with a [`TokenStore`](super::TokenStore) (as the `zuora-token` command does) uses
/// one to keep its records the same way, shared with the sources.
pub struct Sealer {
    key: LessSafeKey,
    /// The version byte and the binding (client ID, environment, entity, label): the AEAD's
    /// additional data.
    aad: Vec<u8>,
    /// Hex HMAC of the binding.
    name: String,
    rng: SystemRandom,
}

impl Sealer {
    /// The sealer for `request`'s tokens, under `label` (a scope of the caller's choosing,
    /// [`StoreOptions::with_label`](super::StoreOptions::with_label)).
    pub fn new(request: &TokenRequest, label: &str) -> Self {
        let prk = Salt::new(HKDF_SHA256, SALT)
            .extract(request.client_secret().expose_secret().as_bytes());
        // `expand` fails only for outputs longer than 255 hash lengths; these are 32 bytes.
        let key: UnboundKey = prk
            .expand(&[INFO_RECORD], &AES_256_GCM)
            .expect("a 32-byte HKDF output")
            .into();
        let name_key: hmac::Key = prk
            .expand(&[INFO_NAME], HMAC_SHA256)
            .expect("a 32-byte HKDF output")
            .into();
        let binding = binding(request, label);
        let tag = hmac::sign(&name_key, &binding);
        let mut aad = vec![VERSION];
        aad.extend_from_slice(&binding);
        Self {
            key: LessSafeKey::new(key),
            aad,
            name: hex(&tag.as_ref()[..NAME_BYTES]),
            rng: SystemRandom::new(),
        }
    }

    /// The key (hex, 32 characters): the same for every process with the same secret,
    /// client ID, environment, entity and label.
    pub fn key(&self) -> &str {
        &self.name
    }

    /// `record`, encrypted. Fails only if the OS gives no random bytes.
    pub fn seal(&self, record: &TokenRecord) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError)?;
        let json = Zeroizing::new(serde_json::to_vec(record).map_err(|_| SealError)?);
        let mut out = Vec::with_capacity(1 + NONCE_LEN + json.len() + AES_256_GCM.tag_len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&json);
        let mut body = out.split_off(1 + NONCE_LEN);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad),
                &mut body,
            )
            .map_err(|_| SealError)?;
        out.append(&mut body);
        Ok(out)
    }

    /// The record in `value`, or `None` if it is not one of ours: another version, too
    /// short, sealed under another secret or for another binding, tampered with, or not a
    /// valid record once opened.
    pub fn open(&self, value: &[u8]) -> Option<TokenRecord> {
        let (&version, rest) = value.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(sealed.to_vec());
        let json = self
            .key
            .open_in_place(nonce, Aad::from(&self.aad), &mut buffer)
            .ok()?;
        serde_json::from_slice(json).ok()
    }
}

/// The OS random generator failed, or the record did not serialise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealError;

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no random bytes from the OS to encrypt the token record")
    }
}

impl std::error::Error for SealError {}

/// Client ID, environment base URL, entity ID and label, each length-prefixed so that no
/// two bindings share an encoding.
fn binding(request: &TokenRequest, label: &str) -> Vec<u8> {
    let fields = [
        request.client_id().as_str(),
        request.environment().base_url(),
        request.entity_id().map_or("", |e| e.as_str()),
        label,
    ];
    let mut out = b"zuora-oauth store v1 binding".to_vec();
    for field in fields {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use zuora_oauth_core::{AccessToken, ClientId, ClientSecret, EntityId, Environment, Token};

    use super::*;

    const ID: &str = "8f14e45f-ceea-4672-9b3c-5d6e7f8a9b0c";
    const OTHER_ID: &str = "11111111-2222-3333-4444-555555555555";
    const SECRET: &str = "m0ck+Zu0ra/S3cr3t=Fo7+Te5ts/On1y=Lo0pback";

    fn request(id: &str, secret: &str) -> TokenRequest {
        TokenRequest::new(
            Environment::Sbx,
            ClientId::new(id).unwrap(),
            ClientSecret::new(secret).unwrap(),
        )
    }

    fn record() -> TokenRecord {
        let token = Token::new(
            AccessToken::new("c652cbc0ea384b9f81856a93a2a74538").unwrap(),
            Duration::from_secs(3599),
        )
        .with_jti("c652cbc0ea384b9f81856a93a2a74539");
        TokenRecord::new(
            &token,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_748_800),
        )
    }

    #[test]
    fn a_sealed_record_opens_to_the_same_record_and_hides_it() {
        let sealer = Sealer::new(&request(ID, SECRET), "");
        let record = record();
        let sealed = sealer.seal(&record).unwrap();
        assert_eq!(sealer.open(&sealed).as_ref(), Some(&record));
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("c652cbc0"));
        // A fresh nonce each time: the same record seals differently.
        assert_ne!(sealer.seal(&record).unwrap()[1..13], sealed[1..13]);
    }

    #[test]
    fn the_key_name_depends_on_every_part_of_the_binding_and_on_the_secret() {
        let base = Sealer::new(&request(ID, SECRET), "").key().to_owned();
        assert_eq!(base.len(), 32);
        assert_eq!(Sealer::new(&request(ID, SECRET), "").key(), base);
        let others = [
            Sealer::new(&request(OTHER_ID, SECRET), ""),
            Sealer::new(&request(ID, "another-secret"), ""),
            Sealer::new(&request(ID, SECRET), "reporting"),
            Sealer::new(
                &request(ID, SECRET)
                    .with_entity_id(EntityId::new("11e643f4-a3ee-8bad-b061-0025904c756d").unwrap()),
                "",
            ),
            Sealer::new(
                &TokenRequest::new(
                    Environment::ProdEu,
                    ClientId::new(ID).unwrap(),
                    ClientSecret::new(SECRET).unwrap(),
                ),
                "",
            ),
        ];
        for other in others {
            assert_ne!(other.key(), base);
        }
        assert!(!base.contains(&ID[..8]));
    }

    #[test]
    fn records_of_another_secret_or_binding_or_tampered_ones_do_not_open() {
        let sealer = Sealer::new(&request(ID, SECRET), "");
        let sealed = sealer.seal(&record()).unwrap();
        // Same secret, another client ID: only the additional data differs.
        assert_eq!(
            Sealer::new(&request(OTHER_ID, SECRET), "").open(&sealed),
            None
        );
        assert_eq!(
            Sealer::new(&request(ID, SECRET), "other").open(&sealed),
            None
        );
        assert_eq!(
            Sealer::new(&request(ID, "rotated-secret"), "").open(&sealed),
            None
        );
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(sealer.open(&tampered), None, "byte {i} flipped");
        }
        for len in 0..sealed.len() {
            assert_eq!(sealer.open(&sealed[..len]), None, "truncated to {len}");
        }
        assert_eq!(sealer.open(b"garbage"), None);
    }

    #[test]
    fn a_sealed_value_that_is_not_a_record_is_a_miss() {
        let sealer = Sealer::new(&request(ID, SECRET), "");
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).unwrap();
        for plaintext in [
            &b"{}"[..],
            b"not json",
            br#"{"access_token":"x y","issued_at_ms":2,"expires_at_ms":1}"#,
        ] {
            let mut body = plaintext.to_vec();
            sealer
                .key
                .seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(&sealer.aad),
                    &mut body,
                )
                .unwrap();
            let value = [&[VERSION][..], &nonce, &body].concat();
            assert_eq!(sealer.open(&value), None);
        }
    }

    /// The version byte is part of what the tag authenticates: a value sealed with the
    /// binding alone as additional data (as before the version was bound) does not open,
    /// and one sealed with the version and the binding does.
    #[test]
    fn the_version_byte_is_authenticated() {
        let request = request(ID, SECRET);
        let sealer = Sealer::new(&request, "");
        let json = serde_json::to_vec(&record()).unwrap();
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).unwrap();
        let seal_with = |aad: &[u8]| {
            let mut body = json.clone();
            sealer
                .key
                .seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut body,
                )
                .unwrap();
            [&[VERSION][..], &nonce, &body].concat()
        };
        let binding = binding(&request, "");
        assert_eq!(sealer.open(&seal_with(&binding)), None);
        let bound = [&[VERSION][..], &binding].concat();
        assert_eq!(sealer.open(&seal_with(&bound)), Some(record()));
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
