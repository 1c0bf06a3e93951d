//! The completion plot (`bitswarm swarm --plot FILE.svg`): hand-written SVG with axes,
//! one polyline per downloader (fraction of its bytes verified over time), the lower bound
//! as a dashed vertical line, and a legend.

use std::fmt::Write;

use super::report::SwarmReport;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 50.0;
/// Most clients named in the legend (the rest are drawn but summarised in one line).
const LEGEND_ROWS: usize = 24;

/// Colours cycled over the clients (Tableau 10).
const COLOURS: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" tick step for a range: 1, 2 or 5 times a power of ten.
fn tick_step(range: f64) -> f64 {
    let rough = (range / 8.0).max(1e-9);
    let mag = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * mag)
}

/// Renders the plot.
pub fn svg(report: &SwarmReport) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let downloaders: Vec<_> = report.clients.iter().filter(|c| c.needed > 0).collect();
    let last_sample = downloaders
        .iter()
        .flat_map(|c| c.timeline.last().map(|p| p.0))
        .fold(0.0, f64::max);
    let bound = report.lower_bound_seconds;
    let t_max = last_sample
        .max(report.total_seconds)
        .max(if bound.is_finite() { bound } else { 0.0 })
        .max(1.0)
        * 1.05;
    let x = |t: f64| LEFT + t / t_max * plot_w;
    let y = |f: f64| TOP + (1.0 - f.clamp(0.0, 1.0)) * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14">bitswarm swarm: completion over time ({} downloaders)</text>"#,
        LEFT + plot_w / 2.0,
        downloaders.len()
    );
    // Grid and axes.
    let step = tick_step(t_max);
    let mut t = 0.0;
    while t <= t_max + 1e-9 {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#eee"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text>"##,
            x(t),
            TOP,
            TOP + plot_h,
            TOP + plot_h + 16.0,
            trim_float(t)
        );
        t += step;
    }
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{2:.1}" y2="{1:.1}" stroke="#eee"/><text x="{3:.1}" y="{4:.1}" text-anchor="end">{5}%</text>"##,
            LEFT,
            y(f),
            LEFT + plot_w,
            LEFT - 6.0,
            y(f) + 4.0,
            i * 25
        );
    }
    let _ = writeln!(
        s,
        r##"<path d="M{LEFT},{TOP} V{0:.1} H{1:.1}" fill="none" stroke="#333"/>"##,
        TOP + plot_h,
        LEFT + plot_w
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time (s)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">completed</text>"#,
        TOP + plot_h / 2.0
    );
    // One polyline per downloader.
    for (i, c) in downloaders.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut points = String::new();
        for (t, f) in &c.timeline {
            let _ = write!(points, "{:.1},{:.1} ", x(*t), y(*f));
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"><title>{}</title></polyline>"#,
            points.trim_end(),
            esc(&c.name)
        );
    }
    // The bound.
    if bound > 0.0 && bound.is_finite() {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#d00" stroke-width="2" stroke-dasharray="6 4"/><text x="{3:.1}" y="{4:.1}" fill="#d00">T_min {5:.1} s</text>"##,
            x(bound),
            TOP,
            TOP + plot_h,
            x(bound) + 4.0,
            TOP + 12.0,
            bound
        );
    }
    // Legend.
    let lx = LEFT + plot_w + 16.0;
    let mut ly = TOP + 6.0;
    if bound > 0.0 && bound.is_finite() {
        let _ = writeln!(
            s,
            r##"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="#d00" stroke-width="2" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}">lower bound</text>"##,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0
        );
        ly += 16.0;
    }
    for (i, c) in downloaders.iter().take(LEGEND_ROWS).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            esc(&c.name)
        );
        ly += 16.0;
    }
    if downloaders.len() > LEGEND_ROWS {
        let _ = writeln!(
            s,
            r#"<text x="{lx:.1}" y="{:.1}">… and {} more</text>"#,
            ly + 4.0,
            downloaders.len() - LEGEND_ROWS
        );
    }
    s.push_str("</svg>\n");
    s
}

/// `5` for 5.0, `2.5` for 2.5.
fn trim_float(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny XML well-formedness check: every tag closes in order, attributes are quoted.
    fn well_formed(xml: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').ok_or("unclosed <")? + start;
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or("").to_owned();
                stack.push(name);
            }
            if tag.matches('"').count() & 1 == 1 {
                return Err(format!("odd quotes in <{tag}>"));
            }
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {stack:?}"))
        }
    }

    #[test]
    fn svg_is_well_formed_with_lines_bound_and_legend() {
        let mut r = crate::runner::report::tests::sample_report();
        r.clients[1].name = "a<b&c".into();
        let text = svg(&r);
        assert!(text.starts_with("<svg "), "{text}");
        well_formed(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(text.matches("<polyline").count(), 1, "one downloader");
        assert!(text.contains("T_min 4.0 s"));
        assert!(text.contains("a&lt;b&amp;c"));
        assert!(text.contains("lower bound"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(10.0), 2.0);
        assert_eq!(tick_step(100.0), 20.0);
        assert_eq!(tick_step(3.0), 0.5);
        assert_eq!(trim_float(2.5), "2.5");
        assert_eq!(trim_float(4.0), "4");
    }
}
