//! The banner probes (off by default) over real loopback sockets: the plant's simulated
//! SSH servers are read, a default scan leaves them alone, and a real SSH server, Debian's
//! OpenSSH started by the test on loopback with its own host key and config, is read too
//! (`scripts/install-deps.sh` installs `openssh-server`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::ftp::{FtpConfig, FtpDetails};
use scanner_core::protocols::ssh::{SshConfig, SshDetails};
use scanner_core::protocols::telnet::{TelnetConfig, TelnetDetails};
use scanner_core::record::ServiceDetails;
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 114, 0, 0);
const PORTS: PlantPorts = PlantPorts::block(23_168);
/// The test's own sshd.
const SSHD_PORT: u16 = 23_222;

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(BASE) | u32::from(host)))
}

async fn scan(targets: &str, probes: &[Protocol], port: u16) -> BTreeMap<IpAddr, AssetRecord> {
    let config = ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes(probes.iter().copied())
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::from_millis(2))
        .concurrency(NonZeroUsize::new(64).unwrap())
        .timeout(Duration::from_millis(500))
        .emit_all(true)
        .ssh(SshConfig { port })
        .ftp(FtpConfig { port })
        .telnet(TelnetConfig { port })
        .build()
        .unwrap();
    Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await
}

fn ssh(record: &AssetRecord) -> (Status, u32, SshDetails) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Ssh)
        .expect("an ssh service");
    let details = match &service.details {
        Some(ServiceDetails::Ssh(d)) => (**d).clone(),
        _ => SshDetails::default(),
    };
    (service.status, service.requests, details)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plant_s_ssh_servers_are_read_and_nothing_is_sent() {
    let plant = Plant::start(PlantSpec::plant(BASE, PORTS)).unwrap();
    let records = scan(&format!("{BASE}/24"), &[Protocol::Ssh], PORTS.ssh).await;

    let (status, requests, d) = ssh(&records[&ip(150)]);
    assert_eq!((status, requests), (Status::Success, 1));
    assert_eq!(d.identification.unwrap().text, "SSH-1.99-Cisco-1.25");
    assert_eq!(d.protocol_version.unwrap().text, "1.99");
    assert_eq!(d.product.as_deref(), Some("Cisco"));
    assert_eq!(d.version.as_deref(), Some("1.25"));
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    // Recog (ssh_banners.xml): Cisco's own SSH stack on IOS names the vendor and a CPE.
    let cisco = &records[&ip(150)];
    assert_eq!(cisco.vendor.as_deref(), Some("Cisco"));
    assert_eq!(cisco.sources["vendor"], Protocol::Ssh);
    assert!(
        cisco.derived["vendor"].starts_with("recog ssh_banners.xml: \"Cisco SSH banner"),
        "{:?}",
        cisco.derived
    );
    assert_eq!(cisco.cpe, ["cpe:/o:cisco:ios:-"]);

    let (status, _, d) = ssh(&records[&ip(151)]);
    assert_eq!(status, Status::Success);
    assert_eq!(d.software_version.unwrap().text, "dropbear_2019.78");
    let pre: Vec<&str> = d.pre_lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        pre,
        ["Serial device server (simulated)", "Authorised access only"]
    );
    // The banner says what it is, not which device: no identity from SSH, but Recog's
    // Dropbear fingerprint with the server's version.
    assert_eq!(records[&ip(151)].vendor, None);
    assert_eq!(records[&ip(151)].model, None);
    let fingerprints = &records[&ip(151)].fingerprints;
    assert_eq!(fingerprints.len(), 1, "{fingerprints:?}");
    assert_eq!(
        (
            fingerprints[0].database.as_str(),
            fingerprints[0].field.as_str()
        ),
        ("ssh_banners", "ssh.identification")
    );
    assert_eq!(fingerprints[0].params["service.product"], "Dropbear");
    assert_eq!(fingerprints[0].params["service.version"], "2019.78");

    // Nothing was sent to any SSH server.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent: Vec<_> = plant
        .recorder()
        .frames()
        .into_iter()
        .filter(|f| f.protocol == "ssh")
        .collect();
    assert!(sent.is_empty(), "{sent:?}");
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}

fn ftp(record: &AssetRecord) -> (Status, u32, FtpDetails, Option<String>) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Ftp)
        .expect("an ftp service");
    let details = match &service.details {
        Some(ServiceDetails::Ftp(d)) => (**d).clone(),
        _ => FtpDetails::default(),
    };
    (
        service.status,
        service.requests,
        details,
        service.error.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plant_s_ftp_servers_are_read_and_nothing_is_sent() {
    const PORTS: PlantPorts = PlantPorts::block(23_200);
    let base = Ipv4Addr::new(127, 114, 1, 0);
    let at = |h: u8| IpAddr::V4(Ipv4Addr::new(127, 114, 1, h));
    let plant = Plant::start(PlantSpec::plant(base, PORTS)).unwrap();
    let records = scan(&format!("{base}/24"), &[Protocol::Ftp], PORTS.ftp).await;

    let (status, requests, d, _) = ftp(&records[&at(152)]);
    assert_eq!((status, requests), (Status::Success, 1));
    assert_eq!(d.code, Some(220));
    assert_eq!(d.lines, 3);
    assert_eq!(
        d.banner.unwrap().text,
        "Operator panel HMI-15 (simulated)\nRecipes and logs only\nFTP server ready"
    );
    let (status, _, d, _) = ftp(&records[&at(153)]);
    assert_eq!(status, Status::Success);
    assert_eq!(
        d.banner.unwrap().text,
        "VxWorks (VxWorks5.5.1) FTP server ready"
    );
    // 421: an FTP server that refuses service.
    let (status, _, d, error) = ftp(&records[&at(154)]);
    assert_eq!(status, Status::ApplicationError, "{error:?}");
    assert_eq!(d.code, Some(421));
    // Recog's ftp_banners.xml names the OS (Wind River VxWorks 5.5.1) but no hardware
    // vendor, so the PLC's vendor stays empty; the match is in `fingerprints`.
    assert_eq!(records[&at(153)].vendor, None);
    let fp = &records[&at(153)].fingerprints;
    assert_eq!(fp.len(), 1, "{fp:?}");
    assert_eq!(
        fp[0].params.get("os.version").map(String::as_str),
        Some("5.5.1")
    );

    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent: Vec<_> = plant
        .recorder()
        .frames()
        .into_iter()
        .filter(|f| f.protocol == "ftp")
        .collect();
    assert!(sent.is_empty(), "{sent:?}");
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}

fn telnet(record: &AssetRecord) -> (Status, u32, TelnetDetails) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Telnet)
        .expect("a telnet service");
    let details = match &service.details {
        Some(ServiceDetails::Telnet(d)) => (**d).clone(),
        _ => TelnetDetails::default(),
    };
    (service.status, service.requests, details)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plant_s_telnet_servers_are_read_and_every_option_refused() {
    const PORTS: PlantPorts = PlantPorts::block(23_232);
    let base = Ipv4Addr::new(127, 114, 2, 0);
    let at = |h: u8| IpAddr::V4(Ipv4Addr::new(127, 114, 2, h));
    let plant = Plant::start(PlantSpec::plant(base, PORTS)).unwrap();
    let records = scan(&format!("{base}/24"), &[Protocol::Telnet], PORTS.telnet).await;

    // WILL ECHO, WILL SGA: refused with DONT 1, DONT 3 in one round; the menu's prompt
    // ends the read.
    let (status, requests, d) = telnet(&records[&at(155)]);
    assert_eq!((status, requests), (Status::Success, 2), "{d:?}");
    assert_eq!(d.will_options, [1, 3]);
    assert_eq!(d.refusal_rounds, 1);
    let banner = d.banner.unwrap().text;
    assert!(
        banner.starts_with("Model name       : NPort IA-5250\n"),
        "{banner}"
    );
    assert!(banner.ends_with("Please keyin your password:"), "{banner}");
    let (status, _, d) = telnet(&records[&at(156)]);
    assert_eq!(status, Status::Success);
    assert_eq!(
        (d.do_options.as_slice(), d.will_options.as_slice()),
        (&[24, 31][..], &[1, 3][..])
    );
    assert_eq!(
        d.banner.unwrap().text,
        "User Access Verification\n\nUsername:"
    );
    // No negotiation: nothing sent at all.
    let (status, requests, d) = telnet(&records[&at(157)]);
    assert_eq!((status, requests), (Status::Success, 1));
    assert_eq!(d.banner.unwrap().text, "VxWorks login:");
    // Recog (telnet_banners.xml): the user access prompt is Cisco's; the VxWorks shell is
    // recognised but names no vendor; the NPort IA-5250's status banner is Moxa's.
    assert_eq!(records[&at(156)].vendor.as_deref(), Some("Cisco"));
    assert_eq!(records[&at(156)].sources["vendor"], Protocol::Telnet);
    let vxworks = &records[&at(157)].fingerprints;
    assert_eq!(vxworks.len(), 1, "{vxworks:?}");
    assert_eq!(vxworks[0].description, "VxWorks embedded device");
    assert_eq!(records[&at(157)].vendor, None);
    let nport = &records[&at(155)];
    assert_eq!(nport.vendor.as_deref(), Some("Moxa"));
    assert_eq!(nport.model.as_deref(), Some("IA-5250"));
    assert_eq!(nport.firmware_version.as_deref(), Some("1.6"));
    assert_eq!(nport.sources["model"], Protocol::Telnet);

    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent: Vec<Vec<u8>> = plant
        .recorder()
        .frames()
        .into_iter()
        .filter(|f| f.protocol == "telnet")
        .map(|f| f.bytes)
        .collect();
    assert!(sent.contains(&vec![255, 254, 1, 255, 254, 3]), "{sent:?}");
    assert!(
        sent.contains(&vec![255, 252, 24, 255, 252, 31, 255, 254, 1, 255, 254, 3]),
        "{sent:?}"
    );
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_scan_does_not_probe_ssh() {
    let config = ScanConfig::builder()
        .targets(Targets::parse(["127.114.1.1"]).unwrap())
        .build()
        .unwrap();
    assert!(!config.probes.contains(&Protocol::Ssh));
    assert_eq!(config.probes, Protocol::DEFAULT);
    assert_eq!(Protocol::DEFAULT.len(), 14);
    assert!(Protocol::OFF_BY_DEFAULT.contains(&Protocol::Ssh));
    assert!(Protocol::OFF_BY_DEFAULT.contains(&Protocol::Ftp));
    assert!(Protocol::OFF_BY_DEFAULT.contains(&Protocol::Telnet));
}

/// Interoperability with a real SSH server: Debian's OpenSSH, its own host key (made by
/// `ssh-keygen`) and config in a temporary directory, on 127.0.0.1:23222.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_is_read() {
    let sshd = "/usr/sbin/sshd";
    if !std::path::Path::new(sshd).exists() {
        println!(
            "skipped: {sshd} is absent (Debian package openssh-server: scripts/install-deps.sh)"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("otscan-sshd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // sshd insists on its privilege separation directory (Debian's service creates it).
    std::fs::create_dir_all("/run/sshd").unwrap();
    let key = dir.join("host_ed25519");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "HostKey {}\nPidFile none\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n",
            key.display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(sshd)
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(&config)
        .args([
            "-p",
            &SSHD_PORT.to_string(),
            "-o",
            "ListenAddress=127.0.0.1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let target = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut record = None;
    // sshd takes a moment to bind; retry a few times rather than sleeping long.
    for _ in 0..20 {
        let records = scan("127.0.0.1", &[Protocol::Ssh], SSHD_PORT).await;
        if let Some(r) = records.get(&target).filter(|r| ssh(r).0 == Status::Success) {
            record = Some(r.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let record = record.expect("sshd never answered");
    let (_, requests, d) = ssh(&record);
    assert_eq!(requests, 1, "the connection only");
    let line = d.identification.unwrap().text;
    assert!(line.starts_with("SSH-2.0-OpenSSH_"), "{line}");
    assert_eq!(d.product.as_deref(), Some("OpenSSH"));
    assert_eq!(d.os_hint.as_deref(), Some("Debian"), "{line}");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}
