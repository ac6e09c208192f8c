//! The FTP request script: connect, read the greeting, close with a FIN.

use super::codec::{frame, parse, MAX_REPLY_LEN};
use super::details::{identity_fields, FtpDetails};
use super::FtpConfig;
use crate::protocols::probe::{Banner, ProbeConfig, RunProbe};
use crate::record::fields::Identity;
use crate::record::ServiceObservation;
use crate::session::{DeviceSession, FirstPacket};

impl RunProbe for FtpConfig {
    /// Reads the greeting on a new connection and closes it. A one-line greeting cut
    /// short (no line end before the timeout or the close) is still read, with a warning.
    /// A greeting other than 220 (421 not available, 120 not yet) is a refusal.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let banner = Banner {
            protocol: FtpConfig::PROTOCOL,
            port: self.port,
            max_len: MAX_REPLY_LEN,
            framing: &frame,
        };
        let (mut end, greeting) = banner.read(session, parse).await;
        let mut details = FtpDetails::default();
        if let Some(greeting) = &greeting {
            details.apply(greeting);
        }
        end.identified = details.identifies();
        end.refused = details.code.is_some() && !end.identified;
        let identity = identity_fields(&details);
        let code = details.code;
        let settled = end.settle(|| match code {
            Some(code) => format!("FTP greeting {code}, not 220 (service ready)"),
            None => "no FTP greeting".to_owned(),
        });
        let answered = end.first_rtt.is_some();
        vec![(end.observation(settled, details, answered), identity)]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }
}
