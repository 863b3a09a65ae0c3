//! The report as one self-contained HTML page: the same sections as the
//! Markdown report, with SVG charts drawn by `plotters` inline (latency
//! tiers per design, throughput against block size, fee per transaction
//! per design). No scripts, fonts or files beside it.

use crate::{
    claims::sweep,
    report::{LabReport, Section, Table, fig, sections},
};
use plotters::prelude::*;
use std::fmt::Write as _;

/// A chart drawn into SVG text, or why it could not be.
type Svg = Result<String, String>;

const TIER_COLORS: [RGBColor; 4] = [
    RGBColor(0x4c, 0x9a, 0x2a), // soft
    RGBColor(0x2b, 0x6c, 0xb0), // included
    RGBColor(0x80, 0x3d, 0xa8), // final
    RGBColor(0xc0, 0x5a, 0x1c), // withdrawable
];

/// The page.
pub fn page(r: &LabReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Terrace lab report ({} run, seed {})</title><style>{}</style></head><body>\n\
         <h1>Terrace lab report <small>({} run, seed {})</small></h1>\n<nav>",
        r.mode, r.seed, STYLE, r.mode, r.seed
    );
    let secs = sections(r);
    for sec in &secs {
        let _ = write!(s, "<a href=\"#{}\">{}</a> ", sec.id, escape(sec.title));
    }
    s.push_str("</nav>\n");
    for sec in &secs {
        section(&mut s, sec);
        let chart = match sec.id {
            "latency" => Some((
                "Latency tiers per design (p50, log scale)",
                latency_chart(r),
            )),
            "throughput" => Some(("Throughput against block size", throughput_chart(r))),
            "fees" => Some(("Fee per transaction per design (log scale)", fee_chart(r))),
            _ => None,
        };
        if let Some((title, svg)) = chart {
            let _ = write!(s, "<figure>");
            match svg {
                Ok(svg) => s.push_str(&svg),
                Err(e) => {
                    let _ = write!(s, "<p>chart not drawn: {}</p>", escape(&e));
                }
            }
            let _ = writeln!(s, "<figcaption>{}</figcaption></figure>", escape(title));
        }
    }
    s.push_str("</body></html>\n");
    s
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}\
th{background:#f3f3f3}code{background:#f3f3f3;padding:0 3px}nav a{margin-right:1em}figure{margin:1em 0}\
figcaption{font-size:13px;color:#555}h1 small{font-weight:normal;color:#666}";

fn section(s: &mut String, sec: &Section) {
    let _ = writeln!(s, "<h2 id=\"{}\">{}</h2>", sec.id, escape(sec.title));
    for p in &sec.text {
        let _ = writeln!(s, "<p>{}</p>", inline(p));
    }
    if let Some(t) = &sec.table {
        table(s, t);
    }
    if !sec.items.is_empty() {
        s.push_str("<ul>");
        for i in &sec.items {
            let _ = write!(s, "<li>{}</li>", inline(i));
        }
        s.push_str("</ul>\n");
    }
}

fn table(s: &mut String, t: &Table) {
    s.push_str("<table><thead><tr>");
    for h in &t.head {
        let _ = write!(s, "<th>{}</th>", inline(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in &t.rows {
        s.push_str("<tr>");
        for c in row {
            let _ = write!(s, "<td>{}</td>", inline(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
}

/// HTML-escapes `text`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `text` and renders its two kinds of markup: `code` spans and
/// links to anchors of this page, `[text](#anchor)`.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let code = rest.find('`');
        let link = rest.find("](#").and_then(|close| {
            let open = rest[..close].rfind('[')?;
            let end = close + rest[close..].find(')')?;
            Some((open, close, end))
        });
        match (code, link) {
            (Some(c), l) if l.is_none_or(|(o, _, _)| c < o) => {
                let Some(len) = rest[c + 1..].find('`') else {
                    out.push_str(&escape(rest));
                    break;
                };
                out.push_str(&escape(&rest[..c]));
                let _ = write!(out, "<code>{}</code>", escape(&rest[c + 1..c + 1 + len]));
                rest = &rest[c + 2 + len..];
            }
            (_, Some((open, close, end))) => {
                out.push_str(&escape(&rest[..open]));
                let _ = write!(
                    out,
                    "<a href=\"#{}\">{}</a>",
                    escape(&rest[close + 3..end]),
                    escape(&rest[open + 1..close])
                );
                rest = &rest[end + 1..];
            }
            _ => {
                out.push_str(&escape(rest));
                break;
            }
        }
    }
    out
}

/// Maps a plotters error to text.
fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Horizontal bars of `(label, value, color)` on a log axis, one per row,
/// the first at the top; each label names its bar, so no legend.
fn log_bars(bars: &[(String, f64, RGBColor)], unit: &str) -> Svg {
    let positive: Vec<f64> = bars.iter().map(|b| b.1).filter(|v| *v > 0.0).collect();
    if positive.is_empty() {
        return Err("no positive figures".into());
    }
    let lo = positive.iter().copied().fold(f64::INFINITY, f64::min) / 2.0;
    let hi = positive.iter().copied().fold(0.0, f64::max) * 3.0;
    let rows = bars.len();
    // Row `i` of the chart (counted from the bottom) shows bar `rows - 1 - i`.
    let bar_at = |i: usize| bars.get(rows.checked_sub(i + 1)?);
    let height = (70 + 24 * rows) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(300)
            .build_cartesian_2d((lo..hi).log_scale(), (0..rows).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    bar_at(*i).map_or(String::new(), |b| b.0.clone())
                }
                SegmentValue::Last => String::new(),
            })
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .x_desc(unit)
            .x_label_formatter(&|v| fig(*v))
            .draw()
            .map_err(err)?;
        chart
            .draw_series((0..rows).filter_map(|i| {
                let (_, v, color) = bar_at(i)?;
                let mut r = Rectangle::new(
                    [
                        (lo, SegmentValue::Exact(i)),
                        (*v, SegmentValue::Exact(i + 1)),
                    ],
                    color.filled(),
                );
                r.set_margin(3, 3, 0, 0);
                (*v > 0.0).then_some(r)
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// p50 of every latency tier of every design, one bar each.
fn latency_chart(r: &LabReport) -> Svg {
    let mut bars = Vec::new();
    for d in &r.designs {
        let t = &d.latency;
        let tiers = [
            ("soft", t.soft.map(|p| p.p50_ms)),
            ("included", Some(t.included.p50_ms)),
            ("final", Some(t.final_l1.p50_ms)),
            ("withdrawable", Some(t.withdrawable.p50_ms)),
        ];
        for (k, (name, v)) in tiers.into_iter().enumerate() {
            if let Some(v) = v {
                bars.push((format!("{} {name}", d.design), v, TIER_COLORS[k]));
            }
        }
    }
    log_bars(
        &bars,
        "milliseconds from submission, p50 (soft: wall clock; the rest: simulated)",
    )
}

/// L1 fee per transfer per design, and each L2's own fee.
fn fee_chart(r: &LabReport) -> Svg {
    let l1 = TIER_COLORS[1];
    let l2 = TIER_COLORS[0];
    let mut bars = Vec::new();
    for d in &r.designs {
        bars.push((
            format!("{} L1 fee", d.design),
            d.fee.fee_per_tx_ater / 1e9,
            l1,
        ));
        if let Some(f) = d.fee.l2_fee_per_tx_ater {
            bars.push((format!("{} L2 fee", d.design), f / 1e9, l2));
        }
    }
    log_bars(
        &bars,
        "nTER per transfer (an L2's L1 fee: its share of the batch transaction)",
    )
}

/// Measured throughput and its bound against block size, for the
/// `terrace` preset and the big-blocks sweep (same block time).
fn throughput_chart(r: &LabReport) -> Svg {
    let points: Vec<(f64, f64, f64)> = sweep(r)
        .iter()
        .map(|d| {
            (
                d.block_bytes_max as f64 / 1024.0,
                d.throughput.measured_tps,
                d.throughput.limit_tps,
            )
        })
        .collect();
    if points.len() < 2 {
        return Err("the block-size sweep was not run".into());
    }
    let x_hi = points.iter().map(|p| p.0).fold(0.0, f64::max) * 1.1;
    let y_hi = points.iter().map(|p| p.1.max(p.2)).fold(0.0, f64::max) * 1.15;
    let measured = TIER_COLORS[1];
    let bound = TIER_COLORS[3];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..x_hi, 0.0..y_hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .x_desc("block size (KiB), 250 ms blocks")
            .y_desc("transfers per second")
            .x_label_formatter(&|v| fig(*v))
            .y_label_formatter(&|v| fig(*v))
            .draw()
            .map_err(err)?;
        for (name, color, pick) in [
            (
                "measured (simulated)",
                measured,
                (|p: &(f64, f64, f64)| p.1) as fn(&(f64, f64, f64)) -> f64,
            ),
            ("bound from parameters", bound, |p| p.2),
        ] {
            let line: Vec<(f64, f64)> = points.iter().map(|p| (p.0, pick(p))).collect();
            chart
                .draw_series(std::iter::once(PathElement::new(
                    line.clone(),
                    color.stroke_width(2),
                )))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                });
            chart
                .draw_series(line.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_is_escaped_and_rendered() {
        assert_eq!(
            inline("a <b> `x<y` see [latency](#latency) & more"),
            "a &lt;b&gt; <code>x&lt;y</code> see <a href=\"#latency\">latency</a> &amp; more"
        );
        assert_eq!(inline("unclosed `tick"), "unclosed `tick");
        assert_eq!(inline("[no link]"), "[no link]");
    }
}
