//! Field-by-field table for the BACnet/IP and S7 peer comparison (`benches/peer_bacnet_s7.sh`):
//! what [`PlantSpec::plant`]'s BACnet devices (.40-.45) and S7 CPUs (.50-.55) serve on the wire,
//! what otscan's records say and what nmap's `bacnet-info` and `s7-info` scripts printed.
//!
//! `bacnet_s7_report BASE OTSCAN_NDJSON NMAP_NORMAL_OUTPUT [NMAP_VARIANT_OUTPUT]`, where BASE is
//! an address of the plant's /24, OTSCAN_NDJSON otscan's native records, NMAP_NORMAL_OUTPUT
//! nmap's `-oN` file and NMAP_VARIANT_OUTPUT, if given, the `-oN` file of a run of a modified
//! `s7-info` (any script whose name starts with `s7-info`), reported in a second table.
//!
//! The "plant serves" column is computed from the plant's own configuration: a value counts as
//! served when some well-formed read-only request gets it (the BACnet instance and vendor id of
//! a device that refuses every confirmed request only come in its I-Am, so they count, marked
//! so; an S7 CPU's values count when it accepts some TSAP and answers setup and SZL reads).
//! Each tool's cell is its value, then `✓` (equal to the served value; nmap's `Version` is
//! compared without the leading `V`, its strings without trailing blanks), `✗` (different, or a
//! value where the device serves none), `(missed)` (served, not reported) or `n/a` (the tool has
//! no such field: otscan keeps no basic-hardware order number, nmap no hardware release, module
//! name, memory card serial or location). Values are printed verbatim, quoted when empty or
//! when they start or end with a blank (nmap keeps the SZL's space padding).
//!
//! nmap's `s7-info` reads SZL fields at fixed offsets: its `Module Type` is the text of the
//! second 0x001C record (index 2, the module name, on these CPUs), and its `Version` the three
//! bytes at offset 123 of the 0x0011 answer (the firmware record's when records are 28 bytes).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use protocol_fixtures::{
    bacnet::charset, s7::szl_id, BacnetDeviceConfig, BacnetRefusal, BacnetString, PlantPorts,
    PlantSpec, S7Behaviour, S7DeviceConfig, TsapRefusal,
};
use serde_json::Value;

fn read(path: &str) -> String {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("bacnet_s7_report: {path}: {e}");
            std::process::exit(2)
        }
    }
}

/// One script's output for one host: `Key: value` lines, and any other lines.
#[derive(Debug, Default)]
struct ScriptOutput {
    fields: BTreeMap<String, String>,
    other: Vec<String>,
}

/// What nmap printed for one host: port lines and script outputs by script name.
#[derive(Debug, Default)]
struct NmapHost {
    ports: Vec<String>,
    scripts: BTreeMap<String, ScriptOutput>,
}

impl NmapHost {
    /// The output of the script whose name starts with `prefix` (`s7-info` also finds a
    /// renamed copy such as `s7-info-tsap0100`).
    fn script(&self, prefix: &str) -> Option<(&str, &ScriptOutput)> {
        self.scripts
            .iter()
            .find(|(name, _)| name.starts_with(prefix))
            .map(|(n, o)| (n.as_str(), o))
    }

    fn port(&self, port: &str) -> Option<&str> {
        self.ports
            .iter()
            .find(|l| l.starts_with(port))
            .map(String::as_str)
    }
}

/// Parses nmap's normal output: `| name: ...` opens a script block, `|   Key: value` and
/// `|_  Key: value` are its fields, `|_` closes it.
fn parse_nmap(text: &str) -> BTreeMap<Ipv4Addr, NmapHost> {
    let mut hosts: BTreeMap<Ipv4Addr, NmapHost> = BTreeMap::new();
    let mut host: Option<Ipv4Addr> = None;
    let mut script: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Nmap scan report for ") {
            host = rest.trim().parse().ok();
            script = None;
            continue;
        }
        let Some(ip) = host else { continue };
        let entry = hosts.entry(ip).or_default();
        if line.chars().next().is_some_and(|c| c.is_ascii_digit()) && line.contains('/') {
            entry
                .ports
                .push(line.split_whitespace().collect::<Vec<_>>().join(" "));
            script = None;
            continue;
        }
        let Some(rest) = line.strip_prefix("|_").or_else(|| line.strip_prefix('|')) else {
            script = None;
            continue;
        };
        let last = line.starts_with("|_");
        // "| name: " or "|_name: text": a script name, one blank at most before it.
        let head = rest.strip_prefix(' ').unwrap_or(rest);
        let opens = head.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
        if opens {
            let (name, tail) = head.split_once(':').unwrap_or((head, ""));
            let out = entry.scripts.entry(name.to_owned()).or_default();
            let tail = tail.trim();
            if !tail.is_empty() {
                out.other.push(tail.to_owned());
            }
            script = (!last).then(|| name.to_owned());
            continue;
        }
        if let Some(name) = &script {
            let out = entry.scripts.entry(name.clone()).or_default();
            // Fields are indented by two blanks or more; other lines by one or a tab.
            let field = rest.strip_prefix("  ").map(str::trim_start);
            match field.and_then(|kv| {
                kv.split_once(": ")
                    .or_else(|| Some((kv.strip_suffix(':')?, "")))
            }) {
                Some((key, value)) => {
                    out.fields.insert(key.to_owned(), value.to_owned());
                }
                None => out.other.push(rest.trim().to_owned()),
            }
            if last {
                script = None;
            }
        }
    }
    hosts
}

/// otscan's service observation of `protocol` for each address (the first one that is not a
/// refused connection).
fn parse_otscan(text: &str, protocol: &str) -> BTreeMap<Ipv4Addr, Value> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(ip) = record["ip"].as_str().and_then(|ip| ip.parse().ok()) else {
            continue;
        };
        for service in record["services"].as_array().into_iter().flatten() {
            if service["protocol"] == protocol && service["status"] != "connection-refused" {
                out.entry(ip).or_insert_with(|| service.clone());
            }
        }
    }
    out
}

/// A BACnet CharacterString as text: UTF-8 (lossy), ISO 8859-1 or UCS-2.
fn bacnet_text(s: &BacnetString) -> String {
    match s.charset {
        charset::UTF8 => String::from_utf8_lossy(&s.bytes).into_owned(),
        charset::ISO_8859_1 => s.bytes.iter().map(|&b| char::from(b)).collect(),
        4 => char::decode_utf16(
            s.bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])),
        )
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        _ => String::from_utf8_lossy(&s.bytes).into_owned(),
    }
}

/// How two values are compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Equal strings (nmap's without trailing blanks).
    Text,
    /// The last number in the tool's value equals the served number (nmap's
    /// `Vendor ID: Name (5)`).
    LastNumber,
    /// Equal after dropping a leading `V` (firmware versions).
    Version,
}

/// What a tool reported for one field: `NotAField` when the tool has no such field at all.
#[derive(Clone, Debug)]
enum Got {
    NotAField,
    Value(Option<String>),
}

impl Got {
    fn value(&self) -> Option<&String> {
        match self {
            Got::NotAField => None,
            Got::Value(v) => v.as_ref(),
        }
    }
}

/// One field: what the plant serves and what each tool reported.
struct Row {
    field: &'static str,
    served: Option<String>,
    served_note: Option<&'static str>,
    compare: Compare,
    otscan: Got,
    nmap: Got,
}

fn last_number(s: &str) -> Option<String> {
    let digits: String = s
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| digits.chars().rev().collect())
}

fn matches(compare: Compare, served: &str, got: &str) -> bool {
    let got = got.trim_end();
    match compare {
        Compare::Text => got == served,
        Compare::LastNumber => last_number(got).as_deref() == Some(served),
        Compare::Version => got.trim_start_matches('V') == served.trim_start_matches('V'),
    }
}

/// A Markdown table cell: `|` escaped, control characters shown as `\xNN`.
fn cell(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// A value as shown: quoted when empty or when it starts or ends with a blank.
fn shown(v: &str) -> String {
    if v.is_empty() || v.trim() != v {
        format!("\"{}\"", cell(v))
    } else {
        cell(v)
    }
}

#[derive(Default, Clone, Copy)]
struct Tally {
    correct: usize,
    wrong: usize,
    missed: usize,
}

fn judge(row: &Row, got: &Got, tally: &mut Tally) -> String {
    if matches!(got, Got::NotAField) {
        return "n/a".to_owned();
    }
    match (&row.served, got.value()) {
        (None, None) => "—".to_owned(),
        (Some(_), None) => {
            tally.missed += 1;
            "(missed)".to_owned()
        }
        (Some(served), Some(v)) if matches(row.compare, served, v) => {
            tally.correct += 1;
            format!("{} ✓", shown(v))
        }
        (_, Some(v)) => {
            tally.wrong += 1;
            format!("{} ✗", shown(v))
        }
    }
}

fn text_of(v: &Value) -> Option<String> {
    v["text"].as_str().map(str::to_owned)
}

fn num_of(v: &Value) -> Option<String> {
    v.as_u64().map(|n| n.to_string())
}

fn refusal_name(r: &BacnetRefusal) -> String {
    match r {
        BacnetRefusal::Error { class, code } => format!("Error {class}/{code}"),
        BacnetRefusal::Reject(reason) => format!("Reject {reason}"),
        BacnetRefusal::Abort(reason) => format!("Abort {reason}"),
    }
}

fn bacnet_behaviour(c: &BacnetDeviceConfig) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &c.refuse_all {
        parts.push(format!(
            "every confirmed request: {}; Who-Is answered",
            refusal_name(r)
        ));
    }
    if !c.accepts_wildcard {
        parts.push("wildcard instance: Error 1/31 (unknown-object)".to_owned());
    }
    if !c.supports_rpm {
        parts.push("ReadPropertyMultiple: Reject 9".to_owned());
    }
    if c.max_apdu < 206 {
        parts.push(format!("max APDU {} (RPM answer: Abort 4)", c.max_apdu));
    }
    if c.forwarded {
        parts.push("replies as Forwarded-NPDU".to_owned());
    }
    if let Some(route) = &c.route {
        let mac: String = route.address.iter().map(|b| format!("{b:02x}")).collect();
        parts.push(format!("routed: SNET {}, SADR {mac}", route.network));
    }
    if parts.is_empty() {
        "well-behaved".to_owned()
    } else {
        parts.join("; ")
    }
}

fn s7_behaviour(c: &S7DeviceConfig) -> String {
    let mut parts = Vec::new();
    let tsaps: Vec<String> = c.tsaps.iter().map(|t| format!("{t:#06x}")).collect();
    let others = match c.other_tsaps {
        TsapRefusal::Disconnect(reason) => format!("Disconnect {reason:#04x}"),
        TsapRefusal::Close => "close".to_owned(),
    };
    if tsaps.is_empty() {
        parts.push(format!("no TSAP accepted (every one: {others})"));
    } else {
        parts.push(format!("TSAP {} (others: {others})", tsaps.join(", ")));
    }
    match c.behaviour {
        S7Behaviour::Classic => {}
        S7Behaviour::RefuseSetup { class, code } => {
            parts.push(format!(
                "setup refused: class {class:#04x} code {code:#04x}"
            ));
        }
        S7Behaviour::RefuseSzl => parts.push("every SZL read: 0xD401, return 0x0A".to_owned()),
    }
    if let Some(list) = c.szl.get(&szl_id::MODULE_IDENTIFICATION) {
        if usize::from(list.record_len) != protocol_fixtures::s7::MODULE_RECORD_LEN {
            parts.push(format!("0x0011 records {} bytes", list.record_len));
        }
    }
    if c.behaviour == S7Behaviour::Classic
        && !c.tsaps.is_empty()
        && !c.szl.contains_key(&szl_id::COMPONENT_IDENTIFICATION)
    {
        parts.push("0x001C refused".to_owned());
    }
    parts.join("; ")
}

/// The S7 values a CPU serves: 0x0011 records by index (order number, Ausbg, Ausbe) and
/// 0x001C texts by index; nothing when no TSAP is accepted or setup or SZL reads are refused.
struct S7Served {
    module: BTreeMap<u16, (String, u16, u16)>,
    component: BTreeMap<u16, String>,
}

fn s7_served(c: &S7DeviceConfig) -> S7Served {
    let mut served = S7Served {
        module: BTreeMap::new(),
        component: BTreeMap::new(),
    };
    if c.tsaps.is_empty() || c.behaviour != S7Behaviour::Classic {
        return served;
    }
    let index = |r: &[u8]| u16::from_be_bytes([r[0], r[1]]);
    if let Some(list) = c.szl.get(&szl_id::MODULE_IDENTIFICATION) {
        for r in list.records.iter().filter(|r| r.len() >= 28) {
            let order = String::from_utf8_lossy(&r[2..22]).trim_end().to_owned();
            let ausbg = u16::from_be_bytes([r[24], r[25]]);
            let ausbe = u16::from_be_bytes([r[26], r[27]]);
            served.module.insert(index(r), (order, ausbg, ausbe));
        }
    }
    if let Some(list) = c.szl.get(&szl_id::COMPONENT_IDENTIFICATION) {
        for r in list.records.iter().filter(|r| r.len() >= 2) {
            let text = &r[2..];
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            let text = String::from_utf8_lossy(&text[..end]).trim_end().to_owned();
            if !text.is_empty() {
                served.component.insert(index(r), text);
            }
        }
    }
    served
}

fn bacnet_rows(c: &BacnetDeviceConfig, o: Option<&Value>, n: Option<&ScriptOutput>) -> Vec<Row> {
    let d = o.map(|s| &s["details"]["bacnet"]);
    let refuse_all = c.refuse_all.is_some();
    let served_text = |s: &Option<BacnetString>| {
        if refuse_all {
            None
        } else {
            s.as_ref().map(bacnet_text)
        }
    };
    let from_i_am = refuse_all.then_some("I-Am only");
    let ot = |key: &str| Got::Value(d.and_then(|d| text_of(&d[key])));
    let nm = |key: &str| Got::Value(n.and_then(|n| n.fields.get(key).cloned()));
    let row = |field, served, note, compare, otscan, nmap| Row {
        field,
        served,
        served_note: note,
        compare,
        otscan,
        nmap,
    };
    vec![
        row(
            "vendor id",
            Some(c.vendor_id.to_string()),
            from_i_am,
            Compare::LastNumber,
            Got::Value(d.and_then(|d| num_of(&d["vendor_id"]))),
            nm("Vendor ID"),
        ),
        row(
            "vendor name",
            served_text(&c.vendor_name),
            None,
            Compare::Text,
            ot("vendor_name"),
            nm("Vendor Name"),
        ),
        row(
            "instance",
            Some(c.instance.to_string()),
            from_i_am,
            Compare::Text,
            Got::Value(d.and_then(|d| num_of(&d["device_instance"]))),
            nm("Object-identifier"),
        ),
        row(
            "model name",
            served_text(&c.model_name),
            None,
            Compare::Text,
            ot("model_name"),
            nm("Model Name"),
        ),
        row(
            "firmware revision",
            served_text(&c.firmware_revision),
            None,
            Compare::Text,
            ot("firmware_revision"),
            nm("Firmware"),
        ),
        row(
            "application software",
            served_text(&c.application_software_version),
            None,
            Compare::Text,
            ot("application_software_version"),
            nm("Application Software"),
        ),
        row(
            "object name",
            served_text(&c.object_name),
            None,
            Compare::Text,
            ot("object_name"),
            nm("Object Name"),
        ),
        row(
            "description",
            served_text(&c.description),
            None,
            Compare::Text,
            ot("description"),
            nm("Description"),
        ),
        row(
            "location",
            served_text(&c.location),
            None,
            Compare::Text,
            ot("location"),
            nm("Location"),
        ),
    ]
}

fn s7_rows(c: &S7DeviceConfig, o: Option<&Value>, n: Option<&ScriptOutput>) -> Vec<Row> {
    let served = s7_served(c);
    let d = o.map(|s| &s["details"]["s7"]);
    let ot = |key: &str| Got::Value(d.and_then(|d| text_of(&d[key])));
    let nm = |key: &str| Got::Value(n.and_then(|n| n.fields.get(key).cloned()));
    let ot_str = |key: &str| Got::Value(d.and_then(|d| d[key].as_str().map(str::to_owned)));
    let order = |i: u16| {
        served
            .module
            .get(&i)
            .map(|(o, _, _)| o.clone())
            .filter(|o| !o.is_empty())
    };
    let release = |i: u16| served.module.get(&i).map(|(_, g, _)| g.to_string());
    let firmware = served.module.get(&7).map(|&(_, g, e)| {
        let [v, major] = g.to_be_bytes();
        let [minor, patch] = e.to_be_bytes();
        format!("{}{major}.{minor}.{patch}", char::from(v))
    });
    let comp = |i: u16| served.component.get(&i).cloned();
    let row = |field, served, compare, otscan, nmap| Row {
        field,
        served,
        served_note: None,
        compare,
        otscan,
        nmap,
    };
    vec![
        row(
            "module order no. (0x0011 #1)",
            order(1),
            Compare::Text,
            ot("order_number"),
            nm("Module"),
        ),
        row(
            "basic hardware order no. (#6)",
            order(6),
            Compare::Text,
            Got::NotAField,
            nm("Basic Hardware"),
        ),
        row(
            "hardware release (#6 Ausbg)",
            release(6),
            Compare::Text,
            ot_str("hardware_version"),
            Got::NotAField,
        ),
        row(
            "firmware version (#7)",
            firmware,
            Compare::Version,
            ot_str("firmware_version"),
            nm("Version"),
        ),
        row(
            "system name (0x001C #1)",
            comp(1),
            Compare::Text,
            ot("system_name"),
            nm("System Name"),
        ),
        row(
            "module name (#2)",
            comp(2),
            Compare::Text,
            ot("module_name"),
            Got::NotAField,
        ),
        row(
            "plant id (#3)",
            comp(3),
            Compare::Text,
            ot("plant_id"),
            nm("Plant Identification"),
        ),
        row(
            "copyright (#4)",
            comp(4),
            Compare::Text,
            ot("copyright"),
            nm("Copyright"),
        ),
        row(
            "serial number (#5)",
            comp(5),
            Compare::Text,
            ot("serial_number"),
            nm("Serial Number"),
        ),
        row(
            "module type (#7)",
            comp(7),
            Compare::Text,
            ot("module_type"),
            nm("Module Type"),
        ),
        row(
            "memory card serial (#8)",
            comp(8),
            Compare::Text,
            ot("memory_card_serial"),
            Got::NotAField,
        ),
        row(
            "location (#11)",
            comp(11),
            Compare::Text,
            ot("location"),
            Got::NotAField,
        ),
    ]
}

/// otscan's status for the device: status, requests, error and what the device refused.
fn otscan_status(o: Option<&Value>, protocol: &str) -> String {
    let Some(s) = o else {
        return "no record".to_owned();
    };
    let requests = s["requests"].as_u64().unwrap_or(0);
    let mut out = format!(
        "{}, {requests} request{}",
        s["status"].as_str().unwrap_or("?"),
        if requests == 1 { "" } else { "s" }
    );
    if let Some(e) = s["error"].as_str() {
        out.push_str(&format!("; error: {e}"));
    }
    let d = &s["details"][protocol];
    let refusals: Vec<String> = d["refusals"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let kind = r["kind"].as_str().unwrap_or("?");
            match kind {
                "error" => format!(
                    "error {}/{}",
                    r["error_class_name"].as_str().unwrap_or("?"),
                    r["error_code_name"].as_str().unwrap_or("?")
                ),
                _ => format!("{kind} {}", r["reason_name"].as_str().unwrap_or("?")),
            }
        })
        .collect();
    if !refusals.is_empty() {
        out.push_str(&format!("; refused: {}", refusals.join(", ")));
    }
    let tsaps: Vec<String> = d["refused_tsaps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "{:#06x} {}",
                t["tsap"].as_u64().unwrap_or(0),
                t["how"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if !tsaps.is_empty() {
        out.push_str(&format!("; refused TSAPs: {}", tsaps.join(", ")));
    }
    if let Some(t) = d["tsap"].as_u64() {
        out.push_str(&format!("; TSAP {t:#06x}"));
    }
    if let Some(net) = d["source_network"].as_u64() {
        out.push_str(&format!(
            "; routed from network {net}, MAC {}",
            d["source_mac"].as_str().unwrap_or("?")
        ));
    }
    if let Some(f) = d["forwarded_from"].as_str() {
        out.push_str(&format!("; forwarded from {f}"));
    }
    if let Some(code) = d["szl_error_code"].as_u64() {
        out.push_str(&format!(
            "; SZL error {code:#06x} return {:#04x}",
            d["szl_return_code"].as_u64().unwrap_or(0)
        ));
    }
    let warnings: Vec<&str> = d["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !warnings.is_empty() {
        out.push_str(&format!("; warnings: {}", warnings.join(" / ")));
    }
    if let Some(h) = d["description"]["hex"].as_str() {
        out.push_str(&format!("; description bytes kept: {h}"));
    }
    out
}

/// nmap's status for the device: the script's fields, or its other lines, or the port state.
fn nmap_status(host: Option<&NmapHost>, script: &str, port: &str) -> String {
    let Some(host) = host else {
        return "host not in the output".to_owned();
    };
    let state = host.port(port).unwrap_or("no port line").to_owned();
    match host.script(script) {
        None => format!("no script output ({state})"),
        Some((name, out)) => {
            let mut parts = Vec::new();
            if !out.fields.is_empty() {
                parts.push(format!("{} fields", out.fields.len()));
            }
            if !out.other.is_empty() {
                parts.push(out.other.join(" "));
            }
            format!("{name}: {} ({state})", parts.join("; "))
        }
    }
}

fn print_rows(
    label: &str,
    behaviour: &str,
    rows: &[Row],
    otscan: Option<String>,
    nmap: String,
    tallies: &mut [Tally; 2],
) {
    let with_otscan = otscan.is_some();
    let status = |first: bool| if first { cell(label) } else { String::new() };
    if let Some(o) = &otscan {
        println!(
            "| {} | status | {} | {} | {} |",
            status(true),
            cell(behaviour),
            cell(o),
            cell(&nmap)
        );
    } else {
        println!(
            "| {} | status | {} | {} |",
            status(true),
            cell(behaviour),
            cell(&nmap)
        );
    }
    for row in rows {
        if row.served.is_none() && row.otscan.value().is_none() && row.nmap.value().is_none() {
            continue;
        }
        let served = match (&row.served, row.served_note) {
            (Some(v), Some(note)) => format!("{} ({note})", shown(v)),
            (Some(v), None) => shown(v),
            (None, _) => "—".to_owned(),
        };
        let n = judge(row, &row.nmap, &mut tallies[1]);
        if with_otscan {
            let o = judge(row, &row.otscan, &mut tallies[0]);
            println!("| | {} | {served} | {o} | {n} |", row.field);
        } else {
            println!("| | {} | {served} | {n} |", row.field);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base, otscan, nmap, variant) = match &args[..] {
        [b, o, n] => (b, o, n, None),
        [b, o, n, v] => (b, o, n, Some(v)),
        _ => {
            eprintln!(
                "usage: bacnet_s7_report BASE OTSCAN_NDJSON NMAP_NORMAL_OUTPUT [NMAP_VARIANT_OUTPUT]"
            );
            std::process::exit(2)
        }
    };
    let Ok(base) = base.parse::<Ipv4Addr>() else {
        eprintln!("bacnet_s7_report: {base}: not an IPv4 address");
        std::process::exit(2)
    };
    let spec = PlantSpec::plant(base, PlantPorts::default());
    let records = read(otscan);
    let o_bacnet = parse_otscan(&records, "bacnet");
    let o_s7 = parse_otscan(&records, "s7");
    let n_hosts = parse_nmap(&read(nmap));

    println!("| device | field | plant serves | otscan | nmap |");
    println!("|---|---|---|---|---|");
    let mut tallies = [Tally::default(); 2];
    for device in &spec.devices {
        let label = format!(".{} {}", device.ip.octets()[3], device.name);
        let host = n_hosts.get(&device.ip);
        if let Some((_, c)) = &device.bacnet {
            let o = o_bacnet.get(&device.ip);
            let n = host.and_then(|h| h.script("bacnet-info")).map(|(_, s)| s);
            print_rows(
                &label,
                &bacnet_behaviour(c),
                &bacnet_rows(c, o, n),
                Some(otscan_status(o, "bacnet")),
                nmap_status(host, "bacnet-info", "47808/udp"),
                &mut tallies,
            );
        }
        if let Some((_, c)) = &device.s7 {
            let o = o_s7.get(&device.ip);
            let n = host.and_then(|h| h.script("s7-info")).map(|(_, s)| s);
            print_rows(
                &label,
                &s7_behaviour(c),
                &s7_rows(c, o, n),
                Some(otscan_status(o, "s7")),
                nmap_status(host, "s7-info", "102/tcp"),
                &mut tallies,
            );
        }
    }
    let [o, n] = tallies;
    println!(
        "\nbacnet_s7_report: fields served and reported correctly: otscan {}, nmap {}; \
         wrong or invented: otscan {}, nmap {}; served but missed: otscan {}, nmap {}",
        o.correct, n.correct, o.wrong, n.wrong, o.missed, n.missed
    );

    if let Some(variant) = variant {
        let v_hosts = parse_nmap(&read(variant));
        println!("\n| device | field | plant serves | nmap (modified s7-info) |");
        println!("|---|---|---|---|");
        let mut tallies = [Tally::default(); 2];
        for device in &spec.devices {
            let (Some((_, c)), Some(host)) = (&device.s7, v_hosts.get(&device.ip)) else {
                continue;
            };
            let label = format!(".{} {}", device.ip.octets()[3], device.name);
            let n = host.script("s7-info").map(|(_, s)| s);
            print_rows(
                &label,
                &s7_behaviour(c),
                &s7_rows(c, None, n),
                None,
                nmap_status(Some(host), "s7-info", "102/tcp"),
                &mut tallies,
            );
        }
        let n = tallies[1];
        println!(
            "\nbacnet_s7_report (modified s7-info): correct {}, wrong or invented {}, missed {}",
            n.correct, n.wrong, n.missed
        );
    }
}
