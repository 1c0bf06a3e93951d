//! The end-of-run summary table (plain text, one row per client) and byte/rate formatting.

use std::fmt::Write;

use super::report::{ClientReport, SwarmReport};

/// Formats bytes with a binary unit: `512 B`, `1.5 KiB`, `64.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Formats a rate: `2.0 MiB/s`, or `-` for none.
pub fn rate(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() && r >= 0.0 => format!("{}/s", bytes(r.round() as u64)),
        _ => "-".into(),
    }
}

/// Formats a cap: `2.0 MiB/s` or `unlimited`.
pub fn cap(c: Option<u64>) -> String {
    c.map_or_else(|| "unlimited".into(), |c| format!("{}/s", bytes(c)))
}

/// The roles of a client: `seed` / `peer` / `leech` for one file, else one letter per
/// file (`SPL-`).
pub fn roles(c: &ClientReport) -> String {
    match c.roles.as_slice() {
        [one] => one.to_string(),
        many => many.iter().map(|r| r.letter()).collect(),
    }
}

fn row(c: &ClientReport) -> [String; 11] {
    let done = match (c.completed, c.complete_seconds) {
        _ if c.needed == 0 && c.error.is_none() => "-".into(),
        (true, Some(t)) => format!("{t:.1} s"),
        _ => "NO".into(),
    };
    let ok = match (&c.error, c.verified, c.corrupt) {
        (Some(_), _, _) => "error",
        (None, true, _) => "ok",
        (None, false, true) => "corrupt",
        (None, false, false) => "BAD",
    };
    [
        c.name.clone(),
        c.rank.to_string(),
        roles(c),
        bytes(c.downloaded),
        bytes(c.uploaded),
        c.ratio.map_or("-".into(), |r| format!("{r:.2}")),
        rate(c.avg_download_rate),
        rate(Some(c.avg_upload_rate)),
        done,
        c.from_seeds_share
            .map_or("-".into(), |s| format!("{:.0}%", s * 100.0)),
        ok.into(),
    ]
}

const HEADER: [&str; 11] = [
    "client", "rank", "role", "down", "up", "ratio", "avg down", "avg up", "done at", "seeds%",
    "data",
];

/// The table: a header, at most `max_rows` client rows (downloaders that finished last
/// and failed clients first when rows are cut), then totals, time and bound.
pub fn table(report: &SwarmReport, max_rows: usize) -> String {
    let mut chosen: Vec<&ClientReport> = report.clients.iter().collect();
    let cut = chosen.len() > max_rows;
    if cut {
        // Keep the interesting rows: failures, then the slowest downloaders, then seeds.
        let key = |c: &&ClientReport| {
            let failed = c.error.is_some() || (c.needed > 0 && !c.completed) || !c.verified;
            (failed, c.complete_seconds.unwrap_or(f64::MAX))
        };
        chosen.sort_by(|a, b| {
            let (fa, ta) = key(a);
            let (fb, tb) = key(b);
            fb.cmp(&fa).then(tb.total_cmp(&ta))
        });
        chosen.truncate(max_rows);
        chosen.sort_by_key(|c| report.clients.iter().position(|x| x.name == c.name));
    }
    let rows: Vec<[String; 11]> = chosen.iter().map(|c| row(c)).collect();
    let mut widths = HEADER.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Names and roles left-aligned, numbers right-aligned.
            if i == 0 || i == 2 {
                let _ = write!(l, "{cell:<w$}  ");
            } else {
                let _ = write!(l, "{cell:>w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&HEADER.map(String::from));
    for r in &rows {
        line(r);
    }
    if cut {
        let _ = writeln!(
            out,
            "({} of {} clients shown; all are in --report)",
            rows.len(),
            report.clients.len()
        );
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "total: {} downloaded, {} uploaded, {} hash failures, {} bans",
        bytes(t.downloaded),
        bytes(t.uploaded),
        t.hash_failures,
        t.banned
    );
    let _ = write!(
        out,
        "time: {:.2} s (wall {:.1} s); lower bound T_min {:.2} s",
        report.total_seconds, report.wall_seconds, report.lower_bound_seconds
    );
    match report.ratio_to_bound {
        Some(r) => {
            let _ = writeln!(out, "; measured / T_min = {r:.3}");
        }
        None => out.push_str(" (nothing capped: no bound)\n"),
    }
    for f in &report.failures {
        let _ = writeln!(out, "FAILED {f}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(64 * 1024 * 1024), "64.0 MiB");
        assert_eq!(rate(Some(2.0 * 1024.0 * 1024.0)), "2.0 MiB/s");
        assert_eq!(rate(None), "-");
        assert_eq!(cap(None), "unlimited");
    }

    #[test]
    fn table_lines_up_and_shows_totals() {
        let report = crate::runner::report::tests::sample_report();
        let text = table(&report, 50);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("client"), "{text}");
        assert!(lines[1].starts_with("seed-1"), "{text}");
        assert!(lines[2].starts_with("leech-1"), "{text}");
        // Right-aligned columns end at the same place in the header and the rows.
        let end_of = |l: &str, word: &str| l.find(word).map(|i| i + word.len());
        let col = end_of(lines[0], "ratio").unwrap_or(0);
        assert_eq!(&lines[2][col - 4..col], "0.00", "{text}");
        assert!(text.contains("total: 8.0 MiB downloaded"), "{text}");
        assert!(text.contains("measured / T_min = 1.250"), "{text}");
        assert!(text.contains("  ok"), "{text}");
    }

    #[test]
    fn cut_tables_keep_failures() {
        let mut report = crate::runner::report::tests::sample_report();
        report.clients[1].completed = false;
        report.clients[1].complete_seconds = None;
        report.finish();
        let text = table(&report, 1);
        assert!(text.contains("leech-1"), "{text}");
        assert!(!text.contains("seed-1 "), "{text}");
        assert!(text.contains("(1 of 2 clients shown"), "{text}");
        assert!(text.contains("FAILED client leech-1"), "{text}");
    }
}
