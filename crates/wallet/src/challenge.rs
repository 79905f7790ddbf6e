//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1) and the UMA one among
//! them (Grant §3.2: `UMA realm="…", as_uri="…", ticket="…"`).
//!
//! A header may hold several challenges, each a scheme followed by
//! comma-separated `name=value` parameters whose values are tokens or
//! quoted strings with backslash escapes. A token not followed by `=`
//! starts the next challenge.

/// One challenge: its scheme and parameters (names lowercased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The UMA challenge of a resource server that answered without access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UmaChallenge {
    pub realm: Option<String>,
    pub as_uri: String,
    pub ticket: String,
}

impl UmaChallenge {
    /// The first UMA challenge in a `WWW-Authenticate` value that carries
    /// both `as_uri` and `ticket`.
    pub fn find(header: &str) -> Option<UmaChallenge> {
        parse(header).ok()?.into_iter().filter(|c| c.scheme.eq_ignore_ascii_case("UMA")).find_map(|c| {
            Some(UmaChallenge { realm: c.param("realm").map(String::from), as_uri: c.param("as_uri")?.into(), ticket: c.param("ticket")?.into() })
        })
    }
}

/// Why a header value is not a list of challenges.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed WWW-Authenticate at byte {0}")]
pub struct Malformed(pub usize);

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.at < self.bytes.len() && matches!(self.bytes[self.at], b' ' | b'\t') {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn token(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        (self.at > start).then(|| String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned())
    }

    /// A quoted string, the cursor on its opening quote.
    fn quoted(&mut self) -> Result<String, Malformed> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(Malformed(self.at)),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    let escaped = *self.bytes.get(self.at + 1).ok_or(Malformed(self.at))?;
                    out.push(escaped);
                    self.at += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }
}

/// Every challenge in a `WWW-Authenticate` value.
pub fn parse(header: &str) -> Result<Vec<Challenge>, Malformed> {
    let mut c = Cursor { bytes: header.as_bytes(), at: 0 };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        c.skip_space();
        while c.peek() == Some(b',') {
            c.at += 1;
            c.skip_space();
        }
        let Some(word) = c.token() else {
            return if c.peek().is_none() { Ok(out) } else { Err(Malformed(c.at)) };
        };
        c.skip_space();
        // Parameters only: this parser takes no token68 credentials, which
        // no resource server here sends.
        if c.peek() == Some(b'=') && !out.is_empty() {
            // A parameter of the current challenge.
            c.at += 1;
            c.skip_space();
            let value = match c.peek() {
                Some(b'"') => c.quoted()?,
                _ => c.token().ok_or(Malformed(c.at))?,
            };
            out.last_mut().expect("checked above").params.push((word.to_ascii_lowercase(), value));
        } else if c.peek() == Some(b'=') {
            return Err(Malformed(c.at));
        } else {
            out.push(Challenge { scheme: word, params: Vec::new() });
        }
        c.skip_space();
        match c.peek() {
            None => return Ok(out),
            Some(b',') => c.at += 1,
            Some(_) if c.peek().is_some_and(is_tchar) => {}
            Some(_) => return Err(Malformed(c.at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uma_challenge_is_found_among_others_with_escapes_and_spacing() {
        let header = r#"Bearer realm="x", error="invalid_token", UMA realm="pension-provider", as_uri="https://wallet.example", ticket="t\"1""#;
        let found = UmaChallenge::find(header).unwrap();
        assert_eq!(found, UmaChallenge { realm: Some("pension-provider".into()), as_uri: "https://wallet.example".into(), ticket: "t\"1".into() });
        let spaced = "UMA  as_uri = \"http://127.0.0.1:7420\" ,ticket=abc123";
        assert_eq!(UmaChallenge::find(spaced).unwrap().ticket, "abc123");
    }

    #[test]
    fn a_challenge_missing_a_ticket_or_malformed_is_not_used() {
        assert!(UmaChallenge::find(r#"UMA as_uri="https://a""#).is_none());
        assert!(UmaChallenge::find(r#"Bearer as_uri="https://a", ticket="t""#).is_none(), "another scheme's parameters");
        assert!(UmaChallenge::find(r#"UMA as_uri="https://a", ticket="unterminated"#).is_none());
        assert!(parse("=x").is_err());
        assert!(parse("UMA ticket=\u{0}").is_err());
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn a_split_ticket_cannot_smuggle_another_as_uri() {
        // The old split-on-`as_uri="` reading took the second, attacker-placed value.
        let header = r#"UMA realm="as_uri=\"https://evil\"", as_uri="https://wallet.example", ticket="t""#;
        assert_eq!(UmaChallenge::find(header).unwrap().as_uri, "https://wallet.example");
    }
}
