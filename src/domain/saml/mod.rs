//! SAML 2.0 single sign-on, the service-provider side of one profile: Web
//! Browser SSO, SP-initiated only, the AuthnRequest over HTTP-Redirect and
//! the Response over HTTP-POST, with one signed Assertion. No I/O: the app
//! layer stores the flow and the assertion ids it has used.
//!
//! The verifier is written for this profile alone (no mature SAML crate
//! builds for wasm32 within the Worker's size budget) on `roxmltree`, which
//! refuses DTDs, and RustCrypto. What it insists on:
//! - exactly one `Assertion` in the document, a child of the `Response`,
//!   and no `EncryptedAssertion`;
//! - the assertion carries exactly one `Signature`, its direct child, whose
//!   one `Reference` names the assertion's `ID` (unique in the document),
//!   with the enveloped-signature and exclusive C14N transforms only, a
//!   SHA-256 digest, exclusive C14N (without comments) of `SignedInfo`, and
//!   RSA-SHA256 or ECDSA-P256-SHA256 by a key of the connection's metadata
//!   (the `KeyInfo` in the message is ignored);
//! - the digest is computed over the very element that is then read, so a
//!   second, unsigned copy anywhere (signature wrapping) is never read;
//! - `InResponseTo` (Response and SubjectConfirmationData) is the request
//!   this browser started; `Destination`, `Recipient` and `Audience` are
//!   exactly ours; `Issuer` is the connection's IdP; the times hold within
//!   [`CLOCK_SKEW`].
pub mod c14n;
pub mod keys;

use keys::{IdpKey, SignatureAlg};
use roxmltree::{Document, Node};
use sha2::{Digest, Sha256};

/// SAML 2.0 assertion namespace.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 protocol namespace.
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 metadata namespace.
pub const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML-DSig namespace.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive C14N 1.0 without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// RSA PKCS#1 v1.5 with SHA-256.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// ECDSA with SHA-256.
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
/// SHA-256 digest.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// The HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// A successful status.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Bearer subject confirmation.
pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// The NameID format we ask for.
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The unspecified NameID format.
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
/// Attribute names that carry the address (the bare names IdPs use, the
/// WS-Federation claim, the LDAP `mail` OID as URN), matched whole and
/// without regard to case.
const EMAIL_ATTRIBUTES: &[&str] = &[
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
];
/// Attribute names of a display name.
const NAME_ATTRIBUTES: &[&str] = &[
    "name",
    "displayname",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
];
/// Attribute names of a given name.
const GIVEN_NAME_ATTRIBUTES: &[&str] =
    &["givenname", "firstname", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", "urn:oid:2.5.4.42"];
/// Attribute names of a surname.
const SURNAME_ATTRIBUTES: &[&str] =
    &["surname", "lastname", "sn", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", "urn:oid:2.5.4.4"];

/// Whether a NameID is an address: one in the email format (or with no
/// format, or the unspecified one) that looks like one. A persistent or
/// transient NameID is an opaque id, whatever it contains.
fn email_name_id(name_id: Node) -> bool {
    let format_ok = matches!(name_id.attribute("Format"), None | Some(NAMEID_EMAIL) | Some(NAMEID_UNSPECIFIED));
    format_ok && simple_text(name_id).is_some_and(|t| t.contains('@'))
}

/// Clock skew allowed on every time of an assertion, seconds (±3 min).
pub const CLOCK_SKEW: i64 = 180;
/// The largest XML accepted (a Response, or metadata).
pub const MAX_XML_BYTES: usize = 256 * 1024;
/// The most nodes in one document.
pub const MAX_NODES: u32 = 10_000;
/// Signing certificates kept per connection.
pub const MAX_CERTIFICATES: usize = 4;
/// How long an assertion id is kept when it names no end, seconds.
pub const DEFAULT_ASSERTION_LIFE: i64 = 10 * 60;

/// Why a SAML message was refused. Each is logged, never shown in detail to
/// the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not base64, not UTF-8, too large, not XML, or nested too deep.
    Malformed,
    /// A document type declaration (refused by the parser).
    Dtd,
    /// The root is not a SAML 2.0 Response.
    NotAResponse,
    /// `InResponseTo` is missing or names another request.
    InResponseTo,
    /// `Destination` is not our ACS URL.
    Destination,
    /// The IdP said no.
    NotSuccess,
    /// Not exactly one Assertion, or an encrypted one.
    AssertionCount,
    /// The assertion has no signature of ours to check.
    Unsigned,
    /// The signature is not of the profile (algorithms, transforms,
    /// reference, several signatures).
    SignatureShape,
    /// The reference's digest does not match the assertion.
    Digest,
    /// No key of the connection verifies the signature.
    BadSignature,
    /// The issuer is not the connection's IdP.
    Issuer,
    /// The audience is not our entity id.
    Audience,
    /// No bearer confirmation for our ACS URL and this request.
    Recipient,
    /// Not valid yet.
    NotYetValid,
    /// Expired.
    Expired,
    /// No subject (NameID) to sign in.
    Subject,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Most namespace declarations in one document. The parser resolves
/// namespaces in time that grows with the nesting depth times the prefixes
/// declared on the way (cubic for a document that declares one at each
/// level), and the ACS parses what anyone posts: real Responses and
/// metadata declare a handful.
pub const MAX_NAMESPACE_DECLARATIONS: usize = 64;
/// Most attributes (counted as `=` signs) in one document: the parser's
/// duplicate check is quadratic in one element's attributes.
pub const MAX_ATTRIBUTES: usize = 4096;

/// Parses XML as this profile allows: no DTD, bounded size, node count,
/// namespace declarations and attributes (counted before the parser runs,
/// so a hostile document costs a scan, not the parser's worst case).
pub fn parse(xml: &str) -> Result<Document<'_>, Refusal> {
    if xml.len() > MAX_XML_BYTES
        || xml.matches("xmlns").count() > MAX_NAMESPACE_DECLARATIONS
        || xml.bytes().filter(|b| *b == b'=').count() > MAX_ATTRIBUTES
    {
        return Err(Refusal::Malformed);
    }
    let opt = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..Default::default() };
    Document::parse_with_options(xml, opt).map_err(|e| match e {
        roxmltree::Error::DtdDetected => Refusal::Dtd,
        _ => Refusal::Malformed,
    })
}

fn is(node: Node, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

fn children<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(*c, ns, name))
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, name: &'a str) -> Option<Node<'a, 'i>> {
    children(node, ns, name).next()
}

/// Exactly one such child, else `err`.
fn only_child<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, name: &'a str, err: Refusal) -> Result<Node<'a, 'i>, Refusal> {
    let mut it = children(node, ns, name);
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(err),
    }
}

/// An element's text: every text child, in order (comments between them
/// are dropped, never a place where the value ends). An element with
/// element children has no simple value.
pub fn simple_text(node: Node) -> Option<String> {
    if node.children().any(|c| c.is_element()) {
        return None;
    }
    Some(node.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect())
}

fn b64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).ok()
}

/// An xs:dateTime with a zone (`Z` or `±HH:MM`, as SAML requires UTC and
/// IdPs write it), as unix seconds; fractions of a second are dropped. By
/// hand rather than chrono's format parser, which would grow the Worker.
pub fn instant(raw: &str) -> Option<i64> {
    let s = raw.trim();
    let digits = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(digits(0, 4)?).ok()?, digits(5, 7)?, digits(8, 10)?)?;
    let at = date.and_hms_opt(digits(11, 13)?, digits(14, 16)?, digits(17, 19)?)?.and_utc().timestamp();
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    let offset = match rest.as_bytes() {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) => {
            let minutes = i64::from((h1 - b'0') * 10 + (h2 - b'0')) * 60 + i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    Some(at - offset)
}

// ---- identity provider metadata ----

/// What a connection keeps of its IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's `entityID`: the `Issuer` of its assertions.
    pub entity_id: String,
    /// Its SingleSignOnService for the HTTP-Redirect binding.
    pub sso_url: String,
    /// Its signing certificates, base64 DER (one or more: a rollover).
    pub certificates: Vec<String>,
}

/// Reads IdP metadata: one `EntityDescriptor` (alone or the only one in an
/// `EntitiesDescriptor`) with an `IDPSSODescriptor` for SAML 2.0, an
/// HTTP-Redirect SingleSignOnService (`sso::fetchable`), and 1 to
/// [`MAX_CERTIFICATES`] signing certificates with RSA (2048+) or P-256 keys.
pub fn idp_metadata(xml: &str, development: bool) -> Result<IdpMetadata, String> {
    let doc = parse(xml).map_err(|e| match e {
        Refusal::Dtd => "the metadata has a DTD, which is refused".to_owned(),
        _ => "the metadata is not well-formed XML (or is over 256 KiB)".to_owned(),
    })?;
    let root = doc.root_element();
    let entity = if is(root, NS_METADATA, "EntityDescriptor") {
        root
    } else if is(root, NS_METADATA, "EntitiesDescriptor") {
        let mut idps = children(root, NS_METADATA, "EntityDescriptor")
            .filter(|e| child(*e, NS_METADATA, "IDPSSODescriptor").is_some());
        match (idps.next(), idps.next()) {
            (Some(e), None) => e,
            _ => return Err("the metadata must describe exactly one identity provider".into()),
        }
    } else {
        return Err("the metadata's root is not a SAML 2.0 EntityDescriptor".into());
    };
    let entity_id = entity.attribute("entityID").map(str::trim).unwrap_or("");
    if entity_id.is_empty() || entity_id.len() > 1024 || entity_id.chars().any(char::is_control) {
        return Err("the EntityDescriptor has no usable entityID".into());
    }
    let idp = children(entity, NS_METADATA, "IDPSSODescriptor")
        .find(|d| {
            d.attribute("protocolSupportEnumeration").is_some_and(|p| p.split_whitespace().any(|p| p == NS_PROTOCOL))
        })
        .ok_or("the metadata has no IDPSSODescriptor for SAML 2.0")?;
    let sso_url = children(idp, NS_METADATA, "SingleSignOnService")
        .find(|s| s.attribute("Binding") == Some(BINDING_REDIRECT))
        .and_then(|s| s.attribute("Location"))
        .map(str::trim)
        .ok_or("the identity provider has no SingleSignOnService for the HTTP-Redirect binding")?;
    if !crate::domain::sso::fetchable(sso_url, development) {
        return Err("the SingleSignOnService location is not an https URL".into());
    }
    let mut certificates = Vec::new();
    for kd in children(idp, NS_METADATA, "KeyDescriptor") {
        if kd.attribute("use").is_some_and(|u| u != "signing") {
            continue;
        }
        let certs =
            kd.descendants().filter(|n| is(*n, NS_DSIG, "X509Certificate")).filter_map(simple_text).collect::<Vec<_>>();
        for text in certs {
            let der = b64(&text).ok_or("a signing certificate is not base64")?;
            keys::key_from_certificate(&der).map_err(|e| format!("a signing certificate: {e}"))?;
            use base64::Engine;
            let clean = base64::engine::general_purpose::STANDARD.encode(&der);
            if !certificates.contains(&clean) {
                certificates.push(clean);
            }
        }
    }
    if certificates.is_empty() {
        return Err("the identity provider has no signing certificate".into());
    }
    if certificates.len() > MAX_CERTIFICATES {
        return Err(format!("at most {MAX_CERTIFICATES} signing certificates"));
    }
    Ok(IdpMetadata { entity_id: entity_id.to_owned(), sso_url: sso_url.to_owned(), certificates })
}

/// The keys of stored certificates (base64 DER); those that no longer
/// parse are left out.
pub fn keys_of(certificates: &[String]) -> Vec<IdpKey> {
    certificates.iter().filter_map(|c| b64(c)).filter_map(|d| keys::key_from_certificate(&d).ok()).collect()
}

// ---- our side: metadata and the AuthnRequest ----

/// Escapes a value for an XML attribute or text.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Our SP metadata: entity id, the ACS (HTTP-POST), signed assertions
/// wanted, unsigned requests.
pub fn sp_metadata(entity_id: &str, acs_url: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"{NS_METADATA}\" entityID=\"{}\">\n\
         <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"{NS_PROTOCOL}\">\n\
         <md:NameIDFormat>{NAMEID_EMAIL}</md:NameIDFormat>\n\
         <md:AssertionConsumerService Binding=\"{BINDING_POST}\" Location=\"{}\" index=\"0\" isDefault=\"true\"/>\n\
         </md:SPSSODescriptor>\n\
         </md:EntityDescriptor>\n",
        xml_escape(entity_id),
        xml_escape(acs_url)
    )
}

/// The request id of a flow whose state is `state` (base64url): an NCName.
pub fn request_id(state: &str) -> String {
    format!("_{state}")
}

/// The flow state a request id carries back in `InResponseTo`.
pub fn state_of_request_id(id: &str) -> Option<&str> {
    id.strip_prefix('_')
}

/// An AuthnRequest (unsigned) asking for an email NameID at our ACS.
pub fn authn_request(id: &str, issue_instant: &str, destination: &str, acs_url: &str, entity_id: &str) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" ID=\"{}\" Version=\"2.0\" \
         IssueInstant=\"{}\" Destination=\"{}\" AssertionConsumerServiceURL=\"{}\" ProtocolBinding=\"{BINDING_POST}\">\
         <saml:Issuer>{}</saml:Issuer><samlp:NameIDPolicy Format=\"{NAMEID_EMAIL}\" AllowCreate=\"true\"/>\
         </samlp:AuthnRequest>",
        xml_escape(id),
        xml_escape(issue_instant),
        xml_escape(destination),
        xml_escape(acs_url),
        xml_escape(entity_id)
    )
}

/// Raw DEFLATE (RFC 1951) of `data` in stored blocks: every inflater reads
/// it, and no compressor is linked into the Worker for a message this small.
pub fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 65_535 + 1));
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// The IdP URL the browser is sent to (HTTP-Redirect binding, unsigned).
pub fn redirect_url(sso_url: &str, request_xml: &str, relay_state: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(deflate_stored(request_xml.as_bytes()));
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLRequest", &encoded)
        .append_pair("RelayState", relay_state)
        .finish();
    let separator = if sso_url.contains('?') { '&' } else { '?' };
    format!("{sso_url}{separator}{query}")
}

// ---- the Response ----

/// The XML of a posted `SAMLResponse` (base64, whitespace allowed).
pub fn decode_post(raw: &str) -> Result<String, Refusal> {
    if raw.len() > MAX_XML_BYTES * 4 / 3 + 4096 {
        return Err(Refusal::Malformed);
    }
    let bytes = b64(raw).ok_or(Refusal::Malformed)?;
    String::from_utf8(bytes).map_err(|_| Refusal::Malformed)
}

/// The `InResponseTo` of a Response, before anything is verified: only to
/// find the flow it claims to answer, which [`verify`] then checks.
pub fn claimed_request(xml: &str) -> Result<String, Refusal> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    if !is(root, NS_PROTOCOL, "Response") {
        return Err(Refusal::NotAResponse);
    }
    root.attribute("InResponseTo").map(str::to_owned).ok_or(Refusal::InResponseTo)
}

/// What the Response must match.
#[derive(Debug)]
pub struct Expected<'a> {
    /// Our request's ID (the flow of this browser).
    pub request_id: &'a str,
    /// Our ACS URL: `Destination` and `Recipient`.
    pub acs_url: &'a str,
    /// Our entity id: the `Audience`.
    pub sp_entity_id: &'a str,
    /// The IdP's entity id: the `Issuer`.
    pub idp_entity_id: &'a str,
    /// The connection's keys.
    pub keys: &'a [IdpKey],
    /// Unix seconds.
    pub now: i64,
}

/// Who signed in, from a verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The assertion's ID (kept until `expires_at`: no replay).
    pub assertion_id: String,
    /// The NameID, whole.
    pub name_id: String,
    /// The address: the NameID when it is one, else an `email`/`mail`
    /// attribute.
    pub email: Option<String>,
    /// A display name from the attributes, if any.
    pub name: Option<String>,
    /// When the assertion stops being acceptable (unix seconds, skew added).
    pub expires_at: i64,
}

fn ids_in(doc: &Document, value: &str) -> usize {
    doc.descendants()
        .filter(|n| n.is_element())
        .flat_map(|n| n.attributes())
        .filter(|a| matches!(a.name(), "ID" | "Id" | "id" | "AssertionID") && a.value() == value)
        .count()
}

/// The signature of `assertion`, checked against the profile and the
/// keys: the digest over `assertion` itself.
fn check_signature(doc: &Document, assertion: Node, keys: &[IdpKey]) -> Result<(), Refusal> {
    use Refusal::{SignatureShape as Shape, Unsigned};
    let signatures: Vec<Node> = assertion.descendants().filter(|n| is(*n, NS_DSIG, "Signature")).collect();
    let signature = match signatures.as_slice() {
        [] => return Err(Unsigned),
        [one] if one.parent() == Some(assertion) => *one,
        _ => return Err(Shape),
    };
    let id = assertion.attribute("ID").filter(|id| !id.is_empty()).ok_or(Shape)?;
    if ids_in(doc, id) != 1 {
        return Err(Shape);
    }
    let signed_info = only_child(signature, NS_DSIG, "SignedInfo", Shape)?;
    let value = only_child(signature, NS_DSIG, "SignatureValue", Shape)?;
    let canon = only_child(signed_info, NS_DSIG, "CanonicalizationMethod", Shape)?;
    if canon.attribute("Algorithm") != Some(EXC_C14N) {
        return Err(Shape);
    }
    let alg = match only_child(signed_info, NS_DSIG, "SignatureMethod", Shape)?.attribute("Algorithm") {
        Some(RSA_SHA256) => SignatureAlg::RsaSha256,
        Some(ECDSA_SHA256) => SignatureAlg::EcdsaP256Sha256,
        _ => return Err(Shape),
    };
    let reference = only_child(signed_info, NS_DSIG, "Reference", Shape)?;
    if reference.attribute("URI") != Some(format!("#{id}").as_str()) {
        return Err(Shape);
    }
    let transforms = only_child(reference, NS_DSIG, "Transforms", Shape)?;
    let transforms: Vec<Node> = children(transforms, NS_DSIG, "Transform").collect();
    let [enveloped, exclusive] = transforms.as_slice() else { return Err(Shape) };
    if enveloped.attribute("Algorithm") != Some(ENVELOPED) || exclusive.attribute("Algorithm") != Some(EXC_C14N) {
        return Err(Shape);
    }
    if only_child(reference, NS_DSIG, "DigestMethod", Shape)?.attribute("Algorithm") != Some(SHA256) {
        return Err(Shape);
    }
    let digest =
        simple_text(only_child(reference, NS_DSIG, "DigestValue", Shape)?).and_then(|t| b64(&t)).ok_or(Shape)?;
    let prefixes = |n: Node| -> String {
        n.children()
            .find(|c| is(*c, EXC_C14N, "InclusiveNamespaces"))
            .and_then(|c| c.attribute("PrefixList"))
            .unwrap_or("")
            .to_owned()
    };
    let reference_prefixes = prefixes(*exclusive);
    let reference_prefixes: Vec<&str> = reference_prefixes.split_whitespace().collect();
    let body = c14n::exclusive(assertion, Some(signature.id()), &reference_prefixes).map_err(|_| Shape)?;
    if Sha256::digest(&body).as_slice() != digest.as_slice() {
        return Err(Refusal::Digest);
    }
    let info_prefixes = prefixes(canon);
    let info_prefixes: Vec<&str> = info_prefixes.split_whitespace().collect();
    let info = c14n::exclusive(signed_info, None, &info_prefixes).map_err(|_| Shape)?;
    let sig = simple_text(value).and_then(|t| b64(&t)).ok_or(Shape)?;
    if keys.iter().any(|k| k.verifies(alg, &info, &sig)) {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}

fn time_attr(node: Node, name: &str) -> Result<Option<i64>, Refusal> {
    node.attribute(name).map(|t| instant(t).ok_or(Refusal::Malformed)).transpose()
}

/// Verifies a Response (its XML) against the flow and the connection, and
/// says who signed in. Every check runs on the one signed assertion.
pub fn verify(xml: &str, want: &Expected) -> Result<Verified, Refusal> {
    let doc = parse(xml)?;
    let response = doc.root_element();
    if !is(response, NS_PROTOCOL, "Response") || response.attribute("Version") != Some("2.0") {
        return Err(Refusal::NotAResponse);
    }
    if response.attribute("InResponseTo") != Some(want.request_id) {
        return Err(Refusal::InResponseTo);
    }
    if response.attribute("Destination") != Some(want.acs_url) {
        return Err(Refusal::Destination);
    }
    if let Some(issuer) = child(response, NS_ASSERTION, "Issuer") {
        if simple_text(issuer).as_deref() != Some(want.idp_entity_id) {
            return Err(Refusal::Issuer);
        }
    }
    let status = only_child(response, NS_PROTOCOL, "Status", Refusal::NotSuccess)?;
    let code = only_child(status, NS_PROTOCOL, "StatusCode", Refusal::NotSuccess)?;
    if code.attribute("Value") != Some(STATUS_SUCCESS) {
        return Err(Refusal::NotSuccess);
    }
    // Exactly one assertion in the whole document, and it is the
    // Response's child; nothing encrypted.
    let all: Vec<Node> = doc.descendants().filter(|n| is(*n, NS_ASSERTION, "Assertion")).collect();
    if doc.descendants().any(|n| is(n, NS_ASSERTION, "EncryptedAssertion")) {
        return Err(Refusal::AssertionCount);
    }
    let assertion = match all.as_slice() {
        [one] if one.parent() == Some(response) => *one,
        _ => return Err(Refusal::AssertionCount),
    };
    check_signature(&doc, assertion, want.keys)?;
    // From here on, only the signed assertion is read.
    let a = assertion;
    if a.attribute("Version") != Some("2.0") {
        return Err(Refusal::NotAResponse);
    }
    let issuer = only_child(a, NS_ASSERTION, "Issuer", Refusal::Issuer)?;
    if simple_text(issuer).as_deref() != Some(want.idp_entity_id) {
        return Err(Refusal::Issuer);
    }
    let (now, skew) = (want.now, CLOCK_SKEW);
    let conditions = only_child(a, NS_ASSERTION, "Conditions", Refusal::Audience)?;
    if time_attr(conditions, "NotBefore")?.is_some_and(|t| now + skew < t) {
        return Err(Refusal::NotYetValid);
    }
    let not_on_or_after = time_attr(conditions, "NotOnOrAfter")?;
    if not_on_or_after.is_some_and(|t| now - skew >= t) {
        return Err(Refusal::Expired);
    }
    let restrictions: Vec<Node> = children(conditions, NS_ASSERTION, "AudienceRestriction").collect();
    let ours = |r: &Node| {
        children(*r, NS_ASSERTION, "Audience").any(|au| simple_text(au).as_deref() == Some(want.sp_entity_id))
    };
    if restrictions.is_empty() || !restrictions.iter().all(ours) {
        return Err(Refusal::Audience);
    }
    let subject = only_child(a, NS_ASSERTION, "Subject", Refusal::Subject)?;
    let name_id = only_child(subject, NS_ASSERTION, "NameID", Refusal::Subject)?;
    let name_id_text = simple_text(name_id).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty() && t.len() <= 512);
    let name_id_text = name_id_text.ok_or(Refusal::Subject)?;
    // A bearer confirmation for this request at our ACS, still valid.
    let mut confirmed_until = None;
    for sc in children(subject, NS_ASSERTION, "SubjectConfirmation") {
        if sc.attribute("Method") != Some(BEARER) {
            continue;
        }
        let Some(data) = child(sc, NS_ASSERTION, "SubjectConfirmationData") else { continue };
        if data.attribute("Recipient") != Some(want.acs_url) || data.attribute("InResponseTo") != Some(want.request_id)
        {
            continue;
        }
        if time_attr(data, "NotBefore")?.is_some_and(|t| now + skew < t) {
            return Err(Refusal::NotYetValid);
        }
        match time_attr(data, "NotOnOrAfter")? {
            Some(t) if now - skew < t => confirmed_until = Some(t),
            Some(_) => return Err(Refusal::Expired),
            None => continue,
        }
        break;
    }
    let confirmed_until = confirmed_until.ok_or(Refusal::Recipient)?;
    let assertion_id = a.attribute("ID").unwrap_or_default().to_owned();
    let expires_at = not_on_or_after.unwrap_or(now + DEFAULT_ASSERTION_LIFE).max(confirmed_until) + skew;
    // Attributes: an address and a name, when given. Only the assertion's
    // own AttributeStatement is read: anything under its Signature (KeyInfo,
    // Object) is outside what the digest covers. Names are matched whole.
    let mut email = email_name_id(name_id).then(|| name_id_text.clone());
    let mut name = None;
    let mut given = None;
    let mut family = None;
    let attributes =
        children(a, NS_ASSERTION, "AttributeStatement").flat_map(|st| children(st, NS_ASSERTION, "Attribute"));
    for attr in attributes {
        let value = children(attr, NS_ASSERTION, "AttributeValue").find_map(simple_text).map(|v| v.trim().to_owned());
        let Some(value) = value.filter(|v| !v.is_empty()) else { continue };
        let key = attr.attribute("Name").unwrap_or("");
        let named = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(key));
        if named(EMAIL_ATTRIBUTES) {
            email = email.or(Some(value));
        } else if named(NAME_ATTRIBUTES) {
            name = Some(value);
        } else if named(GIVEN_NAME_ATTRIBUTES) {
            given = Some(value);
        } else if named(SURNAME_ATTRIBUTES) {
            family = Some(value);
        }
    }
    let name = name.or(match (given, family) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (g, f) => g.or(f),
    });
    Ok(Verified { assertion_id, name_id: name_id_text, email, name, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_deflate_is_raw_deflate() {
        let data = b"<samlp:AuthnRequest/>";
        let out = deflate_stored(data);
        assert_eq!(out[0], 1);
        assert_eq!(u16::from_le_bytes([out[1], out[2]]), data.len() as u16);
        assert_eq!(u16::from_le_bytes([out[3], out[4]]), !(data.len() as u16));
        assert_eq!(&out[5..], data);
        let big = vec![b'x'; 70_000];
        let out = deflate_stored(&big);
        assert_eq!(out[0], 0, "the first of two blocks is not final");
        assert_eq!(out[5 + 65_535], 1);
    }

    #[test]
    fn request_ids_are_ncnames_that_carry_the_state() {
        let id = request_id("abc-_9");
        assert_eq!(id, "_abc-_9");
        assert_eq!(state_of_request_id(&id), Some("abc-_9"));
        assert_eq!(state_of_request_id("abc"), None);
    }

    #[test]
    fn a_dtd_is_refused() {
        let xml = "<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>";
        assert_eq!(parse(xml).err(), Some(Refusal::Dtd));
    }

    #[test]
    fn times_parse_as_xs_datetime() {
        assert_eq!(instant("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(instant("1970-01-01T00:01:00.250Z"), Some(60));
        assert_eq!(instant("yesterday"), None);
        assert_eq!(instant("1970-01-01T01:01:00+01:00"), Some(60));
        assert_eq!(instant("1970-01-01T00:01:00"), None, "a zone is required");
        assert_eq!(instant("1970-02-30T00:01:00Z"), None);
        assert_eq!(instant("2026-12-06T18:00:00Z"), Some(1_796_580_000));
    }
}
