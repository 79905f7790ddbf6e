//! The permission ticket's life (Grant §3.2, §3.3.1, §5.4), as plain
//! functions of what is stored and who shows it, with `now` passed in:
//!
//! - **issued** to a resource server for the permissions it asked for
//!   ([`issued`]), bound to no client yet;
//! - **shown** by a client at the token endpoint ([`show`]): usable once,
//!   and used up whatever the answer; a ticket bound to another client, or
//!   not for what the caller expected, is refused *before* it is used, so
//!   whoever learnt it cannot cancel its client's flow;
//! - **next**: each answer that lets the client go on (`need_info`,
//!   `request_submitted`) carries a new ticket in the same chain, bound to
//!   that client ([`next`]);
//! - **spent** ([`spent`]): what a used ticket leaves behind, naming the
//!   RPTs it gave, until it could no longer matter;
//! - **shown again**: by the client that used it, a replay, and the RPTs it
//!   gave are revoked; by anyone else, refused, and nothing is revoked.
//!
//! Sealing, storage, audit and HTTP are the callers' ([`crate::token`],
//! [`crate::permission`], [`crate::ticket_seal`], [`crate::hot`]).

use crate::clock::UnixTime;
use crate::id::{ClientId, RequestId, ResourceId};
use crate::model::{Permission, RequestingParty, SpentTicket, TicketRecord, TicketSlot};
use crate::secret::SecretHash;

/// What the wallet's own reads require of a ticket a provider handed it:
/// issued for that provider, and for exactly the resource being read.
#[derive(Clone, Copy, Debug)]
pub struct ExpectedTicket<'a> {
    pub resource_server: &'a ClientId,
    pub resource_id: &'a ResourceId,
}

impl ExpectedTicket<'_> {
    fn admits(&self, ticket: &TicketRecord) -> bool {
        ticket.resource_server == *self.resource_server
            && !ticket.permissions.is_empty()
            && ticket.permissions.iter().all(|p| p.resource_id == *self.resource_id)
    }
}

/// What showing a ticket comes to.
#[derive(Debug, PartialEq)]
pub enum Showing {
    /// Usable: it must be spent now, whatever the answer. An expired one is
    /// used up too, and refused ([`Refusal::Expired`]) by the grant.
    Usable(TicketRecord),
    /// Refused, and nothing changes.
    Refused(Refusal),
    /// Its own user showed it again: refused, and these RPTs are revoked.
    Replayed { revoke: Vec<SecretHash> },
}

/// Why a ticket was refused. Each is an `invalid_grant` (Grant §3.3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    /// Bound to another client.
    Foreign,
    /// Not for the resource the caller expected.
    Unexpected,
    /// Already used, by another client.
    Used,
    Expired,
    /// Issued before the server restarted after a crash (see [`crate::hot`]).
    Void,
}

impl Refusal {
    /// The audit record's action.
    pub fn action(self) -> &'static str {
        match self {
            Refusal::Unknown => "token.unknown_ticket",
            Refusal::Foreign => "token.foreign_ticket",
            Refusal::Unexpected => "token.unexpected_ticket",
            Refusal::Used => "token.used_ticket",
            Refusal::Expired => "token.expired_ticket",
            Refusal::Void => "token.void_ticket",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown ticket",
            Refusal::Foreign => "the ticket was issued to another client",
            Refusal::Unexpected => "the ticket is not for the resource that was asked for",
            Refusal::Used => "the ticket was already used",
            Refusal::Expired => "the ticket has expired",
            Refusal::Void => "the ticket was issued before the authorization server restarted; ask the resource server for a new one",
        }
    }
}

/// A fresh ticket for a resource server's permission request.
pub fn issued(resource_server: &ClientId, permissions: Vec<Permission>, now: UnixTime, ttl: i64) -> TicketRecord {
    TicketRecord {
        permissions,
        resource_server: resource_server.clone(),
        issued_at: now,
        expires_at: now + ttl,
        client_id: None,
        pending_request: None,
        party: RequestingParty::default(),
    }
}

/// `presenter` shows the ticket stored as `slot`.
pub fn show(slot: Option<TicketSlot>, presenter: &ClientId, expected: Option<ExpectedTicket<'_>>) -> Showing {
    match slot {
        None => Showing::Refused(Refusal::Unknown),
        Some(TicketSlot::Spent(spent)) if spent.client_id.as_ref() == Some(presenter) => Showing::Replayed { revoke: spent.rpts },
        Some(TicketSlot::Spent(_)) => Showing::Refused(Refusal::Used),
        Some(TicketSlot::Live(ticket)) if ticket.client_id.as_ref().is_some_and(|c| c != presenter) => Showing::Refused(Refusal::Foreign),
        Some(TicketSlot::Live(ticket)) if expected.is_some_and(|e| !e.admits(&ticket)) => Showing::Refused(Refusal::Unexpected),
        Some(TicketSlot::Live(ticket)) => Showing::Usable(ticket),
    }
}

/// Whether a usable ticket has run out: it is used up all the same.
pub fn expired(ticket: &TicketRecord, now: UnixTime) -> bool {
    ticket.expires_at <= now
}

/// The ticket after `presenter` used it, naming the RPTs it gave. It is
/// kept until no RPT issued from it could still be live: `rpt_ttl` past
/// the later of its own end and now.
pub fn spent(ticket: &TicketRecord, presenter: &ClientId, rpts: Vec<SecretHash>, now: UnixTime, rpt_ttl: i64) -> SpentTicket {
    SpentTicket { rpts, expires_at: ticket.expires_at.max(now) + rpt_ttl, client_id: Some(presenter.clone()) }
}

/// The next ticket in the chain: the same permissions, now bound to
/// `presenter`, carrying the claims gathered so far and, while the owner is
/// asked, her pending request (with the longer polling lifetime).
pub fn next(ticket: &TicketRecord, presenter: &ClientId, party: RequestingParty, pending: Option<RequestId>, now: UnixTime, ttl: i64) -> TicketRecord {
    TicketRecord {
        permissions: ticket.permissions.clone(),
        resource_server: ticket.resource_server.clone(),
        issued_at: now,
        expires_at: now + ttl,
        client_id: Some(presenter.clone()),
        pending_request: pending,
        party,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn permission(resource: &str) -> Permission {
        Permission { resource_id: resource.into(), resource_scopes: vec!["value".into()] }
    }

    fn rpt(n: u8) -> SecretHash {
        SecretHash([n; 32])
    }

    #[test]
    fn a_fresh_ticket_is_usable_by_any_client_and_used_up_by_the_first() {
        let ticket = issued(&"rs".into(), vec![permission("r1")], 100, 300);
        assert_eq!((ticket.issued_at, ticket.expires_at, ticket.client_id.as_ref().map(ClientId::as_str)), (100, 400, None));
        assert_eq!(show(Some(TicketSlot::Live(ticket.clone())), &"app".into(), None), Showing::Usable(ticket.clone()));
        let used = spent(&ticket, &"app".into(), vec![rpt(1)], 150, 3600);
        assert_eq!((used.expires_at, used.client_id.as_ref().map(ClientId::as_str)), (400 + 3600, Some("app")));
    }

    #[test]
    fn shown_again_by_its_user_is_a_replay_that_revokes_what_it_gave_and_by_another_is_refused() {
        let ticket = issued(&"rs".into(), vec![permission("r1")], 100, 300);
        let used = TicketSlot::Spent(spent(&ticket, &"app".into(), vec![rpt(1), rpt(2)], 150, 3600));
        assert_eq!(show(Some(used.clone()), &"app".into(), None), Showing::Replayed { revoke: vec![rpt(1), rpt(2)] });
        assert_eq!(show(Some(used), &"thief".into(), None), Showing::Refused(Refusal::Used));
        assert_eq!(show(None, &"app".into(), None), Showing::Refused(Refusal::Unknown));
    }

    #[test]
    fn a_next_ticket_is_bound_to_its_client_and_refused_to_any_other_before_it_is_used() {
        let first = issued(&"rs".into(), vec![permission("r1")], 100, 300);
        let polling = next(&first, &"app".into(), RequestingParty::default(), Some("req-1".into()), 200, 86_400);
        assert_eq!((polling.client_id.as_ref().map(ClientId::as_str), polling.pending_request.as_ref().map(RequestId::as_str), polling.expires_at), (Some("app"), Some("req-1"), 86_600));
        assert_eq!(polling.permissions, first.permissions);
        assert_eq!(show(Some(TicketSlot::Live(polling.clone())), &"thief".into(), None), Showing::Refused(Refusal::Foreign));
        assert_eq!(show(Some(TicketSlot::Live(polling.clone())), &"app".into(), None), Showing::Usable(polling));
    }

    #[test]
    fn a_caller_expecting_one_resource_refuses_a_ticket_for_anything_else() {
        let expected = ExpectedTicket { resource_server: &"rs".into(), resource_id: &"r1".into() };
        let other_resource = issued(&"rs".into(), vec![permission("r1"), permission("r2")], 0, 300);
        let other_server = issued(&"rs-2".into(), vec![permission("r1")], 0, 300);
        let nothing = issued(&"rs".into(), vec![], 0, 300);
        for ticket in [other_resource, other_server, nothing] {
            assert_eq!(show(Some(TicketSlot::Live(ticket)), &"wallet".into(), Some(expected)), Showing::Refused(Refusal::Unexpected));
        }
        let right = issued(&"rs".into(), vec![permission("r1")], 0, 300);
        assert_eq!(show(Some(TicketSlot::Live(right.clone())), &"wallet".into(), Some(expected)), Showing::Usable(right));
    }

    #[test]
    fn an_expired_ticket_is_still_used_up_and_kept_past_now() {
        let ticket = issued(&"rs".into(), vec![permission("r1")], 0, 300);
        assert!(!expired(&ticket, 299) && expired(&ticket, 300));
        assert_eq!(spent(&ticket, &"app".into(), vec![], 1000, 60).expires_at, 1060);
    }

    #[derive(Clone, Debug)]
    enum Step {
        /// A client (0 or 1; 2 is a stranger) shows the current ticket.
        Show(usize),
        /// The chain goes on: the last user gets a next ticket.
        Next,
    }

    proptest! {
        /// Over any sequence of showings: each ticket is usable at most
        /// once; only its user's second showing is a replay; a stranger
        /// never uses a bound ticket nor revokes anything.
        #[test]
        fn any_sequence_of_showings_uses_each_ticket_once(steps in prop::collection::vec(
            prop_oneof![3 => (0..3usize).prop_map(Step::Show), 1 => Just(Step::Next)], 1..40)) {
            let clients: [ClientId; 3] = ["app".into(), "other-app".into(), "stranger".into()];
            let mut current = issued(&"rs".into(), vec![permission("r1")], 0, 300);
            let mut slot = Some(TicketSlot::Live(current.clone()));
            let mut used_by: Option<&ClientId> = None;
            let mut now = 0;
            for step in steps {
                now += 1;
                match step {
                    Step::Show(c) => {
                        let presenter = &clients[c];
                        match show(slot.clone(), presenter, None) {
                            Showing::Usable(t) => {
                                prop_assert!(used_by.is_none(), "used twice");
                                prop_assert!(t.client_id.as_ref().is_none_or(|bound| bound == presenter));
                                used_by = Some(presenter);
                                slot = Some(TicketSlot::Spent(spent(&t, presenter, vec![rpt(c as u8)], now, 60)));
                            }
                            Showing::Replayed { revoke } => {
                                prop_assert_eq!(used_by, Some(presenter));
                                prop_assert_eq!(revoke, vec![rpt(c as u8)]);
                            }
                            Showing::Refused(why) => {
                                prop_assert!(matches!(why, Refusal::Used | Refusal::Foreign));
                                if why == Refusal::Used { prop_assert!(used_by.is_some_and(|u| u != presenter)); }
                            }
                        }
                    }
                    Step::Next => {
                        if let Some(user) = used_by {
                            current = next(&current, user, RequestingParty::default(), None, now, 300);
                            slot = Some(TicketSlot::Live(current.clone()));
                            used_by = None;
                        }
                    }
                }
            }
        }
    }
}
