//! The SSH request script: connect, read the identification string, close with a FIN.

use super::codec::{frame, parse, MAX_REPLY_LEN};
use super::details::{identity_fields, SshDetails};
use super::SshConfig;
use crate::protocols::probe::{Banner, ProbeConfig, RunProbe};
use crate::record::fields::Identity;
use crate::record::ServiceObservation;
use crate::session::{DeviceSession, FirstPacket};

impl RunProbe for SshConfig {
    /// Reads the identification string on a new connection and closes it. A greeting
    /// cut short (no line end before the timeout or the close) is still read, with a
    /// warning.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let banner = Banner {
            protocol: SshConfig::PROTOCOL,
            port: self.port,
            max_len: MAX_REPLY_LEN,
            framing: &frame,
        };
        let (mut end, greeting) = banner.read(session, parse).await;
        let mut details = SshDetails::default();
        if let Some(greeting) = &greeting {
            details.apply(greeting);
        }
        end.identified = details.identifies();
        let identity = identity_fields(&details);
        let settled = end.settle(|| "no SSH identification string".to_owned());
        let answered = end.first_rtt.is_some();
        vec![(end.observation(settled, details, answered), identity)]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }
}
