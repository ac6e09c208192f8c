//! SNMP over real UDP sockets: the simulated agents of the mixed plant, and net-snmp's
//! own snmpd started by the test on a loopback alias and a high port.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::snmp::{SnmpConfig, SnmpDetails, SnmpVersion, SnmpVersions};
use scanner_core::record::{DeviceType, ServiceDetails, VendorIdSpace};
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

mod common;

const PORTS: PlantPorts = PlantPorts::block(20320);

/// SNMP alone, the liveness phase off: these agents sit on addresses where nothing else
/// answers, and those that drop a version they do not speak (v1-only, v3-only) would be
/// silent to the phase's one v2c datagram, which by design (issue 16) asks no second
/// version of an address that showed no sign of life. The version matrix is what is
/// tested here, so every address is probed in full, as `--no-liveness` (nmap's `-Pn`).
fn config(targets: &str, snmp: SnmpConfig) -> ScanConfig {
    ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes([Protocol::Snmp])
        .liveness(false)
        .rate(Rate::per_second(5000).unwrap())
        .per_device_interval(Duration::from_millis(5))
        .concurrency(NonZeroUsize::new(128).unwrap())
        .timeout(Duration::from_millis(400))
        .snmp(snmp)
        .build()
        .unwrap()
}

async fn scan(config: ScanConfig) -> BTreeMap<IpAddr, AssetRecord> {
    let mut scan = Scanner::new(config).scan();
    let mut records = BTreeMap::new();
    while let Some(r) = scan.next().await {
        let back: AssetRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        records.insert(r.ip, r);
    }
    records
}

fn snmp(record: &AssetRecord) -> &SnmpDetails {
    record
        .services
        .iter()
        .find_map(|s| match &s.details {
            Some(ServiceDetails::Snmp(d)) => Some(&**d),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{}: no snmp details", record.ip))
}

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 69, 0, host))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_agents_v1_v2c_and_v3_only() {
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 69, 0, 0), PORTS)).unwrap();
    let records = scan(config(
        "127.69.0.0/24",
        SnmpConfig {
            port: PORTS.snmp,
            ..SnmpConfig::default()
        },
    ))
    .await;
    let found: Vec<IpAddr> = records.keys().copied().collect();
    assert_eq!(found, [15, 30, 31, 32, 33, 34, 35, 36, 37, 50].map(ip));

    // A managed switch: system group, ENTITY-MIB rows, MAC, engine id.
    let sw = &records[&ip(31)];
    assert_eq!(sw.hostname.as_deref(), Some("sw-cell3.plant.example"));
    assert_eq!(sw.vendor.as_deref(), Some("Cisco"));
    assert_eq!(sw.model.as_deref(), Some("IE-2000-8TC-G-B"));
    assert_eq!(sw.serial_number.as_deref(), Some("FOC2215SIM3"));
    assert_eq!(sw.mac.as_deref(), Some("00:2a:6a:3c:81:c0"));
    assert_eq!(
        sw.firmware_version.as_deref(),
        Some("15.2(4)EA9"),
        "running image, not ROMMON"
    );
    assert_eq!(sw.device_type, Some(DeviceType::Switch));
    assert_eq!(sw.sources.get("model"), Some(&Protocol::Snmp));
    let d = snmp(sw);
    assert_eq!(d.version, Some(SnmpVersion::V2c));
    assert_eq!(d.community_index, Some(0));
    assert_eq!(
        d.community, None,
        "the community is not recorded by default"
    );
    let system = d.system.as_ref().unwrap();
    assert!(system
        .descr
        .as_ref()
        .unwrap()
        .text
        .contains("Cisco IOS Software"));
    assert_eq!(system.object_id.as_deref(), Some("1.3.6.1.4.1.9.1.1745"));
    assert!(system.uptime_ticks.is_some());
    assert!(d.entities.len() >= 2, "{:?}", d.entities);
    assert_eq!(d.engine.as_ref().unwrap().engine_id.enterprise, Some(9));

    // A UPS: vendor from sysObjectID's enterprise number, kept with its id space.
    let ups = &records[&ip(30)];
    assert_eq!(ups.vendor.as_deref(), Some("APC by Schneider Electric"));
    let vid = ups.vendor_id.as_ref().unwrap();
    assert_eq!((vid.space, vid.id), (VendorIdSpace::IanaPen, 318));
    assert_eq!(ups.hostname.as_deref(), Some("ups-mcc1"));

    // Only v3: no community answers, the engine still identifies the agent.
    let scalance = &records[&ip(33)];
    assert_eq!(scalance.services[0].status, Status::Success);
    let engine = snmp(scalance).engine.as_ref().unwrap();
    assert_eq!(engine.engine_id.enterprise, Some(4329));
    assert_eq!(engine.engine_id.format, "mac");
    assert_eq!((engine.boots, engine.time), (41, 7259));
    assert_eq!(scalance.vendor.as_deref(), Some("Siemens"));
    assert_eq!(scalance.mac.as_deref(), Some("00:1b:1b:8c:55:0e"));
    assert_eq!(snmp(scalance).version, None);

    // error-status: the agent speaks SNMP; recorded as an application error.
    let generr = &records[&ip(34)];
    assert_eq!(generr.services[0].status, Status::ApplicationError);
    assert!(snmp(generr)
        .error_status
        .as_deref()
        .unwrap()
        .contains("genErr"));

    // Non-UTF-8 sysDescr kept exactly; legacy engine id decoded.
    let odd = &records[&ip(35)];
    let descr = snmp(odd).system.as_ref().unwrap().descr.as_ref().unwrap();
    assert!(descr.hex.is_some());
    assert_eq!(
        snmp(odd).engine.as_ref().unwrap().engine_id.format,
        "legacy"
    );

    // .36 speaks v1 only and drops v2c and v3 without a word: the silence budget covers
    // v2c, v1 and v3, so v1 is asked and answers; its noSuchName for the first object it
    // lacks (sysContact) is answered by asking again without it, then without sysLocation.
    let legacy = &records[&ip(36)];
    assert_eq!(legacy.hostname.as_deref(), Some("rtac-sub-7"));
    let d = snmp(legacy);
    assert_eq!(d.version, Some(SnmpVersion::V1));
    let system = d.system.as_ref().unwrap();
    assert_eq!(system.services, Some(78));
    assert!(system.contact.is_none() && system.location.is_none());
    assert!(
        d.warnings
            .iter()
            .filter(|w| w.starts_with("noSuchName for 1.3.6.1.2.1.1."))
            .count()
            == 2,
        "{:?}",
        d.warnings
    );
    let service = &legacy.services[0];
    assert_eq!(service.status, Status::Success);

    // .37's replies cannot hold the whole system group: tooBig, then halves that fit.
    let small = &records[&ip(37)];
    assert_eq!(small.hostname.as_deref(), Some("pm5560-feeder-3"));
    let d = snmp(small);
    let system = d.system.as_ref().unwrap();
    assert_eq!(
        system.location.as_ref().map(|l| l.text.as_str()),
        Some("Switchgear room, feeder 3")
    );
    assert_eq!(system.services, Some(72));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.starts_with("tooBig for 7 OIDs")),
        "{:?}",
        d.warnings
    );

    // Every datagram the agents received was a Get, GetNext or v3 discovery.
    let frames = plant.recorder().frames();
    assert!(frames.iter().any(|f| f.protocol == "snmp"));
    for frame in frames {
        common::assert_read_only_snmp(&frame.bytes);
    }
    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn community_list_and_versions() {
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 70, 0, 0), PORTS)).unwrap();
    let nport = IpAddr::V4(Ipv4Addr::new(127, 70, 0, 32));
    // The second community answers; its index is recorded, and the string only on request.
    let records = scan(config(
        "127.70.0.32",
        SnmpConfig {
            port: PORTS.snmp,
            communities: vec![b"public".to_vec(), b"private".to_vec()],
            record_community: true,
            ..SnmpConfig::default()
        },
    ))
    .await;
    let d = snmp(&records[&nport]);
    assert_eq!(d.community_index, Some(1));
    assert_eq!(d.community.as_deref(), Some("private"));
    // v1 only.
    let records = scan(config(
        "127.70.0.30",
        SnmpConfig {
            port: PORTS.snmp,
            versions: SnmpVersions::V1,
            ..SnmpConfig::default()
        },
    ))
    .await;
    let ups = &records[&IpAddr::V4(Ipv4Addr::new(127, 70, 0, 30))];
    assert_eq!(snmp(ups).version, Some(SnmpVersion::V1));
    assert_eq!(snmp(ups).engine, None, "v1 only: no v3 discovery");
    plant.shutdown().await;
}

/// Interoperability with a real agent: net-snmp's snmpd, on 127.71.0.5:16161 with a
/// generated configuration (`scripts/install-deps.sh` installs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_snmp_snmpd_is_identified() {
    let snmpd = ["/usr/sbin/snmpd", "/usr/bin/snmpd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("snmpd is not installed: run scripts/install-deps.sh (Debian package snmpd)");
    let dir = std::env::temp_dir().join(format!("otscan-snmpd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("snmpd.conf");
    std::fs::write(
        &conf,
        "agentAddress udp:127.71.0.5:16161\n\
         rocommunity public 127.0.0.0/8\n\
         sysName otscan-snmpd-test\n\
         sysLocation test rack 4\n\
         sysContact ot-security@example.invalid\n\
         sysServices 72\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(snmpd)
        .args(["-f", "-C", "-Lf", "/dev/null", "-c"])
        .arg(&conf)
        .env("SNMP_PERSISTENT_DIR", &dir)
        .env("MIBS", "")
        .spawn()
        .unwrap();
    let target = IpAddr::V4(Ipv4Addr::new(127, 71, 0, 5));
    let mut record = None;
    // snmpd takes a moment to bind; retry a few times rather than sleeping long.
    for _ in 0..20 {
        let records = scan(config(
            "127.71.0.5",
            SnmpConfig {
                port: 16161,
                ..SnmpConfig::default()
            },
        ))
        .await;
        if let Some(r) = records.get(&target).filter(|r| r.responsive) {
            record = Some(r.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let record = record.expect("snmpd never answered");
    assert_eq!(record.hostname.as_deref(), Some("otscan-snmpd-test"));
    assert_eq!(record.vendor.as_deref(), Some("net-snmp"));
    assert_eq!(record.vendor_id.as_ref().map(|v| v.id), Some(8072));
    let d = snmp(&record);
    assert_eq!(d.version, Some(SnmpVersion::V2c));
    let system = d.system.as_ref().unwrap();
    assert_eq!(system.location.as_ref().unwrap().text, "test rack 4");
    assert_eq!(system.services, Some(72));
    assert!(system
        .object_id
        .as_deref()
        .unwrap()
        .starts_with("1.3.6.1.4.1.8072."));
    assert!(system.uptime_ticks.is_some());
    let engine = d.engine.as_ref().expect("snmpd answers v3 discovery");
    assert_eq!(engine.engine_id.enterprise, Some(8072));
    assert!(engine.boots >= 1);
}
