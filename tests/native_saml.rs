//! SAML 2.0 single sign-on (issue 24): the verifier (`domain::saml`) against
//! Responses signed by an independent implementation, Debian's `xmlsec1`
//! (tests/support/saml_idp.rs, with its own RSA or P-256 key), and against
//! the classic attacks; then the whole flow over the real router and SQLite:
//! the connection from IdP metadata, our SP metadata, the AuthnRequest bound
//! to the browser that started it, the ACS, the login code, just-in-time
//! membership, and the attacks at the use case (another browser's request,
//! a replayed assertion, an address off the connection's domains).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_dns::FakeDns;
use crate::saml_idp::{form_body, new_id, read_request, xml_time, Issue, KeyKind, SamlIdp};
use crate::testapp::*;
use latchkey::domain::saml::{self, Expected, Refusal};
use latchkey::stmt;
use serde_json::{json, Value};

type Fixture = crate::testapp::Fixture<TestApp>;

const ACS: &str = "http://app.test/v1/sso/ssc_0123456789abcdef0123456789abcdef/acs";
const SP: &str = "http://app.test/v1/sso/ssc_0123456789abcdef0123456789abcdef/metadata";
const IDP: &str = "https://idp.example.net/saml";
const NOW: i64 = START;

fn issue() -> Issue {
    Issue {
        request_id: "_request-1".into(),
        acs_url: ACS.into(),
        audience: SP.into(),
        name_id: "ann@example.com".into(),
        assertion_id: new_id(),
        now: NOW,
        lifetime: 300,
        attributes: String::new(),
    }
}

fn check(idp: &SamlIdp, xml: &str, now: i64) -> Result<saml::Verified, Refusal> {
    let keys = saml::keys_of(std::slice::from_ref(&idp.cert_b64));
    assert_eq!(keys.len(), 1, "the fake's certificate parses");
    let want =
        Expected { request_id: "_request-1", acs_url: ACS, sp_entity_id: SP, idp_entity_id: IDP, keys: &keys, now };
    saml::verify(xml, &want)
}

#[test]
fn responses_signed_by_xmlsec1_verify_with_rsa_and_p256_keys() {
    for kind in [KeyKind::Rsa, KeyKind::P256] {
        let idp = SamlIdp::new(kind, IDP);
        let i = issue();
        let xml = idp.response(&i);
        let got = check(&idp, &xml, NOW).unwrap_or_else(|e| panic!("{kind:?}: {e}\n{xml}"));
        assert_eq!(got.assertion_id, i.assertion_id);
        assert_eq!(got.name_id, "ann@example.com");
        assert_eq!(got.email.as_deref(), Some("ann@example.com"));
        assert_eq!(got.name.as_deref(), Some("Fake Person"));
        assert_eq!(got.expires_at, NOW + 300 + saml::CLOCK_SKEW);
        // The signature survives the whitespace and line breaks xmlsec1
        // puts in base64, and our reading of its metadata.
        let meta = saml::idp_metadata(&idp.metadata("https://idp.example.net/sso"), false).unwrap();
        assert_eq!(meta.entity_id, IDP);
        assert_eq!(meta.sso_url, "https://idp.example.net/sso", "the HTTP-Redirect one, not the POST one");
        assert_eq!(meta.certificates, vec![idp.cert_b64.clone()]);
    }
}

#[test]
fn the_clock_skew_is_three_minutes_either_way() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let xml = idp.response(&issue());
    // NotBefore is now - 60; NotOnOrAfter now + 300.
    assert!(check(&idp, &xml, NOW - 60 - 170).is_ok());
    assert_eq!(check(&idp, &xml, NOW - 60 - 190).err(), Some(Refusal::NotYetValid));
    assert!(check(&idp, &xml, NOW + 300 + 170).is_ok());
    assert_eq!(check(&idp, &xml, NOW + 300 + 180).err(), Some(Refusal::Expired));
}

#[test]
fn signature_wrapping_is_refused_in_both_forms() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let i = issue();
    let signed = idp.response(&i);
    let start = signed.find("<saml:Assertion").unwrap();
    let end = signed.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let original = &signed[start..end];
    // The attacker's assertion: same ID, another subject, no valid signature.
    let evil = original.replace("ann@example.com", "boss@example.com");
    let evil_unsigned = {
        let s = evil.find("<ds:Signature").unwrap();
        let e = evil.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        format!("{}{}", &evil[..s], &evil[e..])
    };
    // Form 1: the evil assertion first, the signed original after it (a
    // verifier that finds "the" signed element by ID, then reads the
    // first assertion, is fooled).
    let form1 = signed.replace(original, &format!("{evil_unsigned}{original}"));
    assert_eq!(check(&idp, &form1, NOW).err(), Some(Refusal::AssertionCount));
    // Form 2: the original hidden inside the evil one (in an element a
    // schema-lax reader skips), the evil one carrying the original's
    // signature.
    let sig_start = original.find("<ds:Signature").unwrap();
    let sig_end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &original[sig_start..sig_end];
    let hidden = evil_unsigned.replacen(
        "<saml:Subject>",
        &format!("{signature}<saml:Advice>{original}</saml:Advice><saml:Subject>"),
        1,
    );
    let form2 = signed.replace(original, &hidden);
    assert_eq!(check(&idp, &form2, NOW).err(), Some(Refusal::AssertionCount));
    // Form 2 without the copy: the evil assertion under the original's
    // signature alone fails the digest.
    let moved = evil_unsigned.replacen("<saml:Subject>", &format!("{signature}<saml:Subject>"), 1);
    let form3 = signed.replace(original, &moved);
    assert_eq!(check(&idp, &form3, NOW).err(), Some(Refusal::Digest));
    // The original, its ID repeated on another element of the Response.
    let twin = signed.replacen("<samlp:Status>", &format!("<samlp:Status ID=\"{}\">", i.assertion_id), 1);
    assert_eq!(check(&idp, &twin, NOW).err(), Some(Refusal::SignatureShape));
    assert!(check(&idp, &signed, NOW).is_ok());
}

#[test]
fn a_comment_in_the_name_id_does_not_truncate_it() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let i = Issue { name_id: "ann@example.com<!-- -->.evil.test".into(), ..issue() };
    let xml = idp.response(&i);
    assert!(xml.contains("<!-- -->"), "xmlsec1 keeps the comment (C14N without comments signs around it)");
    let got = check(&idp, &xml, NOW).unwrap();
    assert_eq!(got.name_id, "ann@example.com.evil.test");
    assert_eq!(got.email.as_deref(), Some("ann@example.com.evil.test"), "never ann@example.com");
}

/// What the digest leaves out (the Signature's KeyInfo, an Object) is never
/// read: an address planted there after signing, beside an opaque NameID,
/// signs nobody in as its holder.
#[test]
fn attributes_planted_under_the_signature_after_signing_are_never_read() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let i = Issue { name_id: "u-123".into(), ..issue() };
    let signed = idp.response(&i);
    assert_eq!(check(&idp, &signed, NOW).unwrap().email, None, "an opaque NameID is no address");
    let planted = format!(
        r#"<saml:Attribute xmlns:saml="{}" Name="email"><saml:AttributeValue>owner@acme.test</saml:AttributeValue></saml:Attribute>"#,
        saml::NS_ASSERTION
    );
    let in_key_info = signed.replacen("<ds:KeyInfo>", &format!("<ds:KeyInfo>{planted}"), 1);
    let in_object = signed.replacen("</ds:KeyInfo>", &format!("</ds:KeyInfo><ds:Object>{planted}</ds:Object>"), 1);
    for (what, xml) in [("KeyInfo", in_key_info), ("Object", in_object)] {
        assert!(xml.contains("owner@acme.test"), "{what}: planted");
        match check(&idp, &xml, NOW) {
            Ok(got) => assert_eq!(got.email, None, "{what}: the planted address is read"),
            Err(refusal) => assert!(matches!(refusal, Refusal::SignatureShape), "{what}: {refusal}"),
        }
    }
    // A persistent (or transient) NameID is an opaque id even with an '@'.
    let persistent = idp.sign(
        &idp.wrap(&i, &idp.assertion(&Issue { name_id: "owner@acme.test".into(), ..i.clone() }, true))
            .replace("nameid-format:emailAddress", "nameid-format:persistent"),
    );
    let got = check(&idp, &persistent, NOW).unwrap();
    assert_eq!((got.name_id.as_str(), got.email), ("owner@acme.test", None));
    // An attribute whose name merely ends in "email" is not the address.
    let lookalike = Issue {
        name_id: "u-123".into(),
        attributes: r#"<saml:Attribute Name="urn:evil:backup:email"><saml:AttributeValue>owner@acme.test</saml:AttributeValue></saml:Attribute>"#.into(),
        ..issue()
    };
    assert_eq!(check(&idp, &idp.response(&lookalike), NOW).unwrap().email, None);
    let real = Issue {
        name_id: "u-123".into(),
        attributes: r#"<saml:Attribute Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"><saml:AttributeValue>ann@example.com</saml:AttributeValue></saml:Attribute>"#.into(),
        ..issue()
    };
    assert_eq!(check(&idp, &idp.response(&real), NOW).unwrap().email.as_deref(), Some("ann@example.com"));
}

/// The ACS parses what anyone posts: a document built for the parser's
/// worst cases (a namespace declared at each of thousands of levels, tens
/// of thousands of attributes) is refused before it is parsed.
#[test]
fn documents_built_to_exhaust_the_parser_are_refused_before_parsing() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let depth = 3000;
    let nested: String =
        (0..depth).map(|n| format!("<a xmlns:p{n}=\"u\">")).collect::<String>() + &"</a>".repeat(depth);
    // The parser would take seconds over these and then answer NotAResponse;
    // Malformed is the scan's answer.
    assert_eq!(check(&idp, &nested, NOW).unwrap_err(), Refusal::Malformed);
    let attrs: String = (0..20_000).map(|n| format!(" a{n}=\"1\"")).collect();
    assert_eq!(check(&idp, &format!("<r{attrs}/>"), NOW).unwrap_err(), Refusal::Malformed);
    // Real Responses stay well inside the bounds.
    assert!(check(&idp, &idp.response(&issue()), NOW).is_ok());
}

/// Each of these is checked on its own: another issuer (at either level),
/// a status other than success, and Conditions that ended while the
/// bearer confirmation still runs.
#[test]
fn another_issuer_a_failed_status_and_ended_conditions_are_refused_each_alone() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let i = issue();
    let ours = format!("<saml:Issuer>{IDP}</saml:Issuer>");
    let theirs = "<saml:Issuer>https://evil.example/saml</saml:Issuer>";
    let assertion = idp.assertion(&i, true);
    // The assertion's issuer: signed as such by the key we trust.
    let other = idp.sign(&idp.wrap(&i, &assertion.replacen(&ours, theirs, 1)));
    assert_eq!(check(&idp, &other, NOW).unwrap_err(), Refusal::Issuer);
    // The Response's issuer (outside the signed assertion).
    let outer = idp.sign(&idp.wrap(&i, &assertion)).replacen(&ours, theirs, 1);
    assert_eq!(check(&idp, &outer, NOW).unwrap_err(), Refusal::Issuer);
    let failed = idp.sign(&idp.wrap(&i, &assertion).replace("status:Success", "status:Requester"));
    assert_eq!(check(&idp, &failed, NOW).unwrap_err(), Refusal::NotSuccess);
    // Conditions end a minute before now (beyond the skew) while the
    // confirmation runs five minutes more.
    let long = Issue { lifetime: 600, ..issue() };
    let ended = idp.assertion(&long, true).replacen(
        &format!("<saml:Conditions NotBefore=\"{}\" NotOnOrAfter=\"{}\">", xml_time(NOW - 60), xml_time(NOW + 600)),
        &format!("<saml:Conditions NotBefore=\"{}\" NotOnOrAfter=\"{}\">", xml_time(NOW - 60), xml_time(NOW + 100)),
        1,
    );
    assert!(ended.contains(&xml_time(NOW + 100)), "the Conditions were rewritten");
    let ended = idp.sign(&idp.wrap(&long, &ended));
    assert!(check(&idp, &ended, NOW).is_ok());
    assert_eq!(check(&idp, &ended, NOW + 100 + saml::CLOCK_SKEW).unwrap_err(), Refusal::Expired);
    assert!(
        check(&idp, &idp.response(&long), NOW + 100 + saml::CLOCK_SKEW).is_ok(),
        "the confirmation alone still holds"
    );
}

#[test]
fn an_unsigned_assertion_beside_a_signed_response_is_refused() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let i = issue();
    let unsigned = idp.assertion(&i, false);
    let response = idp.wrap(&i, &unsigned);
    // xmlsec1 signs the Response itself (enveloped, Reference = its ID).
    let template = idp.assertion(&i, true);
    let sig_start = template.find("<ds:Signature").unwrap();
    let sig_end = template.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = template[sig_start..sig_end].replace(&format!("#{}", i.assertion_id), &format!("#_r{}", i.assertion_id));
    let response = response.replacen("<samlp:Status>", &format!("{sig}<samlp:Status>"), 1);
    let signed = idp.sign(&response);
    assert!(signed.contains("<ds:SignatureValue>") && !signed.contains("<ds:SignatureValue></ds:SignatureValue>"));
    assert_eq!(check(&idp, &signed, NOW).err(), Some(Refusal::Unsigned));
}

#[test]
fn wrong_audience_destination_recipient_request_and_times_are_refused() {
    let idp = SamlIdp::new(KeyKind::P256, IDP);
    let cases: Vec<(Issue, Refusal)> = vec![
        (Issue { audience: "https://other-sp.example/metadata".into(), ..issue() }, Refusal::Audience),
        (Issue { request_id: "_someone-elses-request".into(), ..issue() }, Refusal::InResponseTo),
        (Issue { now: NOW - 3600, ..issue() }, Refusal::Expired),
        (Issue { now: NOW + 3600, ..issue() }, Refusal::NotYetValid),
    ];
    for (i, refusal) in cases {
        let xml = idp.response(&i);
        assert_eq!(check(&idp, &xml, NOW).err(), Some(refusal), "{i:?}");
    }
    // Destination (the Response's) and Recipient (the assertion's), each
    // alone another ACS: both signed as such.
    let i = issue();
    let other = ACS.replace("/acs", "/other");
    let assertion = idp.assertion(&i, true);
    let response =
        idp.wrap(&i, &assertion).replacen(&format!("Destination=\"{ACS}\""), &format!("Destination=\"{other}\""), 1);
    assert_eq!(check(&idp, &idp.sign(&response), NOW).err(), Some(Refusal::Destination));
    let assertion = assertion.replace(&format!("Recipient=\"{ACS}\""), &format!("Recipient=\"{other}\""));
    assert_eq!(check(&idp, &idp.sign(&idp.wrap(&i, &assertion)), NOW).err(), Some(Refusal::Recipient));
    // SubjectConfirmationData naming another request, the Response ours.
    let assertion = idp.assertion(&i, true).replace("InResponseTo=\"_request-1\"", "InResponseTo=\"_other\"");
    assert_eq!(check(&idp, &idp.sign(&idp.wrap(&i, &assertion)), NOW).err(), Some(Refusal::Recipient));
}

#[test]
fn another_key_a_tampered_assertion_weak_algorithms_and_a_dtd_are_refused() {
    let idp = SamlIdp::new(KeyKind::Rsa, IDP);
    let impostor = SamlIdp::new(KeyKind::Rsa, IDP);
    let i = issue();
    // Signed by another key (whose certificate even rides along in KeyInfo).
    let xml = impostor.response(&i);
    assert_eq!(check(&idp, &xml, NOW).err(), Some(Refusal::BadSignature));
    // A P-256 key does not verify an RSA signature either.
    let ec = SamlIdp::new(KeyKind::P256, IDP);
    assert_eq!(check(&ec, &idp.response(&i), NOW).err(), Some(Refusal::BadSignature));
    // Changed after signing.
    let xml = idp.response(&i).replace("Fake Person", "Fake Boss");
    assert_eq!(check(&idp, &xml, NOW).err(), Some(Refusal::Digest));
    // RSA-SHA1 and a SHA-1 digest, signed properly by xmlsec1: not ours.
    let sha1 = idp
        .assertion(&i, true)
        .replace("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    assert_eq!(check(&idp, &idp.sign(&idp.wrap(&i, &sha1)), NOW).err(), Some(Refusal::SignatureShape));
    let digest = idp
        .assertion(&i, true)
        .replace("http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1");
    assert_eq!(check(&idp, &idp.sign(&idp.wrap(&i, &digest)), NOW).err(), Some(Refusal::SignatureShape));
    // Inclusive C14N with comments as the canonicalisation: not ours.
    let inclusive = idp.assertion(&i, true).replacen(
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments\"/>",
        1,
    );
    assert_eq!(check(&idp, &idp.sign(&idp.wrap(&i, &inclusive)), NOW).err(), Some(Refusal::SignatureShape));
    // A DTD (an entity expanding inside the signed NameID), signed by xmlsec1.
    let signed = idp.response(&i);
    let dtd =
        signed.replacen("<samlp:Response", "<!DOCTYPE samlp:Response [<!ENTITY who \"boss\">]>\n<samlp:Response", 1);
    assert_eq!(check(&idp, &dtd, NOW).err(), Some(Refusal::Dtd));
    // No assertion at all, and two signed ones.
    let none = idp.wrap(&i, "");
    assert_eq!(check(&idp, &none, NOW).err(), Some(Refusal::AssertionCount));
    let j = Issue { assertion_id: new_id(), ..issue() };
    let two = idp.sign(&idp.wrap(&i, &format!("{}{}", idp.assertion(&i, true), idp.assertion(&j, true))));
    assert_eq!(check(&idp, &two, NOW).err(), Some(Refusal::AssertionCount));
}

#[test]
fn idp_metadata_is_read_strictly() {
    let idp = SamlIdp::new(KeyKind::P256, IDP);
    let good = idp.metadata("https://idp.example.net/sso");
    assert!(saml::idp_metadata(&good, false).is_ok());
    assert!(saml::idp_metadata(&idp.metadata("http://idp.example.net/sso"), false).is_err(), "https only");
    assert!(saml::idp_metadata(&idp.metadata("http://127.0.0.1:9/sso"), true).is_ok(), "loopback in development");
    let no_redirect = good.replace("bindings:HTTP-Redirect", "bindings:SOAP");
    assert!(saml::idp_metadata(&no_redirect, false).unwrap_err().contains("HTTP-Redirect"));
    let no_cert = good.replace(&idp.cert_b64, "");
    assert!(saml::idp_metadata(&no_cert, false).is_err());
    let garbage_cert = good.replace(&idp.cert_b64, "bm90IGEgY2VydGlmaWNhdGU=");
    assert!(saml::idp_metadata(&garbage_cert, false).is_err());
    let dtd = good.replacen(
        "<md:EntityDescriptor",
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><md:EntityDescriptor",
        1,
    );
    assert!(saml::idp_metadata(&dtd, false).unwrap_err().contains("DTD"));
    let encryption_only = good.replace("use=\"signing\"", "use=\"encryption\"");
    assert!(saml::idp_metadata(&encryption_only, false).is_err());
}

// ---- the flow over the router ----

const SIGNIN: &str = "http://app.test/signin";

struct Saml {
    f: Fixture,
    idp: SamlIdp,
    _dns: FakeDns,
    conn: String,
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn fragment(location: &str, key: &str) -> Option<String> {
    let (_, frag) = location.split_once('#')?;
    form_urlencoded::parse(frag.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn cookies_of(r: &Resp) -> String {
    let all: Vec<String> = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap().to_owned())
        .collect();
    assert_eq!(all.len(), 2, "the OAuth flow cookie and the SAML one: {:?}", r.headers);
    all.join("; ")
}

/// Acme (owner, admin, member @example.com) with `example.com` verified
/// and a SAML connection to a fake IdP of `kind`.
fn acme(kind: KeyKind) -> Saml {
    let dns = FakeDns::start();
    let vars = dns.worker_vars();
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let f = Fixture::new(TestApp::with_config(config_with(&refs))).org_with("Acme", &["admin", "member"]);
    let d = f.api().add_domain(f.owner(), &f.org, "example.com").expect(201).body;
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    f.api().verify_domain(f.owner(), &f.org, d["id"].as_str().unwrap()).expect(200);
    let idp = SamlIdp::new(kind, IDP);
    let body = json!({"type": "saml", "metadata_xml": idp.metadata("https://idp.example.net/sso"),
                      "domains": ["example.com"], "default_role": "member"});
    let c = create(&f, body).expect(201).body;
    let conn = c["id"].as_str().unwrap().to_owned();
    Saml { f, idp, _dns: dns, conn }
}

fn create(f: &Fixture, body: Value) -> Resp {
    f.app.call("POST", &format!("/v1/orgs/{}/sso-connections", f.org), Some(&access(&f.owner().session)), Some(body))
}

/// Starts a flow in a new browser: `(IdP URL, that browser's cookies)`.
fn start(s: &Saml) -> (String, String) {
    let r = s.f.app.get(&format!("/v1/auth/sso/{}/authorize?redirect_uri={}", s.conn, enc(SIGNIN)), None).expect(302);
    (r.header("location").unwrap().to_owned(), cookies_of(&r))
}

fn post_acs(s: &Saml, acs: &str, form: &str, cookies: &str) -> Resp {
    let path = acs.strip_prefix("http://app.test").expect("our ACS");
    s.f.app.send(
        "POST",
        path,
        None,
        &[
            ("cookie", cookies),
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "https://idp.example.net"),
        ],
        form.as_bytes(),
    )
}

/// The `#login_code` or `#error` the ACS sent the browser to.
fn landed(r: &Resp) -> Result<String, String> {
    assert_eq!(r.status, 302, "{}", r.raw);
    let location = r.header("location").unwrap();
    assert!(location.starts_with(&format!("{SIGNIN}#")), "{location}");
    fragment(location, "login_code").ok_or_else(|| fragment(location, "error").unwrap())
}

fn complete(s: &Saml, code: &str, cookies: &str) -> Resp {
    s.f.app.call_with(
        "POST",
        "/v1/auth/oauth/complete",
        None,
        Some(json!({ "login_code": code })),
        &[("cookie", cookies)],
    )
}

#[test]
fn a_new_person_signs_in_through_saml_and_joins_just_in_time() {
    for kind in [KeyKind::Rsa, KeyKind::P256] {
        let s = acme(kind);
        let conn = s.conn.clone();
        let view =
            s.f.app.get(&format!("/v1/orgs/{}/sso-connections/{conn}", s.f.org), Some(&access(&s.f.owner().session)));
        let view = view.expect(200).body;
        assert_eq!(view["type"], "saml");
        assert_eq!(view["issuer"], IDP);
        assert_eq!(view["redirect_uri"], format!("http://app.test/v1/sso/{conn}/acs"));
        assert_eq!(view["saml"]["sp_entity_id"], format!("http://app.test/v1/sso/{conn}/metadata"));
        assert_eq!(view["saml"]["idp_sso_url"], "https://idp.example.net/sso");
        assert_eq!(view["saml"]["certificates"], 1);
        assert!(view.get("client_id").is_none(), "{view}");

        // Our SP metadata, for the IdP's administrator.
        let meta = s.f.app.get(&format!("/v1/sso/{conn}/metadata"), None).expect(200);
        assert_eq!(meta.header("content-type"), Some("application/samlmetadata+xml"));
        assert!(meta.raw.contains(&format!("entityID=\"http://app.test/v1/sso/{conn}/metadata\"")), "{}", meta.raw);
        assert!(meta.raw.contains(&format!("Location=\"http://app.test/v1/sso/{conn}/acs\"")));

        let (idp_url, cookies) = start(&s);
        assert!(idp_url.starts_with("https://idp.example.net/sso?SAMLRequest="), "{idp_url}");
        let req = read_request(&idp_url);
        assert_eq!(req.acs_url, format!("http://app.test/v1/sso/{conn}/acs"));
        assert_eq!(req.issuer, format!("http://app.test/v1/sso/{conn}/metadata"));
        assert_eq!(req.destination, "https://idp.example.net/sso");
        let (acs, form) = s.idp.answer(&idp_url, "New.Hire@example.com", s.f.app.clock_now());
        let code = landed(&post_acs(&s, &acs, &form, &cookies)).unwrap();
        assert_eq!(s.f.app.last_round_trips(), 2);
        let session = complete(&s, &code, &cookies).expect(200).body;
        assert_eq!(session["user"]["email"], "new.hire@example.com");
        assert_eq!(session["user"]["name"], "Fake Person");
        let user = session["user"]["id"].as_str().unwrap().to_owned();
        let rows = s.f.app.rows(stmt!(
            "SELECT role, joined_via FROM org_members WHERE org_id = ?1 AND user_id = ?2",
            s.f.org.as_str(),
            user.as_str()
        ));
        assert_eq!(rows[0]["role"], "member", "joined just in time");
        assert_eq!(rows[0]["joined_via"], "domain");
        let sessions = s.f.app.get("/v1/me/sessions", Some(&access(&session))).expect(200).body;
        assert_eq!(sessions["data"][0]["method"], format!("sso:{conn}"));
        // The same form again: its flow is spent.
        post_acs(&s, &acs, &form, &cookies).expect_problem(400, "invalid_state");
    }
}

#[test]
fn a_response_for_another_browsers_request_is_refused_and_that_flow_survives() {
    let s = acme(KeyKind::Rsa);
    let (victim_url, victim_cookies) = start(&s);
    let (_, attacker_cookies) = start(&s);
    // The attacker posts, in their browser, a response to the victim's
    // request (or the victim's browser is made to post the attacker's).
    let (acs, form) = s.idp.answer(&victim_url, "member@example.com", s.f.app.clock_now());
    post_acs(&s, &acs, &form, &attacker_cookies).expect_problem(400, "invalid_state");
    post_acs(&s, &acs, &form, "").expect_problem(400, "invalid_state");
    // A RelayState that is not the request's.
    let mut tampered: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes()).into_owned().collect();
    tampered.iter_mut().filter(|(k, _)| k == "RelayState").for_each(|(_, v)| v.push('x'));
    let tampered = form_urlencoded::Serializer::new(String::new()).extend_pairs(tampered).finish();
    post_acs(&s, &acs, &tampered, &victim_cookies).expect_problem(400, "invalid_state");
    // At another connection's ACS.
    let other = acs.replace(&s.conn, "ssc_0123456789abcdef0123456789abcdef");
    post_acs(&s, &other, &form, &victim_cookies).expect_problem(400, "invalid_state");
    // Garbage.
    post_acs(&s, &acs, "SAMLResponse=%3Cnot-base64", &victim_cookies).expect_problem(400, "invalid_state");
    // The victim's own browser still finishes.
    let code = landed(&post_acs(&s, &acs, &form, &victim_cookies)).unwrap();
    complete(&s, &code, &victim_cookies).expect(200);
}

#[test]
fn a_replayed_assertion_an_outsider_and_a_forged_response_get_no_login_code() {
    let s = acme(KeyKind::P256);
    let now = s.f.app.clock_now();
    // One assertion id, used for a first flow, then replayed in a second
    // flow (the attacker re-signs nothing: same IdP, same id).
    let (url1, cookies1) = start(&s);
    let r1 = read_request(&url1);
    let fixed = new_id();
    let issue = |r: &crate::saml_idp::AuthnRequest| Issue {
        request_id: r.id.clone(),
        acs_url: r.acs_url.clone(),
        audience: r.issuer.clone(),
        name_id: "member@example.com".into(),
        assertion_id: fixed.clone(),
        now,
        lifetime: 300,
        attributes: String::new(),
    };
    let xml = s.idp.response(&issue(&r1));
    landed(&post_acs(&s, &r1.acs_url, &form_body(&xml, r1.relay_state.as_deref()), &cookies1)).unwrap();
    let (url2, cookies2) = start(&s);
    let r2 = read_request(&url2);
    let xml = s.idp.response(&issue(&r2));
    let r = post_acs(&s, &r2.acs_url, &form_body(&xml, r2.relay_state.as_deref()), &cookies2);
    assert_eq!(landed(&r), Err("provider_error".into()), "the assertion id is spent");
    let kept =
        s.f.app.rows(stmt!("SELECT expires_at FROM saml_used_assertions WHERE assertion_id = ?1", fixed.as_str()));
    assert_eq!(kept[0]["expires_at"], now + 300 + saml::CLOCK_SKEW, "kept until it could no longer be accepted");

    // An address off the connection's domains: no account.
    let (url, cookies) = start(&s);
    let (acs, form) = s.idp.answer(&url, "intruder@elsewhere.test", now);
    assert_eq!(landed(&post_acs(&s, &acs, &form, &cookies)), Err("provider_error".into()));
    let users = s.f.app.rows(stmt!("SELECT id FROM users WHERE email = ?1", "intruder@elsewhere.test"));
    assert!(users.is_empty());

    // Signed by another key for this browser's own request.
    let impostor = SamlIdp::new(KeyKind::P256, IDP);
    let (url, cookies) = start(&s);
    let (acs, form) = impostor.answer(&url, "owner@example.com", now);
    assert_eq!(landed(&post_acs(&s, &acs, &form, &cookies)), Err("provider_error".into()));

    // Too late: the flow outlives nothing (10 minutes), the assertion
    // its own times.
    let (url, cookies) = start(&s);
    let (acs, form) = s.idp.answer(&url, "member@example.com", now);
    s.f.app.advance(11 * 60);
    post_acs(&s, &acs, &form, &cookies).expect_problem(400, "invalid_state");
}

#[test]
fn saml_connections_are_owned_validated_and_take_new_metadata() {
    let s = acme(KeyKind::Rsa);
    let path = format!("/v1/orgs/{}/sso-connections", s.f.org);
    let owner = access(&s.f.owner().session);
    // Metadata: bad, a DTD, both sources, an admin.
    for (body, code) in [
        (json!({"type": "saml", "metadata_xml": "<nope", "domains": ["example.com"]}), "invalid_metadata"),
        (
            json!({"type": "saml", "metadata_xml": "<!DOCTYPE x []><x/>", "domains": ["example.com"]}),
            "invalid_metadata",
        ),
        (
            json!({"type": "saml", "metadata_xml": "<x/>", "metadata_url": "https://idp.example.net/m", "domains": ["example.com"]}),
            "invalid_metadata",
        ),
        (
            json!({"type": "saml", "metadata_url": "http://idp.example.net/m", "domains": ["example.com"]}),
            "invalid_metadata",
        ),
    ] {
        let r = s.f.app.call("POST", &path, Some(&owner), Some(body));
        assert_eq!(r.status, 422, "{}", r.raw);
        assert!(r.raw.contains(code), "{}", r.raw);
    }
    let body = json!({"type": "saml", "metadata_xml": s.idp.metadata("https://idp.example.net/sso"), "domains": ["example.com"]});
    let r = s.f.app.call("POST", &path, Some(&access(&s.f.admin().session)), Some(body));
    r.expect_problem(403, "forbidden");
    // A key rollover: new metadata, the old key's responses stop verifying.
    let rolled = SamlIdp::new(KeyKind::P256, IDP);
    let patch = json!({"metadata_xml": rolled.metadata("https://idp.example.net/sso2")});
    let one = format!("{path}/{}", s.conn);
    let view = s.f.app.call("PATCH", &one, Some(&owner), Some(patch)).expect(200).body;
    assert_eq!(view["saml"]["idp_sso_url"], "https://idp.example.net/sso2");
    let (url, cookies) = start(&s);
    assert!(url.starts_with("https://idp.example.net/sso2?"));
    let now = s.f.app.clock_now();
    let (acs, form) = s.idp.answer(&url, "member@example.com", now);
    assert_eq!(landed(&post_acs(&s, &acs, &form, &cookies)), Err("provider_error".into()));
    let (url, cookies) = start(&s);
    let (acs, form) = rolled.answer(&url, "member@example.com", now);
    assert!(landed(&post_acs(&s, &acs, &form, &cookies)).is_ok());
    // Metadata never turns into an OIDC connection's settings; an OIDC
    // callback never finishes a SAML connection's flow.
    let (url, cookies) = start(&s);
    let state = read_request(&url).relay_state.unwrap();
    let callback = format!("/v1/auth/sso/{}/callback?code=x&state={state}", s.conn);
    let r = s.f.app.call_with("GET", &callback, None, None, &[("cookie", cookies.as_str())]);
    assert_eq!(landed(&r), Err("sso_connection_unavailable".into()));
    // Another org sees nothing; the metadata of a non-connection is 404.
    s.f.app.get("/v1/sso/ssc_0123456789abcdef0123456789abcdef/metadata", None).expect(404);
    s.f.app.get("/v1/sso/nonsense/metadata", None).expect(404);
}
