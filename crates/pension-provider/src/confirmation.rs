//! The member's confirmation through the provider's own channel: when a
//! pension already protected by one authorization server is asked for by
//! another, the provider writes to the member (in the reference, a JSON
//! line on standard error stands for the letter or email) with a code,
//! and moves the pension only when the new wallet sends that code back.
//! A code lives fifteen minutes and allows five tries.

use parking_lot::Mutex;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(900);
const MAX_TRIES: u8 = 5;
/// Codes outstanding at once: each is sent to a member, so few are needed.
const MAX_OUTSTANDING: usize = 1000;

struct Outstanding {
    code: String,
    tries: u8,
    until: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    Confirmed,
    Wrong,
    /// No live code: none was sent, it expired, or it had too many tries.
    NoneOutstanding,
}

/// Codes by (asset GUID, authorization server asking).
#[derive(Default)]
pub struct Confirmations {
    outstanding: Mutex<HashMap<(String, String), Outstanding>>,
    /// The codes sent, newest last (the reference's post, also written to
    /// standard error); the last hundred are kept.
    sent: Mutex<std::collections::VecDeque<(String, String)>>,
}

impl Confirmations {
    /// A fresh code for moving `asset` to `authorization_server`, replacing
    /// any earlier one; `None` when too many are outstanding.
    pub fn issue(&self, asset: &str, authorization_server: &str) -> Option<String> {
        let mut bytes = [0u8; 4];
        SystemRandom::new().fill(&mut bytes).expect("OS random generator");
        let code = format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000);
        let now = Instant::now();
        let mut outstanding = self.outstanding.lock();
        outstanding.retain(|_, o| o.until > now);
        if outstanding.len() >= MAX_OUTSTANDING {
            return None;
        }
        outstanding.insert((asset.into(), authorization_server.into()), Outstanding { code: code.clone(), tries: 0, until: now + TTL });
        Some(code)
    }

    /// Sends the member the code for `pension` (its PeI): here, a JSON line
    /// on standard error and the outbox.
    pub fn send(&self, pension: &str, authorization_server: &str, code: &str) {
        eprintln!("{}", serde_json::json!({ "event": "member_confirmation_code", "pension": pension, "to_authorization_server": authorization_server, "code": code }));
        let mut sent = self.sent.lock();
        if sent.len() >= 100 {
            sent.pop_front();
        }
        sent.push_back((pension.to_string(), code.to_string()));
    }

    /// The latest code sent about `pension`: what the member reads in their post.
    pub fn latest_sent_for(&self, pension: &str) -> Option<String> {
        self.sent.lock().iter().rev().find(|(p, _)| p == pension).map(|(_, code)| code.clone())
    }

    /// Checks a code sent back; a right one is used up.
    pub fn check(&self, asset: &str, authorization_server: &str, code: &str) -> Checked {
        use subtle::ConstantTimeEq;
        let key = (asset.to_string(), authorization_server.to_string());
        let mut outstanding = self.outstanding.lock();
        let Some(entry) = outstanding.get_mut(&key).filter(|o| o.until > Instant::now() && o.tries < MAX_TRIES) else {
            outstanding.remove(&key);
            return Checked::NoneOutstanding;
        };
        entry.tries += 1;
        if bool::from(entry.code.as_bytes().ct_eq(code.trim().as_bytes())) {
            outstanding.remove(&key);
            Checked::Confirmed
        } else {
            Checked::Wrong
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_confirms_once_for_its_pension_and_server_and_allows_five_tries() {
        let confirmations = Confirmations::default();
        let code = confirmations.issue("asset-1", "https://new.example").unwrap();
        assert_eq!(confirmations.check("asset-1", "https://other.example", &code), Checked::NoneOutstanding);
        assert_eq!(confirmations.check("asset-1", "https://new.example", "000000x"), Checked::Wrong);
        assert_eq!(confirmations.check("asset-1", "https://new.example", &code), Checked::Confirmed);
        assert_eq!(confirmations.check("asset-1", "https://new.example", &code), Checked::NoneOutstanding, "used up");

        let code = confirmations.issue("asset-1", "https://new.example").unwrap();
        for _ in 0..MAX_TRIES {
            assert_eq!(confirmations.check("asset-1", "https://new.example", "wrong"), Checked::Wrong);
        }
        assert_eq!(confirmations.check("asset-1", "https://new.example", &code), Checked::NoneOutstanding, "too many tries");
    }
}
