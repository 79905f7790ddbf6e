//! PDP find data and the matching rules.
//!
//! A verified name and date of birth plus the NINO or the postcode make a
//! `match-yes`. Name and date of birth agreeing otherwise (unverified, or
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchStatus {
    MatchYes,
    MatchPossible,
}

fn normalise(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// How well `data` matches one member, if at all.
pub fn match_member(data: &FindData, member: &Member) -> Option<MatchStatus> {
    let name = |verified_only: bool| {
        data.names.iter().any(|n| {
            (n.verified || !verified_only)
                && normalise(&n.value.given_name) == normalise(&member.given_name)
                && normalise(&n.value.family_name) == normalise(&member.family_name)
        })
    };
    let dob = |verified_only: bool| {
        data.date_of_birth.as_ref().is_some_and(|d| (d.verified || !verified_only) && d.value.trim() == member.date_of_birth)
    };
    if !name(false) || !dob(false) {
        return None;
    }
    let nino = data.nino.as_ref().zip(member.nino.as_ref()).is_some_and(|(d, m)| normalise(&d.value) == normalise(m));
    let postcode = member
        .postcode
        .as_ref()
        .is_some_and(|m| data.addresses.iter().any(|a| normalise(&a.value.postcode) == normalise(m)));
    if name(true) && dob(true) && (nino || postcode) {
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
        data.nino = Some(Item { value: "QQ 12 34 56 C".into(), verified: false });
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
