//! The OPC UA probe against the simulated plant's servers (hosts .60-.64 of
//! `PlantSpec::plant`) and against a real server (the asyncua package's), over real loopback
//! sockets: what each server is recorded as, that refusals are named, that a device speaking
//! OPC UA and S7 is one record, and that every channel opened was closed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::StreamExt;

mod common;
use common::Request;
use protocol_fixtures::{OpcuaRequest, Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::opcua::{OpcuaConfig, OpcuaDetails};
use scanner_core::protocols::s7::S7Config;
use scanner_core::record::{DeviceType, ServiceDetails};
use scanner_core::{AssetRecord, Protocol, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 74, 0, 0);
const PORTS: PlantPorts = PlantPorts::block(20800);

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 74, 0, host))
}

fn config(targets: &str, probes: &[Protocol], opcua_port: u16) -> ScanConfig {
    ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes(probes.iter().copied())
        .timeout(Duration::from_millis(1000))
        .opcua(OpcuaConfig {
            port: opcua_port,
            ..OpcuaConfig::default()
        })
        .s7(S7Config {
            port: PORTS.s7,
            ..S7Config::default()
        })
        .build()
        .unwrap()
}

async fn scan(config: ScanConfig) -> BTreeMap<IpAddr, AssetRecord> {
    Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await
}

fn opcua(record: &AssetRecord) -> (Status, u32, &OpcuaDetails, Option<&str>) {
    let s = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Opcua)
        .unwrap();
    let Some(ServiceDetails::Opcua(d)) = &s.details else {
        panic!("no OPC UA details: {s:?}")
    };
    (s.status, s.requests, d, s.error.as_deref())
}

fn text(t: &Option<scanner_core::record::DeviceText>) -> Option<&str> {
    t.as_ref().map(|t| t.text.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plant_servers_are_identified_or_their_refusals_named() {
    let plant = Plant::start(PlantSpec::plant(BASE, PORTS)).unwrap();
    let records = scan(config(
        "127.74.0.60-127.74.0.64",
        &[Protocol::S7, Protocol::Opcua],
        PORTS.opcua,
    ))
    .await;

    // The S7-1500: S7 refused (PUT/GET off), OPC UA tells who it is; one record.
    let plc = &records[&ip(60)];
    assert_eq!(plc.vendor.as_deref(), Some("Siemens"));
    assert_eq!(plc.model.as_deref(), Some("S7-1500"));
    assert_eq!(plc.device_type, Some(DeviceType::Plc));
    let s7 = plc
        .services
        .iter()
        .find(|s| s.protocol == Protocol::S7)
        .unwrap();
    assert_eq!(s7.status, Status::ApplicationError);
    let (status, requests, d, _) = opcua(plc);
    assert_eq!((status, requests), (Status::Success, 6));
    assert_eq!(d.anonymous_allowed, Some(false));
    assert_eq!(d.endpoints.len(), 3);
    assert_eq!(d.certificates.len(), 1);
    assert_eq!(
        d.certificates[0].organization.as_deref(),
        Some("Siemens AG")
    );

    // The gateway: eight endpoints in two chunks, anonymous access, host-name URLs.
    let gw = &records[&ip(61)];
    let (status, _, d, _) = opcua(gw);
    assert_eq!(status, Status::Success);
    assert_eq!(d.endpoints.len(), 8);
    assert_eq!(d.send_buffer_size, Some(8192));
    assert_eq!(d.anonymous_allowed, Some(true));
    assert_eq!(
        text(&d.endpoints[0].endpoint_url),
        Some("opc.tcp://kepware-gw:49320")
    );
    assert_eq!(gw.vendor.as_deref(), Some("PTC Kepware"));
    assert_eq!(gw.device_type, Some(DeviceType::Gateway));

    // Refusals: named status codes, application errors.
    let (status, _, d, error) = opcua(&records[&ip(62)]);
    assert_eq!(status, Status::ApplicationError);
    assert_eq!(d.error_name.as_deref(), Some("Bad_SecurityPolicyRejected"));
    assert_eq!(d.error_step.as_deref(), Some("open"));
    assert!(
        error.unwrap().contains("Bad_SecurityPolicyRejected"),
        "{error:?}"
    );
    let (status, requests, d, _) = opcua(&records[&ip(63)]);
    assert_eq!((status, requests), (Status::ApplicationError, 2));
    assert_eq!(d.error_name.as_deref(), Some("Bad_TcpEndpointUrlInvalid"));

    // The discovery server names the two servers behind it.
    let (_, _, d, _) = opcua(&records[&ip(64)]);
    let behind: Vec<_> = d
        .servers
        .iter()
        .map(|s| text(&s.application_uri).unwrap())
        .collect();
    assert_eq!(
        behind,
        [
            "urn:press-7:open62541.server",
            "urn:oven-2:open62541.server"
        ]
    );

    // Every channel opened was closed, and nothing but discovery reached the servers.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for host in [60, 61, 64] {
        let frames = plant.recorder().frames_for(ip(host));
        let kinds: Vec<OpcuaRequest> = frames
            .iter()
            .filter(|f| f.protocol == "opcua")
            .map(
                |f| match protocol_fixtures::allowlist::check("opcua", &f.bytes) {
                    Ok(Request::Opcua(r)) => r,
                    other => panic!("{host}: {other:?}"),
                },
            )
            .collect();
        assert_eq!(
            kinds,
            [
                OpcuaRequest::Hello,
                OpcuaRequest::OpenSecureChannel,
                OpcuaRequest::GetEndpoints,
                OpcuaRequest::FindServers,
                OpcuaRequest::CloseSecureChannel,
            ],
            "host .{host}"
        );
    }
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}

/// Interoperability with a real server: the asyncua package's (PyPI; `scripts/install-deps.sh`
/// installs it), on 127.74.1.5:20840 with SecurityPolicy None only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncua_server_is_identified() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/opcua_asyncua_server.py"
    );
    let (uri, name) = ("urn:otscan:interop:asyncua", "otscan interop server");
    let endpoint = "opc.tcp://127.74.1.5:20840/otscan/";
    let mut child = Command::new("python3")
        .args([script, endpoint, uri, name])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l == "ready")
    });
    let ready = tokio::time::timeout(Duration::from_secs(30), ready).await;
    if !matches!(ready, Ok(Ok(true))) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the asyncua server did not start: run scripts/install-deps.sh (pip asyncua)");
    }
    let records = scan(config("127.74.1.5", &[Protocol::Opcua], 20840)).await;
    let _ = child.kill();
    let _ = child.wait();
    let record = &records[&IpAddr::V4(Ipv4Addr::new(127, 74, 1, 5))];
    let (status, requests, d, _) = opcua(record);
    assert_eq!((status, requests), (Status::Success, 6), "{d:?}");
    let app = d.application.as_ref().unwrap();
    assert_eq!(text(&app.application_uri), Some(uri));
    assert_eq!(text(&app.application_name), Some(name));
    assert_eq!(
        text(&app.product_uri),
        Some("urn:freeopcua.github.io:python:server")
    );
    assert_eq!(d.protocol_version, Some(0));
    assert!(d.secure_channel_opened);
    assert!(!d.endpoints.is_empty());
    for e in &d.endpoints {
        assert_eq!(text(&e.endpoint_url), Some(endpoint));
        assert_eq!(e.security_mode, "None");
        assert_eq!(
            text(&e.security_policy_uri),
            Some("http://opcfoundation.org/UA/SecurityPolicy#None")
        );
    }
    assert_eq!(d.anonymous_allowed, Some(true));
    assert_eq!(record.product_name.as_deref(), Some(name));
    assert_eq!(record.vendor.as_deref(), Some("FreeOpcUa"));
}
