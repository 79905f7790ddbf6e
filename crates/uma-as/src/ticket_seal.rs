//! Permission tickets that carry their own state, sealed.
//!
//! A ticket is the [`TicketRecord`] itself, encrypted and authenticated
//! under a key only this server holds, so nothing is stored when one is
//! issued: a public resource server asks for a ticket on every anonymous
//! request, and a stranger causing those costs this server no memory or
//! disk. What is stored is what a ticket leaves behind once used (its spent
//! marker, in [`crate::hot`]), which is what makes it single-use.
//!
//! The ticket is opaque to everyone else (Grant §3.2): its content is
//! encrypted, not just signed. Each ticket gets its own key, derived with
//! HKDF-SHA-256 from the master key and 16 random bytes carried in the
//! ticket, so the 96-bit AEAD nonce never needs to be random: the same key
//! never seals twice, whatever the number of tickets.
//!
//! Each ticket names the server's ticket generation. The generation moves
//! on when the server starts after a crash: spent markers not yet committed
//! were lost, so every ticket issued before is void rather than usable again.

use crate::model::TicketRecord;
use crate::secret::{random_bytes, role, Secret};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hkdf::{Salt, HKDF_SHA256};
use serde::{Deserialize, Serialize};

const SALT_LEN: usize = 16;
const TAG_LEN: usize = 16;
const INFO: &[u8] = b"uma-as permission ticket v1";
/// Longer than any ticket this server makes (claims gathered included):
/// anything larger is refused before it is decoded.
const MAX_TICKET_LEN: usize = 16 * 1024;

#[derive(Serialize, Deserialize)]
struct Sealed<'a> {
    #[serde(rename = "g")]
    generation: u64,
    #[serde(rename = "t")]
    ticket: std::borrow::Cow<'a, TicketRecord>,
}

/// The master key tickets are sealed under.
pub struct TicketKey {
    master: zeroize::Zeroizing<[u8; 32]>,
}

impl TicketKey {
    pub fn generate() -> Self {
        TicketKey { master: zeroize::Zeroizing::new(random_bytes::<32>()) }
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(TicketKey { master: zeroize::Zeroizing::new(bytes.try_into().ok()?) })
    }

    pub fn bytes(&self) -> &[u8] {
        self.master.as_ref()
    }

    fn key_for(&self, salt: &[u8]) -> LessSafeKey {
        let prk = Salt::new(HKDF_SHA256, salt).extract(self.master.as_ref());
        let okm = prk.expand(&[INFO], &CHACHA20_POLY1305).expect("one key's length");
        LessSafeKey::new(UnboundKey::from(okm))
    }

    /// The ticket for `ticket`, of generation `generation`.
    pub fn seal(&self, ticket: &TicketRecord, generation: u64) -> Secret<role::Ticket> {
        let plain = serde_json::to_vec(&Sealed { generation, ticket: std::borrow::Cow::Borrowed(ticket) }).expect("tickets serialize");
        let salt = random_bytes::<SALT_LEN>();
        let mut bytes = Vec::with_capacity(SALT_LEN + plain.len() + TAG_LEN);
        bytes.extend_from_slice(&salt);
        bytes.extend_from_slice(&plain);
        let tag = self
            .key_for(&salt)
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key([0; NONCE_LEN]), Aad::from(INFO), &mut bytes[SALT_LEN..])
            .expect("within ChaCha20-Poly1305 limits");
        bytes.extend_from_slice(tag.as_ref());
        Secret::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The record and generation of a ticket this server sealed; `None`
    /// for anything else, altered or not.
    pub fn open(&self, ticket: &str) -> Option<(TicketRecord, u64)> {
        if ticket.len() > MAX_TICKET_LEN {
            return None;
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(ticket).ok()?;
        if bytes.len() < SALT_LEN + TAG_LEN {
            return None;
        }
        let (salt, sealed) = bytes.split_at_mut(SALT_LEN);
        let plain = self.key_for(salt).open_in_place(Nonce::assume_unique_for_key([0; NONCE_LEN]), Aad::from(INFO), sealed).ok()?;
        let opened: Sealed<'static> = serde_json::from_slice(plain).ok()?;
        Some((opened.ticket.into_owned(), opened.generation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Permission;

    fn ticket() -> TicketRecord {
        crate::ticket::issued(&"rs".into(), vec![Permission { resource_id: "r1".into(), resource_scopes: vec!["value".into()] }], 100, 300)
    }

    #[test]
    fn a_sealed_ticket_opens_to_its_record_and_generation_under_its_key_only() {
        let key = TicketKey::generate();
        let sealed = key.seal(&ticket(), 7);
        assert_eq!(key.open(sealed.expose()), Some((ticket(), 7)));
        assert_eq!(TicketKey::generate().open(sealed.expose()), None);
        // Two tickets for the same permissions do not look alike.
        assert_ne!(key.seal(&ticket(), 7).expose(), sealed.expose());
        let restored = TicketKey::from_bytes(key.bytes()).unwrap();
        assert_eq!(restored.open(sealed.expose()).map(|(t, _)| t), Some(ticket()));
    }

    #[test]
    fn an_altered_truncated_or_oversized_ticket_opens_to_nothing() {
        let key = TicketKey::generate();
        let sealed = key.seal(&ticket(), 0).expose().to_string();
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in [0, SALT_LEN, bytes.len() / 2, bytes.len() - 1] {
            bytes[i] ^= 1;
            assert_eq!(key.open(&URL_SAFE_NO_PAD.encode(&bytes)), None, "flipped byte {i}");
            bytes[i] ^= 1;
        }
        assert_eq!(key.open(&sealed[..sealed.len() - 4]), None);
        assert_eq!(key.open(""), None);
        assert_eq!(key.open("not base64 !"), None);
        assert_eq!(key.open(&"A".repeat(MAX_TICKET_LEN + 4)), None);
        // The plaintext does not show through.
        assert!(!String::from_utf8_lossy(&URL_SAFE_NO_PAD.decode(&sealed).unwrap()).contains("r1"));
    }
}
