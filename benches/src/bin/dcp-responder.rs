//! Simulated PROFINET stations answering DCP Identify All on one interface, until killed:
//! `dcp-responder IF`. Only inside a network namespace a test made (it needs CAP_NET_RAW).
//!
//! Answers for an ET 200SP (02:00:00:00:00:10, 10.250.0.10) and an S7-1500
//! (02:00:00:00:00:20, 10.250.0.20), plus a reply with another xid (02:00:00:00:00:30)
//! and a hostile one whose block length overruns the frame (02:00:00:00:00:66). Prints one
//! line per DCP frame received: `dcp frame_id=0xfefe service=5 type=0 xid=0x...
//! delay=N dst=01:0e:cf:00:00:00 identify_all=true`.

use std::io::Write;
use std::time::Duration;

use protocol_fixtures::profinet_dcp::{DcpStation, Responder};

fn main() {
    let Some(interface) = std::env::args().nth(1) else {
        eprintln!("usage: dcp-responder IF");
        std::process::exit(2);
    };
    let responder = Responder {
        interface,
        stations: vec![
            DcpStation::et200sp([2, 0, 0, 0, 0, 0x10], [10, 250, 0, 10]),
            DcpStation::s7_1500([2, 0, 0, 0, 0, 0x20], [10, 250, 0, 20]),
        ],
        other_xid_from: Some([2, 0, 0, 0, 0, 0x30]),
        hostile_from: Some([2, 0, 0, 0, 0, 0x66]),
        spacing: Duration::from_millis(20),
    };
    eprintln!("dcp-responder: ready");
    let result = responder.run(None, |f| {
        let dst: Vec<String> = f.destination.iter().map(|b| format!("{b:02x}")).collect();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "dcp frame_id={:#06x} service={} type={} xid={:#010x} delay={} dst={} identify_all={}",
            f.frame_id,
            f.service_id,
            f.service_type,
            f.xid,
            f.response_delay,
            dst.join(":"),
            f.is_identify_all()
        );
        let _ = out.flush();
    });
    if let Err(e) = result {
        eprintln!("dcp-responder: {e}");
        std::process::exit(1);
    }
}
