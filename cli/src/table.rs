//! Aligned tables for people (`--json` is for scripts).

/// Columns padded to their widest cell (counted in characters), two spaces
/// apart, the last column unpadded; one line per row, the header first.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            if i + 1 < widths.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Label/value pairs, one a line, values aligned.
pub fn pairs(items: &[(&str, String)]) -> String {
    let width = items.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in items {
        let pad = width - k.chars().count();
        out.push_str(format!("{k}{}  {v}", " ".repeat(pad)).trim_end());
        out.push('\n');
    }
    out
}

/// An optional value for a table cell.
pub fn or_dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell_counting_characters() {
        let rows = vec![
            vec!["org_1".to_owned(), "Zürich Labs".to_owned(), "owner".to_owned()],
            vec!["org_22".to_owned(), "A".to_owned(), "".to_owned()],
        ];
        let out = render(&["ID", "NAME", "ROLE"], &rows);
        assert_eq!(out, "ID      NAME         ROLE\norg_1   Zürich Labs  owner\norg_22  A\n");
    }

    #[test]
    fn an_empty_table_is_its_header_and_pairs_align_their_values() {
        assert_eq!(render(&["ID", "NAME"], &[]), "ID  NAME\n");
        let out = pairs(&[("id", "usr_1".into()), ("email", "a@example.com".into()), ("name", String::new())]);
        assert_eq!(out, "id     usr_1\nemail  a@example.com\nname\n");
    }
}
