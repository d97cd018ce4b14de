//! Terminal tables: each column as wide as its widest cell, no borders, so
//! a long run id or app name never breaks the alignment and the output
//! stays easy to grep and to read aloud.

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

/// A table of `header` and `rows`, every line prefixed with `indent`; the
/// columns numbered in `right` are right-aligned (numbers).
pub fn render<R, C>(indent: &str, header: &[&str], right: &[usize], rows: R) -> String
where
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
        t.add_row(row);
    }
    for (i, column) in t.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    t.lines().map(|l| format!("{indent}{}\n", l.trim_end())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_their_widest_cell_and_numbers_align_right() {
        let out = render(
            "  ",
            &["APP", "SECONDS", "NOTE"],
            &[1],
            [
                vec!["a-very-long-application-name".to_string(), "1.5".into(), "ok".into()],
                vec!["b".to_string(), "120.0".into(), String::new()],
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "  APP                           SECONDS  NOTE",
                "  a-very-long-application-name      1.5  ok",
                "  b                               120.0",
            ]
        );
    }
}
