//! A fake SAML 2.0 identity provider with its own key (RSA 2048 or P-256,
//! made by `openssl` for each fake), whose Responses are signed by an
//! independent implementation: Debian's `xmlsec1` (libxmlsec1 over
//! OpenSSL; scripts/setup-browser.sh installs it). Native tests use it
//! directly ([`SamlIdp::response`], [`SamlIdp::answer`]); the runtime test
//! also serves it on loopback ([`SamlIdp::serve`]): `/metadata`, and `/sso`
//! (HTTP-Redirect: inflates our AuthnRequest, shows an "Approve" button that
//! posts the signed Response to the ACS the request named).
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{SystemTime, UNIX_EPOCH};

pub const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// The key the fake signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
}

/// One assertion to issue (defaults: a valid one for `request_id`).
#[derive(Debug, Clone)]
pub struct Issue {
    pub request_id: String,
    pub acs_url: String,
    pub audience: String,
    pub name_id: String,
    pub assertion_id: String,
    pub now: i64,
    /// Seconds the assertion lives.
    pub lifetime: i64,
    /// Extra `<saml:Attribute>` elements, as XML.
    pub attributes: String,
}

pub fn xml_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh assertion id.
pub fn new_id() -> String {
    format!("_a{}x{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

pub struct SamlIdp {
    pub kind: KeyKind,
    pub entity_id: String,
    dir: tempfile::TempDir,
    key: PathBuf,
    cert: PathBuf,
    /// The certificate, base64 DER (as metadata carries it).
    pub cert_b64: String,
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/setup-browser.sh installs xmlsec1)"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

impl SamlIdp {
    /// A fake IdP named `entity_id` with a fresh key and self-signed certificate.
    pub fn new(kind: KeyKind, entity_id: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = (dir.path().join("idp.key"), dir.path().join("idp.crt"));
        let mut c = Command::new("openssl");
        c.args(["req", "-x509", "-nodes", "-days", "3650", "-subj", "/CN=fake-saml-idp", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert);
        match kind {
            KeyKind::Rsa => c.args(["-newkey", "rsa:2048"]),
            KeyKind::P256 => c.args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]),
        };
        run(&mut c);
        let der = run(Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(&cert));
        let cert_b64 = STANDARD.encode(der);
        Self { kind, entity_id: entity_id.to_owned(), dir, key, cert, cert_b64 }
    }

    /// Its metadata, with `sso_url` as the HTTP-Redirect SingleSignOnService.
    pub fn metadata(&self, sso_url: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
{}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso}/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
            esc(&self.entity_id),
            self.cert_b64,
            sso = esc(sso_url)
        )
    }

    fn signature_template(&self, reference: &str) -> String {
        let alg = match self.kind {
            KeyKind::Rsa => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            KeyKind::P256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        };
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{alg}"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"##,
            self.cert_b64
        )
    }

    /// The assertion of `i`, unsigned, with a signature template (to be
    /// filled by [`SamlIdp::sign`]) when `signed`.
    pub fn assertion(&self, i: &Issue, signed: bool) -> String {
        let sig = if signed { self.signature_template(&i.assertion_id) } else { String::new() };
        let (now, end) = (xml_time(i.now), xml_time(i.now + i.lifetime));
        let before = xml_time(i.now - 60);
        format!(
            r#"<saml:Assertion xmlns:saml="{NS_SAML}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{id}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{req}" NotOnOrAfter="{end}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{before}" NotOnOrAfter="{end}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{id}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="displayName"><saml:AttributeValue xsi:type="xs:string">Fake Person</saml:AttributeValue></saml:Attribute>{attrs}</saml:AttributeStatement></saml:Assertion>"#,
            id = esc(&i.assertion_id),
            issuer = esc(&self.entity_id),
            name_id = i.name_id, // raw: tests inject markup here
            req = esc(&i.request_id),
            acs = esc(&i.acs_url),
            aud = esc(&i.audience),
            attrs = i.attributes,
        )
    }

    /// A Response around `assertion` (XML).
    pub fn wrap(&self, i: &Issue, assertion: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="_r{id}" Version="2.0" IssueInstant="{now}" Destination="{acs}" InResponseTo="{req}"><saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
            id = esc(&i.assertion_id),
            now = xml_time(i.now),
            acs = esc(&i.acs_url),
            req = esc(&i.request_id),
            issuer = esc(&self.entity_id),
        )
    }

    /// Signs every signature template in `xml` with `xmlsec1` (IDs: the
    /// `ID` attributes of Assertion and Response).
    pub fn sign(&self, xml: &str) -> String {
        let input = self.dir.path().join(format!("t{}.xml", COUNTER.fetch_add(1, Ordering::SeqCst)));
        std::fs::write(&input, xml).unwrap();
        let keys = format!("{},{}", self.key.display(), self.cert.display());
        let out = run(Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem", &keys])
            .args(["--id-attr:ID", &format!("{NS_SAML}:Assertion")])
            .args(["--id-attr:ID", &format!("{NS_SAMLP}:Response")])
            .arg(&input));
        String::from_utf8(out).unwrap()
    }

    /// A Response with one assertion signed by this IdP.
    pub fn response(&self, i: &Issue) -> String {
        self.sign(&self.wrap(i, &self.assertion(i, true)))
    }

    /// What the person's browser does at the IdP: reads our HTTP-Redirect
    /// AuthnRequest (`authorize_url`), and returns the ACS URL it names with
    /// the form body the IdP posts there: a Response signed for `name_id`.
    pub fn answer(&self, authorize_url: &str, name_id: &str, now: i64) -> (String, String) {
        let request = read_request(authorize_url);
        let issue = Issue {
            request_id: request.id.clone(),
            acs_url: request.acs_url.clone(),
            audience: request.issuer.clone(),
            name_id: name_id.to_owned(),
            assertion_id: new_id(),
            now,
            lifetime: 300,
            attributes: String::new(),
        };
        let xml = self.response(&issue);
        (request.acs_url, form_body(&xml, request.relay_state.as_deref()))
    }
}

/// The form the IdP posts (HTTP-POST binding).
pub fn form_body(xml: &str, relay_state: Option<&str>) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("SAMLResponse", &STANDARD.encode(xml));
    if let Some(r) = relay_state {
        f.append_pair("RelayState", r);
    }
    f.finish()
}

/// Our AuthnRequest, as the IdP reads it.
#[derive(Debug, Clone)]
pub struct AuthnRequest {
    pub id: String,
    pub acs_url: String,
    pub issuer: String,
    pub destination: String,
    pub relay_state: Option<String>,
}

/// Inflates and reads the AuthnRequest of an HTTP-Redirect URL.
pub fn read_request(url: &str) -> AuthnRequest {
    let (_, query) = url.split_once('?').expect("a query");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let deflated = STANDARD.decode(get("SAMLRequest").expect("SAMLRequest")).expect("base64");
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice()).read_to_string(&mut xml).expect("raw DEFLATE");
    let doc = roxmltree::Document::parse(&xml).expect("an XML AuthnRequest");
    let root = doc.root_element();
    assert!(root.has_tag_name((NS_SAMLP, "AuthnRequest")), "{xml}");
    let issuer = root.children().find(|c| c.has_tag_name((NS_SAML, "Issuer"))).and_then(|c| c.text()).expect("Issuer");
    AuthnRequest {
        id: root.attribute("ID").expect("ID").to_owned(),
        acs_url: root.attribute("AssertionConsumerServiceURL").expect("ACS URL").to_owned(),
        destination: root.attribute("Destination").expect("Destination").to_owned(),
        issuer: issuer.to_owned(),
        relay_state: get("RelayState"),
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// [`SamlIdp`] on `127.0.0.1:<free port>`; stopped on drop.
pub struct SamlServer {
    pub idp: Arc<SamlIdp>,
    server: Arc<tiny_http::Server>,
    user: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl SamlIdp {
    /// Serves the fake (entity id `{base}/saml`): `GET /saml/metadata`,
    /// `GET /saml/sso` (the approval page).
    pub fn serve(kind: KeyKind) -> SamlServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("start fake SAML IdP"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let idp = Arc::new(SamlIdp::new(kind, &format!("http://127.0.0.1:{port}/saml")));
        let user = Arc::new(Mutex::new("person@example.com".to_owned()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, idp, user, stop) = (server.clone(), idp.clone(), user.clone(), stop.clone());
            thread::Builder::new()
                .name("fake-saml-idp".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let Ok(Some(req)) = server.recv_timeout(std::time::Duration::from_millis(200)) else {
                            continue;
                        };
                        let url = req.url().to_owned();
                        let base = format!("http://127.0.0.1:{port}");
                        let (status, ctype, body) = if url == "/saml/metadata" {
                            (200, "application/samlmetadata+xml", idp.metadata(&format!("{base}/saml/sso")))
                        } else if url.starts_with("/saml/sso?") {
                            let name = user.lock().unwrap().clone();
                            let (acs, form) = idp.answer(&format!("{base}{url}"), &name, now());
                            let fields: String = form_urlencoded::parse(form.as_bytes())
                                .map(|(k, v)| format!(r#"<input type="hidden" name="{}" value="{}">"#, esc(&k), esc(&v)))
                                .collect();
                            let page = format!(
                                r#"<!doctype html><title>Fake SAML IdP</title><p>Sign in to {} as {}?</p><form method="post" action="{}">{fields}<button id="approve" type="submit">Approve</button></form>"#,
                                esc(&acs),
                                esc(&name),
                                esc(&acs)
                            );
                            (200, "text/html; charset=utf-8", page)
                        } else {
                            (404, "text/plain", "not found".to_owned())
                        };
                        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()).unwrap();
                        let _ = req.respond(tiny_http::Response::from_string(body).with_status_code(status).with_header(header));
                    }
                })
                .expect("spawn fake SAML IdP")
        };
        SamlServer { idp, server, user, stop, port, thread: Some(thread) }
    }
}

impl SamlServer {
    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its metadata URL.
    pub fn metadata_url(&self) -> String {
        format!("{}/saml/metadata", self.base())
    }

    /// Who approves from now on (the NameID, an address).
    pub fn sign_in(&self, email: &str) {
        *self.user.lock().unwrap() = email.to_owned();
    }
}

impl Drop for SamlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
