//! The web probes (off by default) over real loopback sockets: the plant's simulated
//! device web servers are read (`http`), each request is a plain `GET` the allowlist
//! accepts, and a web server on a PLC merges into the PLC's record.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::http::{HttpConfig, HttpDetails};
use scanner_core::protocols::https::{HttpsConfig, HttpsDetails};
use scanner_core::protocols::s7::S7Config;
use scanner_core::record::{DeviceType, ServiceDetails};
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 119, 0, 0);
/// The second test's plant, so the tests can run in parallel.
const BASE2: Ipv4Addr = Ipv4Addr::new(127, 119, 1, 0);
/// The https test's plant.
const BASE3: Ipv4Addr = Ipv4Addr::new(127, 119, 2, 0);
const PORTS: PlantPorts = PlantPorts::block(23_744);

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(BASE) | u32::from(host)))
}

fn ip2(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(BASE2) | u32::from(host)))
}

async fn scan(
    targets: &str,
    probes: &[Protocol],
    http: HttpConfig,
) -> BTreeMap<IpAddr, AssetRecord> {
    let config = ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes(probes.iter().copied())
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::from_millis(2))
        .concurrency(NonZeroUsize::new(64).unwrap())
        .timeout(Duration::from_millis(800))
        .emit_all(true)
        .http(http)
        .s7(S7Config {
            port: PORTS.s7,
            ..S7Config::default()
        })
        .build()
        .unwrap();
    Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await
}

fn http(record: &AssetRecord) -> (Status, u32, u16, HttpDetails) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Http)
        .expect("an http service");
    let details = match &service.details {
        Some(ServiceDetails::Http(d)) => (**d).clone(),
        _ => HttpDetails::default(),
    };
    (service.status, service.requests, service.port, details)
}

fn text(t: &Option<scanner_core::record::fields::DeviceText>) -> &str {
    t.as_ref().map_or("", |t| t.text.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plant_s_web_servers_are_read_with_plain_gets() {
    let plant = Plant::start(PlantSpec::plant(BASE, PORTS)).unwrap();
    let config = HttpConfig {
        ports: vec![PORTS.http],
        favicon: false,
    };
    let records = scan(
        &format!("{BASE}/24"),
        &[Protocol::S7, Protocol::Http],
        config,
    )
    .await;

    // The S7-1500: one record with S7 and its web server; the redirect to the portal
    // page is followed (two connections, two GETs).
    let plc = &records[&ip(60)];
    // (the simulated S7-1516 answers S7 and refuses the SZL read, as a protected CPU does)
    assert!(plc
        .services
        .iter()
        .any(|s| s.protocol == Protocol::S7 && s.details.is_some()));
    let (status, requests, port, d) = http(plc);
    assert_eq!((status, requests, port), (Status::Success, 4, PORTS.http));
    assert_eq!(d.page.status, Some(200));
    assert_eq!(text(&d.page.location), "/Portal/Portal.mwsl");
    let redirected = d.page.redirected.clone().unwrap();
    assert!(redirected.followed);
    assert_eq!(redirected.path.as_deref(), Some("/Portal/Portal.mwsl"));
    assert_eq!(text(&d.page.title), "SIMATIC 1500 Station PLC_1");
    assert_eq!(d.page.cookie_names, ["siemens_ad_session"]);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);

    // A serial device server's login: 401, its realm, its title.
    let (status, requests, _, d) = http(&records[&ip(160)]);
    assert_eq!((status, requests), (Status::Success, 2));
    assert_eq!(d.page.status, Some(401));
    assert_eq!(text(&d.page.server), "MoxaHttp/1.0");
    assert_eq!(text(&d.page.realm), "NPort Web Console");
    assert_eq!(d.page.www_authenticate.len(), 1);
    assert_eq!(text(&d.page.title), "NPort Web Console");
    // Recog's html_title.xml knows the title: vendor, product and device class.
    let nport = &records[&ip(160)];
    assert_eq!(nport.vendor.as_deref(), Some("Moxa"));
    assert_eq!(nport.model.as_deref(), Some("NPort"));
    assert_eq!(nport.device_type, Some(DeviceType::Gateway));
    assert_eq!(nport.sources["model"], Protocol::Http);
    assert_eq!(nport.fingerprints[0].field, "http.title");

    // A redirect to https: recorded, not followed.
    let (status, requests, _, d) = http(&records[&ip(161)]);
    assert_eq!((status, requests), (Status::Success, 2));
    assert_eq!(d.page.status, Some(303));
    assert_eq!(text(&d.page.location), "https://ups-card/logon.htm");
    let redirected = d.page.redirected.clone().unwrap();
    assert!(!redirected.followed);
    assert_eq!(redirected.reason.as_deref(), Some("another scheme (https)"));
    assert_eq!(d.page.cookie_names, ["C0"]);

    // Chunked; Latin-1 to the close; references and line breaks.
    let (_, _, _, d) = http(&records[&ip(162)]);
    assert_eq!(text(&d.page.title), "WAGO Ethernet Web-Based Management");
    assert_eq!(text(&d.page.server), "lighttpd/1.4.59");
    let (status, _, _, d) = http(&records[&ip(163)]);
    assert_eq!(status, Status::Success);
    let title = d.page.title.clone().unwrap();
    assert_eq!(title.text, "Modicon M580 - Page d'accueil \u{e9}");
    assert_eq!(title.encoding.as_deref(), Some("windows-1252"));
    let (_, _, _, d) = http(&records[&ip(164)]);
    assert_eq!(
        text(&d.page.title),
        "Edge Gateway & Protocol Converter \u{2013} Login"
    );
    assert_eq!(text(&d.page.x_powered_by), "PHP/5.6.40");
    assert_eq!(d.page.cookie_names, ["PHPSESSID"]);
    let json = serde_json::to_string(&records[&ip(164)]).unwrap();
    assert!(
        !json.contains("9f2c1e0d4b"),
        "a cookie value in the record: {json}"
    );

    // Every request was a plain GET of / or the followed path, and nothing else went out.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut paths: Vec<String> = plant
        .recorder()
        .frames()
        .into_iter()
        .filter(|f| f.protocol == "http")
        .map(|f| {
            let request = protocol_fixtures::allowlist::check("http", &f.bytes).unwrap();
            let protocol_fixtures::Request::HttpGet { path } = request else {
                panic!("{request:?}")
            };
            path
        })
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths, ["/", "/Portal/Portal.mwsl"]);
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_list_is_tried_in_order_and_the_favicon_only_with_the_flag() {
    let plant = Plant::start(PlantSpec::plant(BASE2, PORTS)).unwrap();
    let closed = PORTS.http + 20;
    let config = HttpConfig {
        ports: vec![closed, PORTS.http],
        favicon: true,
    };
    let records = scan(&ip2(160).to_string(), &[Protocol::Http], config).await;
    let (status, requests, port, d) = http(&records[&ip2(160)]);
    assert_eq!(status, Status::Success);
    assert_eq!(port, PORTS.http);
    assert_eq!(d.page.port, Some(PORTS.http));
    // The refused port, the page's connection and GET, the favicon's.
    assert_eq!(requests, 5);
    // The device has no favicon: a 404, said in the warnings.
    assert_eq!(d.page.favicon, None);
    assert_eq!(d.warnings, ["no favicon (status 404)"]);
    plant.shutdown().await;
}

fn ip3(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(BASE3) | u32::from(host)))
}

async fn scan_https(targets: &str, https: HttpsConfig) -> BTreeMap<IpAddr, AssetRecord> {
    let config = ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes([Protocol::Https])
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::from_millis(2))
        .concurrency(NonZeroUsize::new(64).unwrap())
        .timeout(Duration::from_millis(1500))
        .emit_all(true)
        .https(https)
        .build()
        .unwrap();
    Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await
}

fn https(record: &AssetRecord) -> (Status, u32, HttpsDetails) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Https)
        .expect("an https service");
    let details = match &service.details {
        Some(ServiceDetails::Https(d)) => (**d).clone(),
        _ => HttpsDetails::default(),
    };
    (service.status, service.requests, details)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plant_s_tls_web_servers_show_their_certificates_and_pages() {
    let plant = Plant::start(PlantSpec::plant(BASE3, PORTS)).unwrap();
    let config = HttpsConfig {
        ports: vec![PORTS.https],
        favicon: false,
    };
    let records = scan_https(&format!("{BASE3}/24"), config).await;

    // The S7-1500 over TLS: TLS 1.3, its self-signed certificate, the portal page.
    let (status, requests, d) = https(&records[&ip3(60)]);
    // Two pages (start and redirect target), each a connection, a handshake and a GET.
    assert_eq!((status, requests), (Status::Success, 6));
    let tls = d.tls.clone().expect("the handshake");
    assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
    assert!(
        tls.cipher_suite.as_deref().unwrap().starts_with("TLS_AES_"),
        "{tls:?}"
    );
    assert_eq!(tls.alpn, None);
    assert!(!tls.legacy);
    let [cert] = &tls.certificates[..] else {
        panic!("{:?}", tls.certificates)
    };
    assert_eq!(cert.subject, "CN=SIMATIC S7-1500,O=Siemens");
    assert_eq!(cert.issuer, cert.subject);
    assert!(cert.self_signed);
    assert_eq!(cert.sans, ["DNS:plc-s7-1500"]);
    assert_eq!(cert.key, "EC P-256");
    assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA256");
    assert_eq!(cert.sha256.len(), 64);
    assert!(cert.not_before < cert.not_after);
    assert_eq!(
        d.page.title.as_ref().map(|t| t.text.as_str()),
        Some("SIMATIC 1500 Station PLC_1")
    );
    assert!(d.page.redirected.as_ref().unwrap().followed);

    // The UPS card: its redirect to the logon page followed inside TLS.
    let (status, _, d) = https(&records[&ip3(161)]);
    assert_eq!(status, Status::Success);
    assert_eq!(d.page.title.as_ref().unwrap().text, "APC | Log On");
    assert_eq!(
        d.tls.unwrap().certificates[0].subject,
        "CN=ZA1906SIM042,OU=Internally Generated Certificate,O=American Power Conversion Corp,\
         L=Default Locality,ST=Default State,C=US"
    );
    // Recog: the RomPager Server header (twice: http and https) names no vendor; the
    // card's certificate issuer is APC's (x509_issuers.xml "APC UPS").
    let ups = &records[&ip3(161)];
    assert_eq!(ups.vendor.as_deref(), Some("APC by Schneider Electric"));
    assert_eq!(ups.sources["vendor"], Protocol::Https);
    let databases: Vec<&str> = ups
        .fingerprints
        .iter()
        .map(|f| f.database.as_str())
        .collect();
    assert!(databases.contains(&"x509_issuers"), "{databases:?}");
    assert!(
        ups.derived["vendor"].starts_with("recog x509_issuers.xml"),
        "{:?}",
        ups.derived
    );

    // A switch with HTTPS only: a 401 and its realm.
    let (status, requests, d) = https(&records[&ip3(165)]);
    assert_eq!((status, requests), (Status::Success, 3));
    assert_eq!(d.page.status, Some(401));
    assert_eq!(d.page.realm.as_ref().unwrap().text, "Industrial HiVision");

    // A TLS 1.0-only HMI: rustls's handshake fails, the legacy reader reads the
    // certificate on a second connection; no page.
    let (status, requests, d) = https(&records[&ip3(166)]);
    assert_eq!((status, requests), (Status::Success, 4), "{d:?}");
    let tls = d.tls.clone().unwrap();
    assert!(tls.legacy);
    assert_eq!(tls.version.as_deref(), Some("TLSv1.0"));
    assert_eq!(
        tls.cipher_suite.as_deref(),
        Some("TLS_RSA_WITH_AES_128_CBC_SHA")
    );
    assert_eq!(
        tls.certificates[0].subject,
        "CN=Magelis HMI,O=Schneider Electric"
    );
    assert_eq!(tls.certificates[0].sans, ["DNS:hmi-line1"]);
    assert_eq!(d.page.status, None);
    assert!(
        d.warnings.iter().any(|w| w.contains("no page fetched")),
        "{:?}",
        d.warnings
    );

    // The wire: ClientHellos and GETs of / and the redirect targets, nothing else.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let frames = plant.recorder().frames();
    let hellos = frames.iter().filter(|f| f.protocol == "tls").count();
    let gets: Vec<_> = frames.iter().filter(|f| f.protocol == "https").collect();
    // One GET per finished handshake; the HMI got two ClientHellos and no GET.
    assert_eq!(hellos, gets.len() + 2, "one GET per handshake");
    assert!(gets.len() >= 5, "{}", gets.len());
    for get in gets {
        assert!(matches!(
            protocol_fixtures::allowlist::check("https", &get.bytes),
            Ok(protocol_fixtures::Request::HttpGet { .. })
        ));
    }
    assert!(
        plant.recorder().violations().is_empty(),
        "{:?}",
        plant.recorder().violations()
    );
    plant.shutdown().await;
}

/// The nginx interop ports: plain, TLS 1.3/1.2, TLS 1.0 only.
const NGINX_PORTS: [u16; 3] = [23_790, 23_791, 23_792];

/// Starts Debian's nginx in the foreground with `config` (its prefix `dir`); `None` with
/// the reason when it does not start.
fn start_nginx(
    dir: &std::path::Path,
    name: &str,
    config: &str,
) -> Result<std::process::Child, String> {
    let conf = dir.join(format!("{name}.conf"));
    std::fs::write(&conf, config).unwrap();
    let test = std::process::Command::new("/usr/sbin/nginx")
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join(format!("{name}-error.log")))
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    if !test.status.success() {
        return Err(String::from_utf8_lossy(&test.stderr).into_owned());
    }
    Ok(std::process::Command::new("/usr/sbin/nginx")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join(format!("{name}-error.log")))
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap())
}

/// The nginx config lines every instance shares: one process (`master_process off`, so
/// killing the child leaves no worker behind), everything under the prefix.
fn nginx_config(dir: &std::path::Path, name: &str, servers: &str) -> String {
    let d = dir.display();
    format!(
        "master_process off;\npid {d}/{name}.pid;\nevents {{ worker_connections 32; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/tmp;\n proxy_temp_path {d}/tmp;\n\
         fastcgi_temp_path {d}/tmp;\n uwsgi_temp_path {d}/tmp;\n scgi_temp_path {d}/tmp;\n\
         {servers}\n}}\n"
    )
}

/// Scans 127.0.0.1 with `probe` on `port` until it answers (nginx takes a moment to bind).
async fn scan_local(probe: Protocol, port: u16) -> Option<AssetRecord> {
    let target = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for _ in 0..20 {
        let records = match probe {
            Protocol::Http => {
                scan(
                    "127.0.0.1",
                    &[probe],
                    HttpConfig {
                        ports: vec![port],
                        favicon: false,
                    },
                )
                .await
            }
            _ => {
                scan_https(
                    "127.0.0.1",
                    HttpsConfig {
                        ports: vec![port],
                        favicon: false,
                    },
                )
                .await
            }
        };
        if let Some(r) = records
            .get(&target)
            .filter(|r| r.services.iter().any(|s| s.status == Status::Success))
        {
            return Some(r.clone());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// Interoperability with a real web server: Debian's nginx, its own config, root and a
/// self-signed RSA certificate (made by `openssl req`) in a temporary directory, on
/// 127.0.0.1: plain HTTP, TLS (1.3), and, when Debian's OpenSSL still allows it at security
/// level 0, a TLS 1.0-only server for the legacy certificate reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_is_read_over_http_tls_and_legacy_tls() {
    if !std::path::Path::new("/usr/sbin/nginx").exists() {
        println!("skipped: /usr/sbin/nginx is absent (Debian package nginx-light: scripts/install-deps.sh)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("otscan-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(
        dir.join("www/index.html"),
        "<!DOCTYPE html><html><head><title>otscan  nginx &amp; interop</title></head><body>hello</body></html>\n",
    )
    .unwrap();
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/O=otscan test/CN=nginx-interop"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let d = dir.display();
    let tls =
        format!("ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem; root {d}/www;");
    let main = nginx_config(
        &dir,
        "main",
        &format!(
            "server {{ listen 127.0.0.1:{}; root {d}/www; }}\n server {{ listen 127.0.0.1:{} ssl; ssl_protocols TLSv1.2 TLSv1.3; {tls} }}",
            NGINX_PORTS[0], NGINX_PORTS[1]
        ),
    );
    let mut nginx = start_nginx(&dir, "main", &main).expect("nginx starts");

    let http_record = scan_local(Protocol::Http, NGINX_PORTS[0]).await;
    let https_record = scan_local(Protocol::Https, NGINX_PORTS[1]).await;
    let _ = nginx.kill();
    let _ = nginx.wait();

    let record = http_record.expect("nginx answered over HTTP");
    let (_, requests, _, d) = http(&record);
    assert_eq!(requests, 2);
    let server = d.page.server.clone().unwrap().text;
    assert!(server.starts_with("nginx/"), "{server}");
    assert_eq!(
        d.page.title.as_ref().unwrap().text,
        "otscan nginx & interop"
    );
    assert_eq!(d.page.content_type.as_ref().unwrap().text, "text/html");

    let record = https_record.expect("nginx answered over TLS");
    let (_, requests, d) = https(&record);
    assert_eq!(requests, 3);
    assert!(d.page.server.clone().unwrap().text.starts_with("nginx/"));
    assert_eq!(
        d.page.title.as_ref().unwrap().text,
        "otscan nginx & interop"
    );
    let t = d.tls.unwrap();
    assert_eq!(t.version.as_deref(), Some("TLSv1.3"), "{t:?}");
    assert_eq!(t.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(t.certificates[0].subject, "CN=nginx-interop,O=otscan test");
    assert_eq!(t.certificates[0].key, "RSA 2048");
    assert!(t.certificates[0].self_signed);

    // TLS 1.0 only: rustls refuses, the legacy reader reads the certificate.
    let legacy = nginx_config(
        &dir,
        "legacy",
        &format!(
            "server {{ listen 127.0.0.1:{} ssl; ssl_protocols TLSv1; ssl_ciphers DEFAULT@SECLEVEL=0; {tls} }}",
            NGINX_PORTS[2]
        ),
    );
    match start_nginx(&dir, "legacy", &legacy) {
        Err(why) => println!("skipped the TLS 1.0 part: nginx refuses the config: {why}"),
        Ok(mut nginx) => {
            let record = scan_local(Protocol::Https, NGINX_PORTS[2]).await;
            let _ = nginx.kill();
            let _ = nginx.wait();
            match record.map(|r| https(&r).2) {
                Some(d) if d.tls.as_ref().is_some_and(|t| t.legacy) => {
                    let t = d.tls.unwrap();
                    assert_eq!(t.version.as_deref(), Some("TLSv1.0"), "{t:?}");
                    assert_eq!(t.certificates[0].subject, "CN=nginx-interop,O=otscan test");
                    assert_eq!(d.page.status, None);
                }
                other => println!(
                    "skipped the TLS 1.0 part: Debian's OpenSSL did not serve TLS 1.0 ({other:?})"
                ),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server that sends a response head and the start of a page, then neither ends the body
/// nor closes: what it said is the record (status, Server), not a read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_followed_by_silence_is_recorded_not_lost() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let at = Ipv4Addr::new(127, 119, 5, 1);
    let listener = tokio::net::TcpListener::bind((at, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = conn.read(&mut request).await.unwrap();
        conn.write_all(b"HTTP/1.1 200 OK\r\nServer: KeepAlivePLC/2.0\r\n\r\n<html>")
            .await
            .unwrap();
        // Longer than the scan's read timeout (800 ms), then go.
        tokio::time::sleep(Duration::from_secs(3)).await;
    });
    let records = scan(
        &at.to_string(),
        &[Protocol::Http],
        HttpConfig {
            ports: vec![port],
            ..HttpConfig::default()
        },
    )
    .await;
    let (status, requests, _, d) = http(&records[&IpAddr::V4(at)]);
    assert_eq!((status, requests), (Status::Success, 2), "{d:?}");
    assert_eq!(d.page.status, Some(200));
    assert_eq!(text(&d.page.server), "KeepAlivePLC/2.0");
    assert!(
        d.warnings.iter().any(|w| w.contains("read timeout")),
        "{:?}",
        d.warnings
    );
    assert!(records[&IpAddr::V4(at)].responsive);
    server.abort();
}

/// The same inside TLS: a response head, then neither the end of the body nor a close.
/// What the device said over TLS is the record, as over plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_followed_by_silence_inside_tls_is_recorded_not_lost() {
    use protocol_fixtures::{
        BannerEnd, CertificateSpec, Recorder, WebDevice, WebDeviceConfig, WebResponse,
    };
    let at = Ipv4Addr::new(127, 119, 5, 2);
    // No title: a title would end the read (the probe reads the body to the title).
    let head = "HTTP/1.1 200 OK\r\nServer: KeepAlivePLC/2.0\r\n\r\n<html><body>";
    let config = WebDeviceConfig::new(WebResponse::raw(head).with_end(BannerEnd::Hold));
    let certificate = CertificateSpec::new("Simulated Vendor", "plc-line4", &["plc-line4"]);
    let device = WebDevice::spawn_tls(
        std::net::SocketAddr::from((at, 0)),
        config,
        &certificate,
        Recorder::new(),
    )
    .unwrap();
    let records = scan_https(
        &at.to_string(),
        HttpsConfig {
            ports: vec![device.local_addr().port()],
            favicon: false,
        },
    )
    .await;
    let record = &records[&IpAddr::V4(at)];
    let (status, _, d) = https(record);
    assert_eq!(status, Status::Success, "{d:?}");
    assert_eq!(d.page.status, Some(200));
    assert_eq!(text(&d.page.server), "KeepAlivePLC/2.0");
    assert!(
        d.warnings.iter().any(|w| w.contains("read timeout")),
        "{:?}",
        d.warnings
    );
    assert_eq!(
        d.tls.unwrap().certificates[0].subject,
        "CN=plc-line4,O=Simulated Vendor"
    );
    assert!(record.responsive);
}

/// A favicon read whole is hashed as Shodan does, also one whose end is the server's
/// close (HTTP/1.0, no length); one longer than the 65536 bytes read (also when the rest
/// came in the same read) is recorded (status, bytes) without a hash, and a warning
/// says so: the hash of its first 64 KiB would match no one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_favicon_read_whole_is_hashed() {
    use protocol_fixtures::{Recorder, WebDevice, WebDeviceConfig, WebResponse};
    use scanner_core::protocols::http::details::favicon_mmh3;
    let icon = |len: usize| -> Vec<u8> { (0..len).map(|i| (i * 7 % 251) as u8).collect() };
    let with_length = |icon: &[u8]| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: image/x-icon\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            icon.len()
        );
        [head.as_bytes(), icon].concat()
    };
    let (small, large, just_over, to_close) = (icon(1_150), icon(70_000), icon(66_000), icon(100));
    let mut devices = Vec::new();
    for (host, favicon) in [
        (1, with_length(&small)),
        (2, with_length(&large)),
        (3, with_length(&just_over)),
        (
            4,
            [b"HTTP/1.0 200 OK\r\n\r\n".as_slice(), &to_close].concat(),
        ),
    ] {
        let at = Ipv4Addr::new(127, 119, 6, host);
        let page = WebResponse::page(200, "OK", &[], "<title>panel</title>");
        let config = WebDeviceConfig::new(page).route("/favicon.ico", WebResponse::raw(favicon));
        devices.push(
            WebDevice::spawn(
                std::net::SocketAddr::from((at, PORTS.http)),
                config,
                Recorder::new(),
            )
            .unwrap(),
        );
    }
    let records = scan(
        "127.119.6.1-127.119.6.4",
        &[Protocol::Http],
        HttpConfig {
            ports: vec![PORTS.http],
            favicon: true,
        },
    )
    .await;
    let at = |host: u8| IpAddr::V4(Ipv4Addr::new(127, 119, 6, host));
    let favicon = |host: u8| {
        let (_, _, _, d) = http(&records[&at(host)]);
        (d.page.favicon.expect("a favicon"), d.warnings)
    };
    let (f, warnings) = favicon(1);
    assert_eq!((f.status, f.bytes), (200, 1_150));
    assert_eq!(f.mmh3, Some(favicon_mmh3(&small)));
    assert!(warnings.is_empty(), "{warnings:?}");
    let cut = ["favicon not read whole (65536 bytes read): not hashed"];
    for host in [2, 3] {
        let (f, warnings) = favicon(host);
        assert_eq!(
            (f.status, f.bytes, f.mmh3),
            (200, 65_536, None),
            "host {host}"
        );
        assert_eq!(warnings, cut, "host {host}");
    }
    let (f, warnings) = favicon(4);
    assert_eq!((f.bytes, f.mmh3), (100, Some(favicon_mmh3(&to_close))));
    assert!(warnings.is_empty(), "{warnings:?}");
    drop(devices);
}
