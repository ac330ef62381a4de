//! Verified domains: the names an org claims, the TXT record that proves a
//! claim, the DNS-over-HTTPS answer that record is read from, and what an
//! answer means for a claim (verify now, keep, lapse).
use super::FieldError;

/// Consumer mail domains, one a line (`#` comments): no org claims them.
const PUBLIC_EMAIL_DOMAINS: &str = include_str!("public_email_domains.txt");

/// The label the TXT record is published under: `_latchkey-verification.<domain>`.
pub const TXT_LABEL: &str = "_latchkey-verification";

/// What every record value starts with, so a domain's TXT set says whose it is.
pub const TXT_VALUE_PREFIX: &str = "latchkey-verification=";

/// Longest DNS name (RFC 1035, without the trailing dot).
const MAX_LEN: usize = 253;

/// Longest label.
const MAX_LABEL: usize = 63;

/// An exact DNS name an org may claim: lower-case A-labels, at least two
/// labels, no wildcard, no trailing dot, not an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainName(String);

impl DomainName {
    /// Parses `raw` as typed: trimmed, lower-cased, one trailing dot dropped.
    pub fn parse(raw: &str) -> Result<DomainName, FieldError> {
        let bad = |why: &str| FieldError::new("domain", "invalid_domain", why.to_owned());
        let lowered = raw.trim().to_ascii_lowercase();
        let name = lowered.strip_suffix('.').unwrap_or(&lowered);
        if name.contains('*') {
            return Err(bad("no wildcards: add each exact name (a subdomain is its own domain)"));
        }
        if !name.is_ascii() {
            return Err(bad("use the ASCII (xn--…) form of an internationalised name"));
        }
        if name.is_empty() || name.len() > MAX_LEN {
            return Err(bad("must be a host name of at most 253 characters"));
        }
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() < 2 {
            return Err(bad("must have at least two labels, e.g. example.com"));
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= MAX_LABEL
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(bad("each label is 1 to 63 letters, digits or inner hyphens"));
            }
        }
        // A numeric top label is an IP address, not a name.
        if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err(bad("must be a host name, not an IP address"));
        }
        Ok(DomainName(name.to_owned()))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether anyone can get an address here (gmail.com, outlook.com, …).
    pub fn is_public_email_domain(&self) -> bool {
        PUBLIC_EMAIL_DOMAINS.lines().map(str::trim).any(|line| line == self.0)
    }

    /// Where the TXT record goes.
    pub fn txt_name(&self) -> String {
        txt_name(&self.0)
    }
}

/// Where the TXT record of `domain` goes.
pub fn txt_name(domain: &str) -> String {
    format!("{TXT_LABEL}.{domain}")
}

/// The record value for a random token (hex of 16 random bytes).
pub fn txt_value(random: [u8; 16]) -> String {
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TXT_VALUE_PREFIX}{hex}")
}

/// What a verified domain does for people whose verified email is on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrollment {
    /// Nothing.
    None,
    /// The org is listed in their `GET /v1/me/suggested-orgs`.
    Suggest,
    /// They become members (with the domain's role) at verification or sign-in, once.
    AutoJoin,
}

impl Enrollment {
    /// Wire and column name.
    pub fn as_str(self) -> &'static str {
        match self {
            Enrollment::None => "none",
            Enrollment::Suggest => "suggest",
            Enrollment::AutoJoin => "auto_join",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Enrollment> {
        [Enrollment::None, Enrollment::Suggest, Enrollment::AutoJoin].into_iter().find(|e| e.as_str() == raw)
    }
}

/// A DNS-over-HTTPS answer for a TXT question (RFC 8484's JSON dialect, as
/// Cloudflare and Google serve it with `accept: application/dns-json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtAnswer {
    /// The resolver answered for the name (NOERROR or NXDOMAIN): these are
    /// all its TXT strings (each record's strings joined), possibly none.
    Records(Vec<String>),
    /// No authoritative answer (transport failure, HTTP error, SERVFAIL,
    /// a body that is not the JSON dialect): nothing can be concluded.
    Unknown(String),
}

/// Reads a resolver's answer (HTTP status and body).
pub fn parse_txt_answer(http_status: u16, body: &[u8]) -> TxtAnswer {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "type")]
        kind: u16,
        data: String,
    }
    #[derive(serde::Deserialize)]
    struct Doh {
        #[serde(rename = "Status")]
        status: u16,
        #[serde(rename = "Answer", default)]
        answer: Vec<Answer>,
    }
    if http_status != 200 {
        return TxtAnswer::Unknown(format!("the resolver answered HTTP {http_status}"));
    }
    let doh: Doh = match serde_json::from_slice(body) {
        Ok(d) => d,
        Err(_) => return TxtAnswer::Unknown("the resolver's answer is not DNS JSON".into()),
    };
    // 0 NOERROR, 3 NXDOMAIN: the name's records, or that it has none.
    match doh.status {
        0 => TxtAnswer::Records(doh.answer.iter().filter(|a| a.kind == 16).map(|a| txt_data(&a.data)).collect()),
        3 => TxtAnswer::Records(Vec::new()),
        rcode => TxtAnswer::Unknown(format!("the resolver answered DNS status {rcode}")),
    }
}

/// A TXT record's `data` as one string: `"a" "b"` (quoted character
/// strings, with `\"` and `\\` escapes) joined, or the bare text some
/// resolvers send.
fn txt_data(data: &str) -> String {
    let data = data.trim();
    if !data.starts_with('"') {
        return data.to_owned();
    }
    let mut out = String::new();
    let mut chars = data.chars();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (_, '"') => quoted = !quoted,
            (true, '\\') => out.extend(chars.next()),
            (true, c) => out.push(c),
            (false, _) => {}
        }
    }
    out
}

/// Whether an answer holds the expected value (exactly, spaces around trimmed).
pub fn holds(records: &[String], expected: &str) -> bool {
    records.iter().any(|r| r.trim() == expected)
}

/// The records found, for people: at most 5, each cut at 100 characters.
pub fn describe(records: &[String]) -> String {
    if records.is_empty() {
        return "no TXT record".into();
    }
    let shown: Vec<String> = records
        .iter()
        .take(5)
        .map(|r| {
            let cut: String = r.chars().take(100).collect();
            format!("{cut:?}")
        })
        .collect();
    let more = records.len().saturating_sub(5);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("{}{tail}", shown.join(", "))
}

/// What the daily re-check of a verified domain comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// The record is there: checked again in a day.
    Holds,
    /// The resolver answered and the record is gone: the domain lapses.
    Lapsed {
        /// What was found instead ([`describe`]).
        found: String,
    },
    /// No answer to judge by: nothing changes, tried again later.
    Unknown(String),
}

/// Judges a re-check's answer. One clear answer without the record lapses
/// the domain; a failed look-up never does (a resolver outage must not
/// strip every org of its domains).
pub fn recheck(answer: &TxtAnswer, expected: &str) -> Recheck {
    match answer {
        TxtAnswer::Records(records) if holds(records, expected) => Recheck::Holds,
        TxtAnswer::Records(records) => Recheck::Lapsed { found: describe(records) },
        TxtAnswer::Unknown(why) => Recheck::Unknown(why.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_exact() {
        assert_eq!(DomainName::parse(" Example.COM. ").unwrap().as_str(), "example.com");
        assert_eq!(DomainName::parse("eu.corp.example").unwrap().as_str(), "eu.corp.example");
        assert_eq!(DomainName::parse("xn--bcher-kva.example").unwrap().as_str(), "xn--bcher-kva.example");
        assert_eq!(DomainName::parse("example.com").unwrap().txt_name(), "_latchkey-verification.example.com");
    }

    #[test]
    fn malformed_names_are_refused() {
        for (raw, why) in [
            ("", "empty"),
            ("*.example.com", "wildcard"),
            ("example", "one label"),
            ("exa mple.com", "space"),
            ("-a.example.com", "leading hyphen"),
            ("a-.example.com", "trailing hyphen"),
            ("a..example.com", "empty label"),
            ("_dmarc.example.com", "underscore"),
            ("192.168.0.1", "IPv4"),
            ("[::1]", "IPv6"),
            ("bücher.example", "U-label"),
            ("https://example.com", "URL"),
            ("ada@example.com", "address"),
        ] {
            assert!(DomainName::parse(raw).is_err(), "{why}: {raw:?} should be refused");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(DomainName::parse(&long_label).is_err(), "label over 63");
        let long = format!("{}com", "abcdefghi.".repeat(26));
        assert!(DomainName::parse(&long).is_err(), "over 253");
    }

    #[test]
    fn consumer_mail_domains_are_known_exactly() {
        for d in ["gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me"] {
            assert!(DomainName::parse(d).unwrap().is_public_email_domain(), "{d}");
        }
        for d in ["corp.gmail.com.example", "example.com", "mail.example.com"] {
            assert!(!DomainName::parse(d).unwrap().is_public_email_domain(), "{d}");
        }
        assert!(PUBLIC_EMAIL_DOMAINS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .all(|l| DomainName::parse(l).map(|d| d.as_str() == l).unwrap_or(false)));
    }

    #[test]
    fn resolver_answers_are_read_in_the_json_dialect() {
        let body = br#"{"Status":0,"Answer":[
            {"name":"x","type":5,"TTL":1,"data":"cname.example."},
            {"name":"x","type":16,"TTL":1,"data":"\"latchkey-verification=ab\" \"cd\""},
            {"name":"x","type":16,"TTL":1,"data":"\"v=spf1 \\\"q\\\" -all\""},
            {"name":"x","type":16,"TTL":1,"data":"bare text"}]}"#;
        assert_eq!(
            parse_txt_answer(200, body),
            TxtAnswer::Records(vec![
                "latchkey-verification=abcd".into(),
                "v=spf1 \"q\" -all".into(),
                "bare text".into()
            ])
        );
        assert_eq!(parse_txt_answer(200, br#"{"Status":3}"#), TxtAnswer::Records(vec![]));
        assert_eq!(parse_txt_answer(200, br#"{"Status":0}"#), TxtAnswer::Records(vec![]));
        assert!(matches!(parse_txt_answer(200, br#"{"Status":2}"#), TxtAnswer::Unknown(_)));
        assert!(matches!(parse_txt_answer(502, b""), TxtAnswer::Unknown(_)));
        assert!(matches!(parse_txt_answer(200, b"<html>"), TxtAnswer::Unknown(_)));
    }

    #[test]
    fn only_a_clear_answer_without_the_record_lapses_a_domain() {
        let want = "latchkey-verification=00";
        let records = |r: &[&str]| TxtAnswer::Records(r.iter().map(|s| s.to_string()).collect());
        assert_eq!(recheck(&records(&["other", want]), want), Recheck::Holds);
        assert_eq!(recheck(&records(&[]), want), Recheck::Lapsed { found: "no TXT record".into() });
        assert_eq!(
            recheck(&records(&["latchkey-verification=01"]), want),
            Recheck::Lapsed { found: "\"latchkey-verification=01\"".into() }
        );
        assert!(matches!(recheck(&TxtAnswer::Unknown("down".into()), want), Recheck::Unknown(_)));
        // A value that merely contains the expected one is not it.
        assert!(!holds(&["xlatchkey-verification=00".into()], want));
    }
}
