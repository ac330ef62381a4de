//! Exclusive XML Canonicalization 1.0, without comments
//! (<http://www.w3.org/2001/10/xml-exc-c14n#>), of one element's subtree,
//! optionally leaving one descendant out (the enveloped-signature
//! transform). Pure: it reads a parsed `roxmltree` tree, whose values are
//! already normalised as the XPath data model wants (line ends, attribute
//! whitespace, entities and character references expanded).
//!
//! Prefixes are taken from the source text (roxmltree keeps expanded names
//! only); their namespaces from roxmltree's in-scope resolution.
use roxmltree::{Node, NodeId, NodeType};
use std::collections::BTreeMap;

/// How deep a canonicalised subtree may nest.
pub const MAX_DEPTH: usize = 64;

/// Why a subtree could not be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C14nError(pub &'static str);

/// The canonical form of `apex`'s subtree, without `omit`'s subtree, with
/// `inclusive` (an `InclusiveNamespaces PrefixList`, `#default` for the
/// default namespace) treated as in inclusive canonicalisation.
pub fn exclusive(apex: Node, omit: Option<NodeId>, inclusive: &[&str]) -> Result<Vec<u8>, C14nError> {
    if !apex.is_element() {
        return Err(C14nError("not an element"));
    }
    let mut out = Vec::with_capacity(4096);
    let rendered = BTreeMap::new();
    element(apex, omit, inclusive, &rendered, 0, &mut out)?;
    Ok(out)
}

/// An element's qualified name as written: `(prefix, local)`, prefix ""
/// when there is none.
pub fn qname<'a>(node: Node<'a, '_>) -> Result<(&'a str, &'a str), C14nError> {
    let text = node.document().input_text();
    let start = node.range().start;
    let raw = text.get(start + 1..).ok_or(C14nError("bad element position"))?;
    let end = raw.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(raw.len());
    split_qname(&raw[..end], node.tag_name().name())
}

fn split_qname<'a>(raw: &'a str, local: &str) -> Result<(&'a str, &'a str), C14nError> {
    let (prefix, name) = raw.split_once(':').unwrap_or(("", raw));
    if name != local || name.is_empty() {
        return Err(C14nError("a name does not match its source text"));
    }
    Ok((prefix, name))
}

fn escape_text(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn escape_attr(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn element(
    node: Node,
    omit: Option<NodeId>,
    inclusive: &[&str],
    rendered: &BTreeMap<String, String>,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    if depth > MAX_DEPTH {
        return Err(C14nError("nested too deep"));
    }
    let text = node.document().input_text();
    let (prefix, _) = qname(node)?;
    // Attributes, with their prefixes as written.
    let mut attrs: Vec<(&str, &str, &str, &str)> = Vec::new(); // (ns, local, qname, value)
    let mut used: Vec<&str> = vec![prefix];
    for a in node.attributes() {
        let raw = text.get(a.range_qname()).ok_or(C14nError("bad attribute position"))?;
        let (p, _) = split_qname(raw, a.name())?;
        if !p.is_empty() {
            used.push(p);
        }
        attrs.push((a.namespace().unwrap_or(""), a.name(), raw, a.value()));
    }
    for &p in inclusive {
        let p = if p == "#default" { "" } else { p };
        if p.is_empty() || node.lookup_namespace_uri(Some(p)).is_some() {
            used.push(p);
        }
    }
    used.sort_unstable();
    used.dedup();
    // Namespace declarations this element renders: the prefixes it uses
    // whose binding no output ancestor rendered.
    let mut here = rendered.clone();
    let mut decls: Vec<(&str, String)> = Vec::new();
    for p in used {
        if p == "xml" {
            continue;
        }
        let uri = if p.is_empty() {
            node.lookup_namespace_uri(None).unwrap_or("")
        } else {
            node.lookup_namespace_uri(Some(p)).ok_or(C14nError("an unbound prefix"))?
        };
        let before = rendered.get(p).map(String::as_str).unwrap_or("");
        let already = if p.is_empty() { uri == before } else { rendered.get(p).is_some_and(|u| u == uri) };
        if already {
            continue;
        }
        here.insert(p.to_owned(), uri.to_owned());
        decls.push((p, uri.to_owned()));
    }
    out.push(b'<');
    let (_, local) = qname(node)?;
    let full = if prefix.is_empty() { local.to_owned() } else { format!("{prefix}:{local}") };
    out.extend_from_slice(full.as_bytes());
    for (p, uri) in &decls {
        if p.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attr(uri, out);
        out.push(b'"');
    }
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, q, v) in attrs {
        out.push(b' ');
        out.extend_from_slice(q.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attr(v, out);
        out.push(b'"');
    }
    out.push(b'>');
    for child in node.children() {
        if Some(child.id()) == omit {
            continue;
        }
        match child.node_type() {
            NodeType::Element => element(child, omit, inclusive, &here, depth + 1, out)?,
            NodeType::Text => escape_text(child.text().unwrap_or(""), out),
            NodeType::PI => {
                let pi = child.pi().ok_or(C14nError("a processing instruction"))?;
                out.extend_from_slice(b"<?");
                out.extend_from_slice(pi.target.as_bytes());
                if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                    out.push(b' ');
                    out.extend_from_slice(v.as_bytes());
                }
                out.extend_from_slice(b"?>");
            }
            NodeType::Comment | NodeType::Root => {}
        }
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(full.as_bytes());
    out.push(b'>');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(xml: &str, inclusive: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}"));
        let bytes = exclusive(doc.root_element(), None, inclusive).unwrap_or_else(|e| panic!("{e:?}"));
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn attributes_sort_and_namespaces_render_where_used() {
        let xml = r#"<a:r xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u" z="1" b:y="2" a:x="3"><a:c/><b:d b:k="v"/></a:r>"#;
        assert_eq!(
            canon(xml, &[]),
            r#"<a:r xmlns:a="urn:a" xmlns:b="urn:b" z="1" a:x="3" b:y="2"><a:c></a:c><b:d b:k="v"></b:d></a:r>"#
        );
    }

    #[test]
    fn comments_go_text_is_escaped_and_a_subtree_can_be_left_out() {
        let xml = "<r xmlns=\"urn:d\"><n>ann@acme.com<!-- x -->.evil.test &amp; &lt;&gt;\r\n</n><s/></r>";
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}"));
        let s = doc.descendants().find(|n| n.has_tag_name("s")).map(|n| n.id());
        let out = exclusive(doc.root_element(), s, &[]).unwrap_or_default();
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            "<r xmlns=\"urn:d\"><n>ann@acme.com.evil.test &amp; &lt;&gt;\n</n></r>"
        );
    }

    #[test]
    fn an_undeclared_default_namespace_is_undeclared_only_under_a_rendered_one() {
        assert_eq!(canon(r#"<r xmlns="urn:d"><x xmlns=""/></r>"#, &[]), r#"<r xmlns="urn:d"><x xmlns=""></x></r>"#);
        let doc = roxmltree::Document::parse(r#"<r xmlns="urn:d"><x xmlns=""/></r>"#).unwrap_or_else(|e| panic!("{e}"));
        let x = doc.descendants().find(|n| n.has_tag_name("x")).unwrap_or_else(|| panic!("x"));
        assert_eq!(exclusive(x, None, &[]), Ok(b"<x></x>".to_vec()), "no output ancestor declared one");
    }

    #[test]
    fn an_inner_subtree_takes_its_namespaces_from_outside() {
        let xml = r#"<x:o xmlns:x="urn:x" xmlns="urn:d"><x:i a="&#9;q&quot;"><j/></x:i></x:o>"#;
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}"));
        let inner = doc.descendants().find(|n| n.has_tag_name(("urn:x", "i"))).unwrap_or_else(|| panic!("i"));
        let out = String::from_utf8(exclusive(inner, None, &[]).unwrap_or_default()).unwrap_or_default();
        assert_eq!(out, "<x:i xmlns:x=\"urn:x\" a=\"&#x9;q&quot;\"><j xmlns=\"urn:d\"></j></x:i>");
        let incl = String::from_utf8(exclusive(inner, None, &["#default"]).unwrap_or_default()).unwrap_or_default();
        assert_eq!(incl, "<x:i xmlns=\"urn:d\" xmlns:x=\"urn:x\" a=\"&#x9;q&quot;\"><j></j></x:i>");
    }
}
