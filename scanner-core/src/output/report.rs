//! The HTML inventory report: one self-contained file (inline CSS and a small inline
//! script, no external asset, a Content-Security-Policy that allows no network
//! request) that an engineer can mail.
//!
//! It holds counts by vendor, device type, protocol and firmware version (CSS bar
//! charts), the device table (sortable by its headings, filterable by a text box),
//! every device's record with each protocol's details, and, given an older scan,
//! the devices that appeared, vanished or changed, firmware and serial changes first.
//!
//! Every device string is untrusted. The page is rendered by minijinja with HTML
//! autoescape: every value goes through its escaper (`&`, `<`, `>`, `"`, `'`, `/`),
//! none is marked safe, and the script reads cells as text (`textContent`), never as
//! markup, so a `<script>` in a product name stays text.
//!
//! ```
//! use scanner_core::output::report::{render, ReportInput};
//! use scanner_core::record::AssetRecord;
//!
//! let mut record = AssetRecord::new("scan-1", "10.0.0.5".parse().unwrap(), None);
//! record.responsive = true;
//! record.product_name = Some("<script>alert(1)</script>".into());
//! let html = render(&ReportInput::new("Plant A", "scan.jsonl", &[record])).unwrap();
//! assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
//! assert!(!html.contains("<script>alert(1)"));
//! ```

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::diff::{Change, ChangeKind};
use crate::record::AssetRecord;

/// The page template, with its CSS and script inline.
const TEMPLATE: &str = include_str!("report.html");
/// Bars shown per chart; the rest are summed into one "other" bar.
const MAX_BARS: usize = 12;

/// What a report shows.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The page title.
    pub title: String,
    /// The scan file's name, as the page names it.
    pub scan_name: String,
    /// The scan's records (unresponsive ones are counted, not listed).
    pub records: &'a [AssetRecord],
    /// The older scan's name and the changes since, when one was given.
    pub changes: Option<(String, Vec<Change>)>,
}

impl<'a> ReportInput<'a> {
    /// A report of `records` without a comparison.
    pub fn new(title: &str, scan_name: &str, records: &'a [AssetRecord]) -> Self {
        ReportInput {
            title: title.to_owned(),
            scan_name: scan_name.to_owned(),
            records,
            changes: None,
        }
    }

    /// Adds what changed since the older scan `older_name`.
    pub fn with_changes(mut self, older_name: &str, changes: Vec<Change>) -> Self {
        self.changes = Some((older_name.to_owned(), changes));
        self
    }
}

/// A report that could not be rendered (a template error: a bug, not bad input).
#[derive(Debug, thiserror::Error)]
#[error("cannot render the report: {0}")]
pub struct ReportError(#[from] minijinja::Error);

/// The report as one HTML document.
pub fn render(input: &ReportInput<'_>) -> Result<String, ReportError> {
    let mut env = minijinja::Environment::new();
    // The name's `.html` turns autoescape on for HTML.
    env.add_template("report.html", TEMPLATE)?;
    let template = env.get_template("report.html")?;
    Ok(template.render(minijinja::value::Serde(context(input)))?)
}

#[derive(Serialize)]
struct Context {
    title: String,
    scan_name: String,
    generated_at: String,
    scan_ids: Vec<String>,
    observed: Option<(String, String)>,
    addresses: usize,
    devices: Vec<Device>,
    charts: Vec<Chart>,
    diff: Option<DiffView>,
}

#[derive(Serialize)]
struct Device {
    /// A key that sorts addresses numerically.
    sort_key: String,
    anchor: String,
    ip: String,
    vendor: String,
    product: String,
    model: String,
    firmware: String,
    serial: String,
    device_type: String,
    protocols: String,
    hostname: String,
    mac: String,
    services: Vec<Service>,
    identity: Vec<Node>,
}

#[derive(Serialize)]
struct Service {
    summary: String,
    status: String,
    details: Vec<Node>,
}

/// One key of a JSON tree: a scalar value as text, or children.
#[derive(Serialize)]
struct Node {
    key: String,
    value: String,
    children: Vec<Node>,
}

#[derive(Serialize)]
struct Chart {
    title: String,
    bars: Vec<Bar>,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    count: usize,
    percent: u32,
}

#[derive(Serialize)]
struct DiffView {
    older_name: String,
    notable: usize,
    appeared: usize,
    vanished: usize,
    changed: usize,
    moved: usize,
    changes: Vec<ChangeView>,
}

#[derive(Serialize)]
struct ChangeView {
    kind: &'static str,
    ip: String,
    notable: bool,
    fields: Vec<(String, String, String)>,
}

fn context(input: &ReportInput<'_>) -> Context {
    let responsive: Vec<&AssetRecord> = input.records.iter().filter(|r| r.responsive).collect();
    let mut devices: Vec<Device> = responsive.iter().map(|r| device(r)).collect();
    devices.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
    let mut scan_ids: Vec<String> = input.records.iter().map(|r| r.scan_id.clone()).collect();
    scan_ids.sort();
    scan_ids.dedup();
    let observed = {
        let times = input.records.iter().map(|r| r.observed_at);
        match (times.clone().min(), times.max()) {
            (Some(a), Some(b)) => Some((seconds(a), seconds(b))),
            _ => None,
        }
    };
    let count = |f: &dyn Fn(&AssetRecord) -> Vec<String>| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in &responsive {
            for label in f(r) {
                *counts.entry(label).or_default() += 1;
            }
        }
        counts
    };
    let unknown = |v: &Option<String>| vec![v.clone().unwrap_or_else(|| "(unknown)".into())];
    let charts = vec![
        chart("Vendors", count(&|r| unknown(&r.vendor)), responsive.len()),
        chart(
            "Device types",
            count(&|r| {
                vec![super::table::device_type_name(r).unwrap_or_else(|| "(unknown)".into())]
            }),
            responsive.len(),
        ),
        chart(
            "Protocols",
            count(&|r| {
                super::answering_protocols(r)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            }),
            responsive.len(),
        ),
        chart(
            "Firmware versions",
            count(&|r| {
                let product = r.product_name.as_ref().or(r.model.as_ref());
                vec![match (&r.firmware_version, product) {
                    (Some(f), Some(p)) => format!("{p} {f}"),
                    (Some(f), None) => f.clone(),
                    (None, _) => "(unknown)".into(),
                }]
            }),
            responsive.len(),
        ),
    ];
    Context {
        title: input.title.clone(),
        scan_name: input.scan_name.clone(),
        generated_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string()),
        scan_ids,
        observed,
        addresses: input.records.len(),
        devices,
        charts,
        diff: input
            .changes
            .as_ref()
            .map(|(name, changes)| diff_view(name, changes)),
    }
}

/// A time to the second, for people.
fn seconds(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Second)
        .map_or_else(|_| t.to_string(), |t| t.to_string())
}

fn chart(title: &str, counts: BTreeMap<String, usize>, total: usize) -> Chart {
    let mut bars: Vec<(String, usize)> = counts.into_iter().collect();
    bars.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if bars.len() > MAX_BARS {
        let rest: usize = bars.split_off(MAX_BARS - 1).iter().map(|b| b.1).sum();
        bars.push(("(other)".into(), rest));
    }
    let percent = |n: usize| {
        (n * 100)
            .checked_div(total)
            .map_or(0, |p| u32::try_from(p).unwrap_or(100))
    };
    Chart {
        title: title.to_owned(),
        bars: bars
            .into_iter()
            .map(|(label, count)| Bar {
                percent: percent(count),
                label,
                count,
            })
            .collect(),
    }
}

fn device(r: &AssetRecord) -> Device {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let sort_key = match r.ip {
        std::net::IpAddr::V4(a) => format!("4{:010}", u32::from(a)),
        std::net::IpAddr::V6(a) => format!("6{:039}", u128::from(a)),
    };
    let mut identity = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut identity {
        map.remove("services");
    }
    let services = r
        .services
        .iter()
        .map(|s| {
            let value = serde_json::to_value(s).unwrap_or(Value::Null);
            Service {
                summary: format!(
                    "{} {}/{}",
                    s.protocol.name(),
                    super::transport_name(s.transport),
                    s.port
                ),
                status: s.status.name().to_owned(),
                details: tree(&value),
            }
        })
        .collect();
    Device {
        anchor: format!("d-{}", r.ip).replace([':', '.'], "-"),
        sort_key,
        ip: r.ip.to_string(),
        vendor: text(&r.vendor),
        product: text(
            &r.product_name
                .clone()
                .or_else(|| r.model.clone())
                .or_else(|| r.product_code.clone()),
        ),
        model: text(&r.model),
        firmware: text(&r.firmware_version),
        serial: text(&r.serial_number),
        device_type: super::table::device_type_name(r).unwrap_or_default(),
        protocols: super::answering_protocols(r).join(", "),
        hostname: text(&r.hostname),
        mac: text(&r.mac),
        services,
        identity: tree(&identity),
    }
}

/// A JSON value as nodes: objects by key, arrays by position, scalars as text.
fn tree(value: &Value) -> Vec<Node> {
    let node = |key: String, v: &Value| match v {
        Value::Object(_) | Value::Array(_) => Node {
            key,
            value: String::new(),
            children: tree(v),
        },
        Value::String(s) => Node {
            key,
            value: s.clone(),
            children: Vec::new(),
        },
        other => Node {
            key,
            value: other.to_string(),
            children: Vec::new(),
        },
    };
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| node(k.clone(), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| node(format!("[{i}]"), v))
            .collect(),
        _ => Vec::new(),
    }
}

fn diff_view(older_name: &str, changes: &[Change]) -> DiffView {
    let rank = |c: &Change| match (c.notable, c.kind) {
        (true, _) => 0,
        (false, ChangeKind::Changed) => 1,
        (false, ChangeKind::Moved) => 2,
        (false, ChangeKind::Appeared) => 3,
        (false, ChangeKind::Disappeared) => 4,
    };
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by_key(|c| rank(c));
    let of = |k: ChangeKind| changes.iter().filter(|c| c.kind == k).count();
    let show = |v: &Value| match v {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    DiffView {
        older_name: older_name.to_owned(),
        notable: changes.iter().filter(|c| c.notable).count(),
        appeared: of(ChangeKind::Appeared),
        vanished: of(ChangeKind::Disappeared),
        changed: of(ChangeKind::Changed),
        moved: of(ChangeKind::Moved),
        changes: sorted
            .into_iter()
            .map(|c| ChangeView {
                kind: match c.kind {
                    ChangeKind::Appeared => "appeared",
                    ChangeKind::Disappeared => "vanished",
                    ChangeKind::Changed => "changed",
                    ChangeKind::Moved => "moved",
                },
                ip: c.ip.to_string(),
                notable: c.notable,
                fields: match c.kind {
                    ChangeKind::Changed | ChangeKind::Moved => c
                        .fields
                        .iter()
                        .map(|f| (f.field.clone(), show(&f.before), show(&f.after)))
                        .collect(),
                    // A device that came or went: one line saying what it is.
                    ChangeKind::Appeared | ChangeKind::Disappeared => {
                        let side = |f: &crate::diff::FieldChange| {
                            if c.kind == ChangeKind::Appeared {
                                f.after.clone()
                            } else {
                                f.before.clone()
                            }
                        };
                        let summary: Vec<String> = [
                            "vendor",
                            "product_name",
                            "model",
                            "firmware_version",
                            "serial_number",
                            "services",
                        ]
                        .iter()
                        .filter_map(|name| c.fields.iter().find(|f| f.field == *name))
                        .map(|f| show(&side(f)))
                        .collect();
                        let summary = summary.join(" · ");
                        let (before, after) = if c.kind == ChangeKind::Appeared {
                            ("—".to_owned(), summary)
                        } else {
                            (summary, "—".to_owned())
                        };
                        vec![("device".to_owned(), before, after)]
                    }
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(ip: &str, product: &str, firmware: &str) -> AssetRecord {
        let mut r = AssetRecord::new("s", ip.parse().unwrap(), None);
        r.responsive = true;
        r.vendor = Some("Acme".into());
        r.product_name = Some(product.into());
        r.firmware_version = Some(firmware.into());
        r
    }

    #[test]
    fn hostile_strings_are_escaped_everywhere() {
        let hostile = "\"'><script>document.title='pwned'</script><img src=x onerror=alert(1)>";
        let mut r = device("10.0.0.1", hostile, hostile);
        r.vendor = Some(hostile.into());
        let old = vec![device("10.0.0.1", "x", "1.0")];
        let records = vec![r];
        let changes = crate::diff::diff(&old, &records);
        let input =
            ReportInput::new(hostile, "scan.jsonl", &records).with_changes(hostile, changes);
        let html = render(&input).unwrap();
        assert!(!html.contains("<script>document"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;document.title="));
        // One script element: the report's own.
        assert_eq!(html.matches("<script").count(), 1);
    }

    #[test]
    fn counts_and_changes() {
        let old = vec![
            device("10.0.0.1", "PLC", "1.0"),
            device("10.0.0.2", "IO", "2.0"),
        ];
        let new = vec![
            device("10.0.0.1", "PLC", "1.1"),
            device("10.0.0.3", "HMI", "3.0"),
        ];
        let changes = crate::diff::diff(&old, &new);
        let view = diff_view("old", &changes);
        assert_eq!(
            (view.notable, view.appeared, view.vanished, view.changed),
            (1, 1, 1, 1)
        );
        assert_eq!(view.changes[0].ip, "10.0.0.1", "firmware changes first");
        let html = render(&ReportInput::new("t", "s", &new).with_changes("old", changes)).unwrap();
        assert!(html.contains("10.0.0.3") && html.contains("vanished"));
        let c = chart("Vendors", BTreeMap::from([("Acme".into(), 2)]), 2);
        assert_eq!(c.bars[0].percent, 100);
    }
}
