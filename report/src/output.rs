//! What a report produces: an aligned table for people, JSON for machines,
//! and for some reports an SVG chart.

use std::fmt::Write as _;

use serde_json::Value;

/// A report's result.
#[derive(Debug, Clone)]
pub struct Output {
    /// The table, as printed on a terminal.
    pub table: Table,
    /// The same result for machines (`--json`).
    pub json: Value,
    /// A chart, for reports that have one (`--svg FILE`).
    pub chart: Option<Chart>,
}

/// Rows under a header; numbers right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// A line above the table.
    pub title: String,
    /// Column names.
    pub header: Vec<String>,
    /// Cells, as text.
    pub rows: Vec<Vec<String>>,
    /// Lines below the table (totals, tests).
    pub notes: Vec<String>,
}

impl Table {
    /// The table as aligned text.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self
            .header
            .iter()
            .map(|cell| cell.chars().count())
            .collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate().take(columns) {
                widths[index] = widths[index].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        if !self.title.is_empty() {
            let _ = writeln!(out, "{}", self.title);
        }
        let line = |out: &mut String, cells: &[String]| {
            for (index, cell) in cells.iter().enumerate().take(columns) {
                let pad = widths[index].saturating_sub(cell.chars().count());
                let numeric = index > 0 && looks_numeric(cell);
                if index > 0 {
                    out.push_str("  ");
                }
                if numeric {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    if index + 1 < columns {
                        out.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push('\n');
        };
        line(&mut out, &self.header);
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        line(&mut out, &rule);
        for row in &self.rows {
            line(&mut out, row);
        }
        for note in &self.notes {
            let _ = writeln!(out, "{note}");
        }
        out
    }
}

fn looks_numeric(cell: &str) -> bool {
    cell.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
}

/// Nanoseconds for people: `850ns`, `12.3µs`, `45.6ms`, `1.20s`.
pub fn duration(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1e3 {
        format!("{ns:.0}ns")
    } else if ns < 1e6 {
        format!("{:.1}µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1}ms", ns / 1e6)
    } else {
        format!("{:.2}s", ns / 1e9)
    }
}

/// A fraction as a percentage with one decimal.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// A chart: bars or lines over labelled points.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Above the chart.
    pub title: String,
    /// The x labels.
    pub labels: Vec<String>,
    /// Named series of values, one per label.
    pub series: Vec<(String, Vec<f64>)>,
    /// Bars (one series) or lines.
    pub bars: bool,
    /// The y axis's unit.
    pub unit: String,
}

const PALETTE: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#b07aa1",
];

impl Chart {
    /// The chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let (width, height, left, bottom, top) = (760.0, 380.0, 70.0, 70.0, 40.0);
        let plot_width = width - left - 20.0;
        let plot_height = height - top - bottom;
        let max = self
            .series
            .iter()
            .flat_map(|(_, values)| values.iter().copied())
            .fold(0.0_f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let points = self.labels.len().max(1) as f64;
        let step = plot_width / points;
        let y = |value: f64| top + plot_height * (1.0 - value / max);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"{left}\" y=\"22\" font-size=\"14\">{}</text>\n",
            escape(&self.title)
        );
        for tick in 0..=4 {
            let value = max * f64::from(tick) / 4.0;
            let at = y(value);
            let _ = writeln!(
                svg,
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{} {}</text>",
                width - 20.0,
                left - 6.0,
                at + 4.0,
                compact(value),
                escape(&self.unit)
            );
        }
        for (index, label) in self.labels.iter().enumerate() {
            let x = left + step * (index as f64 + 0.5);
            let _ = writeln!(
                svg,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"end\" transform=\"rotate(-35 {x:.1} {:.1})\">{}</text>",
                height - bottom + 16.0,
                height - bottom + 16.0,
                escape(label)
            );
        }
        for (series_index, (name, values)) in self.series.iter().enumerate() {
            let colour = PALETTE[series_index % PALETTE.len()];
            if self.bars {
                for (index, value) in values.iter().enumerate() {
                    let x = left + step * index as f64 + step * 0.15;
                    let _ = writeln!(
                        svg,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {}</title></rect>",
                        y(*value),
                        step * 0.7,
                        top + plot_height - y(*value),
                        escape(&self.labels[index]),
                        compact(*value)
                    );
                }
            } else {
                let path: Vec<String> = values
                    .iter()
                    .enumerate()
                    .map(|(index, value)| {
                        format!("{:.1},{:.1}", left + step * (index as f64 + 0.5), y(*value))
                    })
                    .collect();
                let _ = writeln!(
                    svg,
                    "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
                    path.join(" ")
                );
            }
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                width - 200.0,
                8.0 + 14.0 * series_index as f64,
                width - 185.0,
                17.0 + 14.0 * series_index as f64,
                escape(name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn compact(value: f64) -> String {
    if value.abs() >= 100.0 || value == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
