//! PDP find data and the matching rules.
//!
//! Verified means attested by a trusted identity service's credential
//! ([`FindData::attest`]); what a member or their wallet states is never
//! verified, whatever it says about itself ([`FindData::stated`]).
//!
//! A verified name and date of birth plus a verified NINO or postcode make
//! a `match-yes`. Name and date of birth agreeing otherwise (stated, or
//! without NINO or postcode) make a `match-possible`. Anything less is no
//! match. Find data is only read while matching; nothing of it is kept.

use crate::fixtures::{Catalogue, Member};
use serde::{Deserialize, Serialize};

/// One claimed fact and whether an identity service verified it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Item<T> {
    pub value: T,
    #[serde(default)]
    pub verified: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Name {
    pub given_name: String,
    pub family_name: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Address {
    #[serde(default)]
    pub lines: Vec<String>,
    pub postcode: String,
}

/// The find data carried in a find token (PDP data standards 1.001–1.021).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct FindData {
    #[serde(default)]
    pub names: Vec<Item<Name>>,
    #[serde(default)]
    pub date_of_birth: Option<Item<String>>,
    #[serde(default)]
    pub nino: Option<Item<String>>,
    #[serde(default)]
    pub addresses: Vec<Item<Address>>,
    #[serde(default)]
    pub emails: Vec<Item<String>>,
    #[serde(default)]
    pub mobiles: Vec<Item<String>>,
}

impl FindData {
    /// What the member states: every item unverified, whatever it claims.
    pub fn stated(mut self) -> FindData {
        self.names.iter_mut().for_each(|i| i.verified = false);
        self.addresses.iter_mut().for_each(|i| i.verified = false);
        self.emails.iter_mut().for_each(|i| i.verified = false);
        self.mobiles.iter_mut().for_each(|i| i.verified = false);
        for item in [&mut self.date_of_birth, &mut self.nino].into_iter().flatten() {
            item.verified = false;
        }
        self
    }

    /// Adds what an identity credential attests (SD-JWT VC claims), as
    /// verified: it replaces a stated date of birth or NINO.
    pub fn attest(&mut self, claims: &serde_json::Map<String, serde_json::Value>) {
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(String::from);
        if let (Some(given_name), Some(family_name)) = (text(claims.get("given_name")), text(claims.get("family_name"))) {
            self.names.push(Item { value: Name { given_name, family_name }, verified: true });
        }
        if let Some(birthdate) = text(claims.get("birthdate")) {
            self.date_of_birth = Some(Item { value: birthdate, verified: true });
        }
        if let Some(nino) = text(claims.get("national_insurance_number")) {
            self.nino = Some(Item { value: nino, verified: true });
        }
        if let Some(postcode) = text(claims.get("address").and_then(|a| a.get("postal_code"))) {
            self.addresses.push(Item { value: Address { lines: vec![], postcode }, verified: true });
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchStatus {
    MatchYes,
    MatchPossible,
}

fn normalise(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

fn name_agrees(data: &FindData, member: &Member, verified_only: bool) -> bool {
    data.names.iter().any(|n| {
        (n.verified || !verified_only)
            && normalise(&n.value.given_name) == normalise(&member.given_name)
            && normalise(&n.value.family_name) == normalise(&member.family_name)
    })
}

fn birth_agrees(data: &FindData, member: &Member, verified_only: bool) -> bool {
    data.date_of_birth.as_ref().is_some_and(|d| (d.verified || !verified_only) && d.value.trim() == member.date_of_birth)
}

/// Whether an identity service vouches for the asker's name and date of
/// birth, both are this member's, and it vouches for no National Insurance
/// number other than the member's: then even a possible match may say which
/// employers the pension is with, for the asker to recognise it. A postcode
/// that differs does not stop it (people move); a different NINO is another
/// person with the same name and birthday. Stated details never release it:
/// anyone can type a name and a birthday.
pub fn proven_name_and_birth(data: &FindData, member: &Member) -> bool {
    let other_nino = data.nino.as_ref().zip(member.nino.as_ref()).is_some_and(|(d, m)| d.verified && normalise(&d.value) != normalise(m));
    name_agrees(data, member, true) && birth_agrees(data, member, true) && !other_nino
}

/// How well `data` matches one member, if at all.
pub fn match_member(data: &FindData, member: &Member) -> Option<MatchStatus> {
    if !name_agrees(data, member, false) || !birth_agrees(data, member, false) {
        return None;
    }
    let nino = data.nino.as_ref().zip(member.nino.as_ref()).is_some_and(|(d, m)| d.verified && normalise(&d.value) == normalise(m));
    let postcode = member
        .postcode
        .as_ref()
        .is_some_and(|m| data.addresses.iter().any(|a| a.verified && normalise(&a.value.postcode) == normalise(m)));
    if proven_name_and_birth(data, member) && (nino || postcode) {
        Some(MatchStatus::MatchYes)
    } else {
        Some(MatchStatus::MatchPossible)
    }
}

/// Every member `data` matches, with how well.
pub fn find<'a>(catalogue: &'a Catalogue, data: &FindData) -> Vec<(&'a Member, MatchStatus)> {
    catalogue.members.iter().filter_map(|m| match_member(data, m).map(|s| (m, s))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(verified: bool) -> FindData {
        FindData {
            names: vec![Item { value: Name { given_name: "alice".into(), family_name: "ARCHER".into() }, verified }],
            date_of_birth: Some(Item { value: "1975-04-12".into(), verified }),
            nino: None,
            addresses: vec![Item { value: Address { lines: vec![], postcode: "sw1a 1aa".into() }, verified: true }],
            emails: vec![],
            mobiles: vec![],
        }
    }

    fn catalogue() -> Catalogue {
        Catalogue::load("acme").unwrap()
    }

    #[test]
    fn verified_name_dob_and_postcode_is_a_match() {
        let c = catalogue();
        let found = find(&c, &alice(true));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, MatchStatus::MatchYes);
    }

    #[test]
    fn verified_name_dob_and_nino_is_a_match() {
        let c = catalogue();
        let mut data = alice(true);
        data.addresses.clear();
        data.nino = Some(Item { value: "QQ 12 34 56 C".into(), verified: true });
        assert_eq!(find(&c, &data)[0].1, MatchStatus::MatchYes);
    }

    #[test]
    fn a_stated_nino_or_postcode_does_not_make_a_match() {
        let c = catalogue();
        let mut data = alice(true);
        data.addresses[0].verified = false;
        assert_eq!(find(&c, &data)[0].1, MatchStatus::MatchPossible);
        data.addresses.clear();
        data.nino = Some(Item { value: "QQ123456C".into(), verified: false });
        assert_eq!(find(&c, &data)[0].1, MatchStatus::MatchPossible);
    }

    #[test]
    fn what_a_member_states_is_never_verified_whatever_it_says() {
        let c = catalogue();
        let stated = alice(true).stated();
        assert!(stated.names.iter().chain([]).all(|n| !n.verified) && !stated.date_of_birth.as_ref().unwrap().verified);
        assert_eq!(find(&c, &stated)[0].1, MatchStatus::MatchPossible);
    }

    #[test]
    fn attested_claims_make_a_match() {
        let c = catalogue();
        let claims = serde_json::json!({
            "given_name": "Alice", "family_name": "Archer", "birthdate": "1975-04-12",
            "address": { "postal_code": "SW1A 1AA" },
        });
        let mut data = FindData::default();
        data.attest(claims.as_object().unwrap());
        assert_eq!(find(&c, &data)[0].1, MatchStatus::MatchYes);
    }

    #[test]
    fn unverified_or_incomplete_agreement_is_possible() {
        let c = catalogue();
        assert_eq!(find(&c, &alice(false))[0].1, MatchStatus::MatchPossible);
        let mut data = alice(true);
        data.addresses.clear();
        assert_eq!(find(&c, &data)[0].1, MatchStatus::MatchPossible);
    }

    #[test]
    fn employers_are_named_only_to_a_proven_name_and_birthday_with_no_other_nino() {
        let c = catalogue();
        let member = &c.members[0];
        assert!(proven_name_and_birth(&alice(true), member));
        assert!(!proven_name_and_birth(&alice(false), member), "typed details prove nothing");
        let mut moved = alice(true);
        moved.addresses = vec![Item { value: Address { lines: vec![], postcode: "LS1 4AP".into() }, verified: true }];
        assert!(proven_name_and_birth(&moved, member), "people move house");
        let mut namesake = alice(true);
        namesake.nino = Some(Item { value: "ZZ999999Z".into(), verified: true });
        // Another person with the same name and birthday: however much else
        // agrees, never a sure match, and no employers.
        assert_eq!(match_member(&namesake, member), Some(MatchStatus::MatchPossible));
        assert!(!proven_name_and_birth(&namesake, member));
    }

    #[test]
    fn wrong_date_of_birth_or_name_is_no_match() {
        let c = catalogue();
        let mut data = alice(true);
        data.date_of_birth = Some(Item { value: "1975-04-13".into(), verified: true });
        assert!(find(&c, &data).is_empty());
        let mut data = alice(true);
        data.names[0].value.family_name = "Smith".into();
        assert!(find(&c, &data).is_empty());
        assert!(find(&c, &FindData::default()).is_empty());
    }
}
