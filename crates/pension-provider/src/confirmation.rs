//! The member's confirmation through the provider's own channel: when a
//! pension already protected by one authorization server is asked for by
//! another, the provider writes to the member (in the reference, a JSON
//! line on standard error stands for the letter or email) with a code,
//! and moves the pension only when the new wallet sends that code back.
//!
//! One code per pension is outstanding at a time, for fifteen minutes,
//! whichever wallet asked: asking again re-sends the same code and gives
//! no new tries. Five wrong tries lock the pension's confirmation until
//! the code expires. Guessing a six-digit code thus takes years.

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
    /// The authorization server the move is for.
    authorization_server: String,
    tries: u8,
    until: Instant,
}

/// What asking for a confirmation did.
#[derive(Debug, PartialEq, Eq)]
pub enum Issued {
    /// A code to send (a new one, or the live one again).
    Send(String),
    /// A move of this pension to another wallet is waiting for its code.
    OtherMoveWaiting,
    /// Too many wrong codes: wait for it to expire.
    Locked,
    Full,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    Confirmed,
    Wrong,
    /// No live code: none was sent, it expired, or it had too many tries.
    NoneOutstanding,
}

/// Codes by asset GUID.
#[derive(Default)]
pub struct Confirmations {
    outstanding: Mutex<HashMap<String, Outstanding>>,
    /// The codes sent, newest last (the reference's post, also written to
    /// standard error); the last hundred are kept.
    sent: Mutex<std::collections::VecDeque<(String, String)>>,
}

impl Confirmations {
    /// The code for moving `asset` to `authorization_server`: the live one
    /// if there is one for that server, else a new one.
    pub fn issue(&self, asset: &str, authorization_server: &str) -> Issued {
        let now = Instant::now();
        let mut outstanding = self.outstanding.lock();
        outstanding.retain(|_, o| o.until > now);
        if let Some(live) = outstanding.get(asset) {
            return if live.tries >= MAX_TRIES {
                Issued::Locked
            } else if live.authorization_server != authorization_server {
                Issued::OtherMoveWaiting
            } else {
                Issued::Send(live.code.clone())
            };
        }
        if outstanding.len() >= MAX_OUTSTANDING {
            return Issued::Full;
        }
        let mut bytes = [0u8; 4];
        SystemRandom::new().fill(&mut bytes).expect("OS random generator");
        let code = format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000);
        let entry = Outstanding { code: code.clone(), authorization_server: authorization_server.into(), tries: 0, until: now + TTL };
        outstanding.insert(asset.into(), entry);
        Issued::Send(code)
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

    /// Checks a code sent back; a right one is used up. A locked
    /// confirmation stays locked (and outstanding) until it expires.
    pub fn check(&self, asset: &str, authorization_server: &str, code: &str) -> Checked {
        use subtle::ConstantTimeEq;
        let mut outstanding = self.outstanding.lock();
        let live = outstanding.get_mut(asset).filter(|o| o.until > Instant::now() && o.authorization_server == authorization_server);
        let Some(entry) = live else { return Checked::NoneOutstanding };
        if entry.tries >= MAX_TRIES {
            return Checked::NoneOutstanding;
        }
        entry.tries += 1;
        if bool::from(entry.code.as_bytes().ct_eq(code.trim().as_bytes())) {
            outstanding.remove(asset);
            Checked::Confirmed
        } else {
            Checked::Wrong
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(issued: Issued) -> String {
        match issued {
            Issued::Send(code) => code,
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn a_code_confirms_once_for_its_pension_and_server_and_allows_five_tries() {
        let confirmations = Confirmations::default();
        let sent = code(confirmations.issue("asset-1", "https://new.example"));
        assert_eq!(confirmations.check("asset-1", "https://other.example", &sent), Checked::NoneOutstanding);
        assert_eq!(confirmations.check("asset-1", "https://new.example", "000000x"), Checked::Wrong);
        assert_eq!(confirmations.check("asset-1", "https://new.example", &sent), Checked::Confirmed);
        assert_eq!(confirmations.check("asset-1", "https://new.example", &sent), Checked::NoneOutstanding, "used up");

        let sent = code(confirmations.issue("asset-1", "https://new.example"));
        for _ in 0..MAX_TRIES {
            assert_eq!(confirmations.check("asset-1", "https://new.example", "wrong"), Checked::Wrong);
        }
        assert_eq!(confirmations.check("asset-1", "https://new.example", &sent), Checked::NoneOutstanding, "too many tries");
    }

    #[test]
    fn asking_again_gives_the_same_code_and_no_new_tries() {
        // Before: every request made a new code with five fresh tries, so
        // a wallet could guess without end.
        let confirmations = Confirmations::default();
        let sent = code(confirmations.issue("asset-1", "https://new.example"));
        for _ in 0..MAX_TRIES {
            assert_eq!(confirmations.check("asset-1", "https://new.example", "wrong"), Checked::Wrong);
        }
        assert_eq!(confirmations.issue("asset-1", "https://new.example"), Issued::Locked);
        assert_eq!(confirmations.check("asset-1", "https://new.example", &sent), Checked::NoneOutstanding);
        assert_eq!(confirmations.issue("asset-1", "https://other.example"), Issued::Locked, "another wallet cannot start over either");

        let confirmations = Confirmations::default();
        let first = code(confirmations.issue("asset-2", "https://new.example"));
        assert_eq!(code(confirmations.issue("asset-2", "https://new.example")), first);
        assert_eq!(confirmations.issue("asset-2", "https://other.example"), Issued::OtherMoveWaiting);
    }
}
