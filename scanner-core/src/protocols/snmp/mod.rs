//! SNMP identification: one v1/v2c GetRequest of the system group, SNMPv3 engine
//! discovery (needs no credentials), then the other communities and v1; after an
//! answer, bounded GetNext walks of the first ENTITY-MIB rows and the first non-empty
//! ifPhysAddress. At most [`MAX_COMMUNITIES`] communities: otscan identifies devices,
//! it does not guess credentials.

mod ber;
pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    enterprise_of, oid_text, system_group_oids, BerError, Message, Oid, ParseError, Pdu, PduKind,
    Request, SnmpRead, SnmpValue, SnmpVersion, V3Header, ENTITY_COLUMNS, ENT_PHYSICAL_ENTRY,
    IF_PHYS_ADDRESS, MAX_OID_LEN, MAX_REPLY_LEN, MAX_VARBINDS, SYSTEM_GROUP,
    USM_STATS_UNKNOWN_ENGINE_IDS,
};
pub use details::{
    decode_engine_id, error_status_name, firmware_from_sysdescr, service_layers, EngineId,
    EngineInfo, EntityRow, SnmpDetails, SystemGroup,
};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default SNMP port.
pub const DEFAULT_PORT: u16 = 161;
/// Most communities one device may be asked with: this is identification, not guessing.
pub const MAX_COMMUNITIES: usize = 4;
/// Longest community string, in bytes: net-snmp's `COMMUNITY_MAX_LEN` (its agents and
/// tools keep a community in a buffer of that size). A longer one could not be
/// answered, and one past 65,000 bytes would not fit the datagram at all.
pub const MAX_COMMUNITY_LEN: usize = 256;

/// Which SNMP versions the probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnmpVersions {
    /// v1 only.
    V1,
    /// v2c only.
    V2c,
    /// v3 discovery only.
    V3,
    /// v2c, then v1 when v2c is not answered, plus v3 discovery (the default).
    All,
}

/// SNMP probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnmpConfig {
    /// UDP port.
    pub port: u16,
    /// Communities tried in order (at most [`MAX_COMMUNITIES`], each 1 to
    /// [`MAX_COMMUNITY_LEN`] bytes); never logged. Only
    /// their number is in a resumable scan's fingerprint, never the strings.
    #[serde(serialize_with = "count_only")]
    pub communities: Vec<Vec<u8>>,
    /// Versions.
    pub versions: SnmpVersions,
    /// Put the answering community string in the record (off: only its index).
    pub record_community: bool,
    /// Most ENTITY-MIB rows read.
    pub max_entity_rows: u32,
    /// Most GetNext requests for ifPhysAddress.
    pub max_mac_requests: u32,
    /// Unanswered exchanges (after retries) before the device is given up. The default, 3,
    /// covers v2c, v1 and v3 discovery: a silent address costs 3 exchanges, each sent
    /// `1 + udp_retries` times (6 datagrams with the safe profile).
    pub max_silent: u32,
}

/// Serializes a list of secrets as how many there are.
fn count_only<S: serde::Serializer>(secrets: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(secrets.len() as u64)
}

impl Default for SnmpConfig {
    fn default() -> Self {
        SnmpConfig {
            port: DEFAULT_PORT,
            communities: vec![b"public".to_vec()],
            versions: SnmpVersions::All,
            record_community: false,
            max_entity_rows: 4,
            max_mac_requests: 4,
            max_silent: 3,
        }
    }
}

impl SnmpConfig {
    /// The (version, community index) pairs asked with a GetRequest, in order.
    fn attempts(&self) -> Vec<(SnmpVersion, usize)> {
        let mut out = Vec::new();
        for i in 0..self.communities.len() {
            match self.versions {
                SnmpVersions::V1 => out.push((SnmpVersion::V1, i)),
                SnmpVersions::V2c => out.push((SnmpVersion::V2c, i)),
                SnmpVersions::All => {
                    out.push((SnmpVersion::V2c, i));
                    out.push((SnmpVersion::V1, i));
                }
                SnmpVersions::V3 => {}
            }
        }
        out
    }
}

impl ProbeConfig for SnmpConfig {
    const PROTOCOL: Protocol = Protocol::Snmp;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }

    fn max_requests(&self, udp_retries: u32) -> u64 {
        let per_community = match self.versions {
            SnmpVersions::All => 2,
            SnmpVersions::V3 => 0,
            _ => 1,
        };
        let walks = u64::from(self.max_entity_rows) + u64::from(self.max_mac_requests);
        // Every GET, the walks and the v3 discovery, each sent 1 + retries times.
        (per_community * self.communities.len() as u64 + walks + 1) * (1 + u64::from(udp_retries))
    }

    fn validate(&self) -> Result<(), String> {
        if self.communities.is_empty() && self.versions != SnmpVersions::V3 {
            return Err("snmp communities: the list is empty".into());
        }
        if self.communities.iter().any(Vec::is_empty) {
            return Err("snmp communities: an empty community string (agents reject it; leave it out of the list)".into());
        }
        if let Some(long) = self
            .communities
            .iter()
            .find(|c| c.len() > MAX_COMMUNITY_LEN)
        {
            return Err(format!(
                "snmp communities: a community of {} bytes, at most {MAX_COMMUNITY_LEN} (net-snmp's limit)",
                long.len()
            ));
        }
        if self.communities.len() > MAX_COMMUNITIES {
            return Err(format!(
                "snmp communities: {} communities, at most {MAX_COMMUNITIES}: otscan identifies devices, it does not guess credentials",
                self.communities.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_community_past_net_snmps_limit_is_refused_without_being_shown() {
        let mut config = SnmpConfig {
            communities: vec![b"public".to_vec(), vec![b'c'; MAX_COMMUNITY_LEN]],
            ..SnmpConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
        config.communities[1].push(b'c');
        let reason = config.validate().unwrap_err();
        assert!(reason.contains("257 bytes, at most 256"), "{reason}");
        assert!(!reason.contains("ccc"), "{reason}");
    }
}
