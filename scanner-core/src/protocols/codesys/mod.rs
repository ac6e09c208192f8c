//! CODESYS V3 identification (UDP 1740-1743): one NameService resolve-address request,
//! unicast, which the runtime answers with an identification: vendor name, device name
//! (the target's product name), node name (the runtime's own name), target type, target
//! id, target version (the runtime's version), serial number and OEM data. Many PLC
//! brands run this runtime (WAGO, Schneider M2xx, Festo, Eaton, Bosch Rexroth...), so it
//! names devices that speak no other protocol otscan knows.
//!
//! Cost to the device: one datagram (resent only with the scan's UDP retries) answered by
//! the runtime's name service; no channel, no login, no state. The same port takes the
//! channel manager (service 0x40) through which CODESYS logs in and downloads, starts or
//! stops applications: [`codec::Request`] cannot spell it.
//!
//! # Where the reply comes to
//!
//! A runtime answers not to the request's source port but to UDP port 1740 + the port
//! index the request's sender address carries, at its own network prefix + the host bits
//! that address carries (nmap's `codesys-plc-info` binds source port 1740 for this
//! reason; see [`codec`] for the sources). otscan always sends port index 0 and sends
//! from local port [`codec::BASE_PORT`] (1740), so the reply port is the source port:
//! each device session binds its own socket to 1740 with `SO_REUSEPORT` and connects it
//! to the device (the session's fixed-source-port path, as `--bacnet-source-port`), so
//! the kernel hands every session only the datagrams of its own device, however many
//! probes run at once, and the probe then matches the reply by the request id the
//! NameService header carries (the session's correlation). A reply that names another
//! request id, or comes from another address, is never taken for this device's.
//!
//! When another program on the scanning host holds UDP 1740 without `SO_REUSEPORT` (a
//! CODESYS runtime or gateway), the bind fails: the session reports the local failure
//! "cannot bind UDP source port 1740: Address in use", as it does for a busy
//! `--bacnet-source-port`, and no record claims the devices were silent.
//!
//! Two otscan scans on one host share port 1740 the same way (same user): scans of
//! different devices (`--shard` K/N run side by side) do not disturb each other, but when
//! both scan the same device at once, the kernel hands both of its answers to one scan's
//! socket, and the other may record that device as silent (`io-timeout`). No scan ever
//! takes another device's answer.
//!
//! The sender address is this host's IPv4 source address towards the device, reduced to
//! its host bits with the prefix length of the local interface that holds it. A runtime
//! rebuilds the reply address from its own network prefix, so only runtimes on a
//! subnet of the scanning host can answer: one behind a router is seen as silent.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    answers, encode, parse, target_type_name, DatagramLayer, Identification, ParseError, Reply,
    Request, SenderAddress, BASE_PORT, MAX_REPLY_LEN,
};
pub use details::{identity_fields, CodesysDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default CODESYS V3 UDP port (port index 0).
pub const DEFAULT_PORT: u16 = 1740;

/// CODESYS V3 NameService probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodesysConfig {
    /// UDP port of the runtime (1740-1743: 1740 + its port index).
    pub port: u16,
}

impl Default for CodesysConfig {
    fn default() -> Self {
        CodesysConfig { port: DEFAULT_PORT }
    }
}

impl ProbeConfig for CodesysConfig {
    const PROTOCOL: Protocol = Protocol::Codesys;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }

    /// The resolve-address request and its retries.
    fn max_requests(&self, udp_retries: u32) -> u64 {
        1 + u64::from(udp_retries)
    }
}
