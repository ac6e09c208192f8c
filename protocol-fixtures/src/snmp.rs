//! A simulated SNMP agent on UDP: v1 and v2c reads (Get, GetNext, GetBulk) of a fixed table of
//! objects with community checks, and the SNMPv3 USM engine discovery that identifies an agent
//! without credentials. Nothing is writable: a SetRequest gets the error a read-only community
//! gets from a real agent, so nothing a scanner sends changes any state.
//!
//! What real agents do, and this one too:
//! - a wrong community, or a version the agent does not speak, gets no reply at all;
//! - v1 reports a missing object as error-status noSuchName with the index of the first missing
//!   varbind; v2c answers per varbind with noSuchObject (no object of that type) or
//!   noSuchInstance (the type exists, this instance does not), and endOfMibView past the end;
//! - v1 cannot carry Counter64, so v1 requests see Counter64 objects as absent (RFC 3584 4.2.2);
//! - no v3 users exist, so every reportable v3 message gets a Report: usmStatsUnknownEngineIDs
//!   when the message names another (or no) engine, usmStatsUnknownUserNames otherwise. Messages
//!   that are not reportable get nothing.
//!
//! Engine boots, engine time and sysUpTime are reported as configured and do not advance, so
//! tests can compare exact values.
//!
//! Encoding and decoding use `rasn-snmp`'s message types; a datagram they cannot decode is
//! recorded and dropped, as an agent counts it in snmpInASNParseErrs and drops it.

use std::{collections::BTreeMap, fmt, io, net::SocketAddr, ops::Bound, str::FromStr};

use rasn::types::{Integer, ObjectIdentifier, OctetString};
// The v2 SMI names Counter32, Gauge32 etc. are type aliases of these v1 tuple structs, which
// aliases cannot construct.
use rasn_smi::{
    v1::{Counter, Gauge, IpAddress, TimeTicks},
    v2::{ApplicationSyntax, Counter64, ObjectSyntax, SimpleSyntax},
};
use rasn_snmp::{
    v2::{Pdu, Pdus, Report, Response, VarBind, VarBindValue},
    v2c,
    v3::{self, HeaderData, ScopedPdu, ScopedPduData, USMSecurityParameters},
};

use crate::{
    device::{bind_udp, serve_datagrams, DeviceHandle, Scope},
    recorder::Recorder,
};

/// The registered SNMP agent port (UDP).
pub const PORT: u16 = 161;

/// The label SNMP datagrams carry in [`crate::RecordedFrame::protocol`].
pub const PROTOCOL: &str = "snmp";

/// The largest reply the agent sends over UDP/IPv4, and the msgMaxSize it announces in v3.
const MAX_REPLY: usize = 65_507;
/// GetBulk repetitions served at most, whatever max-repetitions asks (net-snmp caps it too).
const MAX_BULK_REPETITIONS: u32 = 64;
/// Varbinds in one GetBulk reply at most.
const MAX_BULK_VARBINDS: usize = 512;
/// The SNMP message version field: 0 is v1, 1 is v2c, 3 is v3.
const VERSION_1: u8 = 0;
const VERSION_2C: u8 = 1;
const VERSION_3: u8 = 3;
/// msgSecurityModel of the User-based Security Model.
const SECURITY_MODEL_USM: u32 = 3;
/// msgFlags bit asking for a Report when the message cannot be processed.
const FLAG_REPORTABLE: u8 = 0x04;

/// SNMP error-status values (RFC 3416 section 3).
pub mod error_status {
    /// No error.
    pub const NO_ERROR: u8 = 0;
    /// The reply would not fit a message.
    pub const TOO_BIG: u8 = 1;
    /// v1: an object is missing, or (for a Set) not writable by this community.
    pub const NO_SUCH_NAME: u8 = 2;
    /// v1: a Set to a read-only object.
    pub const READ_ONLY: u8 = 4;
    /// A general error, used by agents whose instrumentation failed.
    pub const GEN_ERR: u8 = 5;
    /// v2c: the object is not accessible for this operation (Set with a read-only community).
    pub const NO_ACCESS: u8 = 6;
    /// v2c: the object exists but is not writable.
    pub const NOT_WRITABLE: u8 = 17;
}

/// An object identifier as its arcs. Ordered lexicographically arc by arc, which is the order
/// GetNext walks (a prefix sorts before everything under it).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// The OID with these arcs.
    pub fn new(arcs: impl Into<Vec<u32>>) -> Self {
        Self(arcs.into())
    }

    /// The arcs.
    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    /// This OID followed by `arcs`, e.g. a column OID followed by a row index.
    #[must_use]
    pub fn child(&self, arcs: &[u32]) -> Self {
        Self([&self.0[..], arcs].concat())
    }

    /// Whether `prefix` is this OID or one of its ancestors.
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The BER form, `None` for an OID that BER cannot carry (fewer than two arcs, first arc
    /// above 2, or second arc above 39 under 0 or 1).
    fn to_asn1(&self) -> Option<ObjectIdentifier> {
        if self.0.len() < 2 {
            return None;
        }
        ObjectIdentifier::new(self.0.clone())
    }
}

impl fmt::Display for Oid {
    /// Dotted decimal without a leading dot, e.g. `1.3.6.1.2.1.1.1.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arc) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

/// Why a dotted OID did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OID {text:?}: expected dotted decimal arcs, e.g. 1.3.6.1.2.1.1.1.0")]
pub struct OidParseError {
    text: String,
}

impl FromStr for Oid {
    type Err = OidParseError;

    /// Parses dotted decimal, with or without a leading dot (net-snmp prints one).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || OidParseError { text: s.into() };
        let digits = s.strip_prefix('.').unwrap_or(s);
        if digits.is_empty() {
            return Err(error());
        }
        digits
            .split('.')
            .map(|arc| {
                // `u32::from_str` accepts a leading '+', which no OID notation has.
                if arc.bytes().all(|b| b.is_ascii_digit()) {
                    arc.parse().map_err(|_| error())
                } else {
                    Err(error())
                }
            })
            .collect::<Result<Vec<u32>, _>>()
            .map(Oid)
    }
}

impl From<Vec<u32>> for Oid {
    fn from(arcs: Vec<u32>) -> Self {
        Self(arcs)
    }
}

impl From<&[u32]> for Oid {
    fn from(arcs: &[u32]) -> Self {
        Self(arcs.to_vec())
    }
}

impl<const N: usize> From<[u32; N]> for Oid {
    fn from(arcs: [u32; N]) -> Self {
        Self(arcs.to_vec())
    }
}

impl From<&ObjectIdentifier> for Oid {
    fn from(oid: &ObjectIdentifier) -> Self {
        Self(oid.to_vec())
    }
}

/// The value of one object, in the SMI types an agent sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SnmpValue {
    /// OCTET STRING: text or binary (MAC addresses, non-UTF-8 strings).
    OctetString(Vec<u8>),
    /// INTEGER (Integer32 on the wire in practice; larger values are sent as configured).
    Integer(i64),
    /// OBJECT IDENTIFIER. One BER cannot carry is sent as 0.0 (zeroDotZero).
    ObjectId(Oid),
    /// TimeTicks: hundredths of a second.
    TimeTicks(u32),
    /// Counter32.
    Counter32(u32),
    /// Gauge32 (Unsigned32).
    Gauge32(u32),
    /// Counter64: v2c and v3 only; invisible to v1 requests.
    Counter64(u64),
    /// IpAddress.
    IpAddress([u8; 4]),
    /// NULL.
    Null,
}

impl From<&str> for SnmpValue {
    fn from(text: &str) -> Self {
        Self::OctetString(text.as_bytes().to_vec())
    }
}

impl From<String> for SnmpValue {
    fn from(text: String) -> Self {
        Self::OctetString(text.into_bytes())
    }
}

impl From<&[u8]> for SnmpValue {
    fn from(bytes: &[u8]) -> Self {
        Self::OctetString(bytes.to_vec())
    }
}

impl From<Vec<u8>> for SnmpValue {
    fn from(bytes: Vec<u8>) -> Self {
        Self::OctetString(bytes)
    }
}

impl From<Oid> for SnmpValue {
    fn from(oid: Oid) -> Self {
        Self::ObjectId(oid)
    }
}

impl SnmpValue {
    /// The value as sent in a varbind.
    fn to_varbind_value(&self) -> VarBindValue {
        let syntax: ObjectSyntax = match self {
            SnmpValue::OctetString(bytes) => {
                SimpleSyntax::String(OctetString::from(bytes.clone())).into()
            }
            SnmpValue::Integer(value) => SimpleSyntax::Integer(Integer::from(*value)).into(),
            SnmpValue::ObjectId(oid) => SimpleSyntax::ObjectId(
                oid.to_asn1()
                    .unwrap_or_else(|| ObjectIdentifier::new_unchecked(vec![0, 0].into())),
            )
            .into(),
            SnmpValue::TimeTicks(ticks) => ApplicationSyntax::Ticks(TimeTicks(*ticks)).into(),
            SnmpValue::Counter32(value) => ApplicationSyntax::Counter(Counter(*value)).into(),
            SnmpValue::Gauge32(value) => ApplicationSyntax::Unsigned(Gauge(*value)).into(),
            SnmpValue::Counter64(value) => ApplicationSyntax::BigCounter(Counter64(*value)).into(),
            SnmpValue::IpAddress(octets) => {
                ApplicationSyntax::Address(IpAddress((*octets).into())).into()
            }
            SnmpValue::Null => return VarBindValue::Unspecified,
        };
        VarBindValue::Value(syntax)
    }
}

/// The SNMP versions an agent answers; requests in any other version get no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnmpVersions {
    /// SNMPv1 (community).
    pub v1: bool,
    /// SNMPv2c (community).
    pub v2c: bool,
    /// SNMPv3 (USM; only engine discovery is served, no users exist).
    pub v3: bool,
}

impl SnmpVersions {
    /// v1, v2c and v3, like most current agents.
    pub const ALL: Self = Self {
        v1: true,
        v2c: true,
        v3: true,
    };
    /// v1 and v2c only, like older or minimal agents.
    pub const COMMUNITY: Self = Self {
        v1: true,
        v2c: true,
        v3: false,
    };
    /// v3 only, as hardened switches are configured: v1/v2c requests get no reply.
    pub const V3_ONLY: Self = Self {
        v1: false,
        v2c: false,
        v3: true,
    };
}

impl Default for SnmpVersions {
    fn default() -> Self {
        Self::ALL
    }
}

/// How the agent deviates from a well-behaved one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SnmpBehaviour {
    /// Answers as described in the module documentation.
    #[default]
    Normal,
    /// Records every datagram and never replies (a filtered or dead agent).
    Silent,
    /// Every v1/v2c Get, GetNext and GetBulk is answered with this error-status and
    /// error-index 1, the request's varbinds echoed (an agent whose instrumentation fails,
    /// e.g. [`error_status::GEN_ERR`]). v3 discovery is unaffected: it happens before any PDU is
    /// processed.
    ErrorStatus(u8),
    /// Replies carry the request id plus one (and, in v3, msgID plus one), as a confused agent or
    /// a spoofer would: a scanner must drop them.
    WrongRequestId,
}

/// Columns of ENTITY-MIB's entPhysicalEntry.
pub mod ent_column {
    /// entPhysicalDescr.
    pub const DESCR: u32 = 2;
    /// entPhysicalHardwareRev.
    pub const HARDWARE_REV: u32 = 8;
    /// entPhysicalFirmwareRev.
    pub const FIRMWARE_REV: u32 = 9;
    /// entPhysicalSoftwareRev.
    pub const SOFTWARE_REV: u32 = 10;
    /// entPhysicalSerialNum.
    pub const SERIAL_NUM: u32 = 11;
    /// entPhysicalMfgName.
    pub const MFG_NAME: u32 = 12;
    /// entPhysicalModelName.
    pub const MODEL_NAME: u32 = 13;
}

/// Well-known OIDs, as arcs.
pub mod mib {
    use super::Oid;

    /// The MIB-II system group.
    pub const SYSTEM: &[u32] = &[1, 3, 6, 1, 2, 1, 1];
    /// sysDescr.0.
    pub const SYS_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 1, 0];
    /// sysObjectID.0.
    pub const SYS_OBJECT_ID: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 2, 0];
    /// sysUpTime.0.
    pub const SYS_UP_TIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
    /// sysContact.0.
    pub const SYS_CONTACT: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 4, 0];
    /// sysName.0.
    pub const SYS_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];
    /// sysLocation.0.
    pub const SYS_LOCATION: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 6, 0];
    /// sysServices.0.
    pub const SYS_SERVICES: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 7, 0];
    /// ENTITY-MIB entPhysicalEntry; a column is `ENT_PHYSICAL_ENTRY.column.index`.
    pub const ENT_PHYSICAL_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1];
    /// IF-MIB ifPhysAddress; an instance is `IF_PHYS_ADDRESS.ifIndex`.
    pub const IF_PHYS_ADDRESS: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 6];
    /// usmStatsUnknownUserNames.0, reported to v3 messages naming this engine.
    pub const USM_STATS_UNKNOWN_USER_NAMES: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0];
    /// usmStatsUnknownEngineIDs.0, reported to v3 discovery.
    pub const USM_STATS_UNKNOWN_ENGINE_IDS: &[u32] = &[1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0];
    /// The enterprises arc: `ENTERPRISES.n` belongs to IANA Private Enterprise Number n.
    pub const ENTERPRISES: &[u32] = &[1, 3, 6, 1, 4, 1];

    /// `column` of entPhysicalEntry for entity `index`, e.g. entPhysicalSerialNum.1.
    pub fn ent_physical(column: u32, index: u32) -> Oid {
        Oid::from(ENT_PHYSICAL_ENTRY).child(&[column, index])
    }

    /// ifPhysAddress of interface `if_index`.
    pub fn if_phys_address(if_index: u32) -> Oid {
        Oid::from(IF_PHYS_ADDRESS).child(&[if_index])
    }

    /// `1.3.6.1.4.1.enterprise.arcs...`, e.g. a sysObjectID.
    pub fn enterprise(enterprise: u32, arcs: &[u32]) -> Oid {
        Oid::from(ENTERPRISES).child(&[enterprise]).child(arcs)
    }
}

/// snmpEngineID builders (RFC 3411 section 5, SnmpEngineID).
pub mod engine_id {
    /// Format byte: an IPv4 address follows.
    pub const FORMAT_IPV4: u8 = 1;
    /// Format byte: an IPv6 address follows.
    pub const FORMAT_IPV6: u8 = 2;
    /// Format byte: a MAC address follows.
    pub const FORMAT_MAC: u8 = 3;
    /// Format byte: administratively assigned text follows.
    pub const FORMAT_TEXT: u8 = 4;
    /// Format byte: administratively assigned octets follow.
    pub const FORMAT_OCTETS: u8 = 5;

    /// An RFC 3411 engine id: the enterprise number with the top bit set, the format byte, then
    /// `data` (formats 128 and up are enterprise-specific).
    pub fn rfc3411(enterprise: u32, format: u8, data: &[u8]) -> Vec<u8> {
        let mut id = (enterprise | 0x8000_0000).to_be_bytes().to_vec();
        id.push(format);
        id.extend_from_slice(data);
        id
    }

    /// Format 3, a MAC address: `80 xx xx xx 03` and six bytes (Cisco, APC and most switches).
    pub fn mac(enterprise: u32, mac: [u8; 6]) -> Vec<u8> {
        rfc3411(enterprise, FORMAT_MAC, &mac)
    }

    /// Format 1, an IPv4 address.
    pub fn ipv4(enterprise: u32, address: [u8; 4]) -> Vec<u8> {
        rfc3411(enterprise, FORMAT_IPV4, &address)
    }

    /// Format 4, text.
    pub fn text(enterprise: u32, text: &str) -> Vec<u8> {
        rfc3411(enterprise, FORMAT_TEXT, text.as_bytes())
    }

    /// Format 5, octets.
    pub fn octets(enterprise: u32, octets: &[u8]) -> Vec<u8> {
        rfc3411(enterprise, FORMAT_OCTETS, octets)
    }

    /// A pre-RFC 3411 (RFC 2271) id: the enterprise number with the top bit clear and 8 octets,
    /// 12 bytes in all, as old agents still send.
    pub fn legacy(enterprise: u32, octets: [u8; 8]) -> Vec<u8> {
        let mut id = (enterprise & 0x7FFF_FFFF).to_be_bytes().to_vec();
        id.extend_from_slice(&octets);
        id
    }
}

/// One row of ENTITY-MIB's entPhysicalTable, as the scanner reads it. Every column is served,
/// empty ones as empty strings, as the MIB requires of agents that do not know a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityRow {
    /// entPhysicalDescr.
    pub descr: Vec<u8>,
    /// entPhysicalHardwareRev.
    pub hardware_rev: Vec<u8>,
    /// entPhysicalFirmwareRev.
    pub firmware_rev: Vec<u8>,
    /// entPhysicalSoftwareRev.
    pub software_rev: Vec<u8>,
    /// entPhysicalSerialNum.
    pub serial_num: Vec<u8>,
    /// entPhysicalMfgName.
    pub mfg_name: Vec<u8>,
    /// entPhysicalModelName.
    pub model_name: Vec<u8>,
}

impl EntityRow {
    /// A row with this description and every other column empty.
    pub fn new(descr: impl Into<Vec<u8>>) -> Self {
        Self {
            descr: descr.into(),
            ..Self::default()
        }
    }

    /// Sets entPhysicalHardwareRev.
    #[must_use]
    pub fn with_hardware_rev(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.hardware_rev = value.into();
        self
    }

    /// Sets entPhysicalFirmwareRev.
    #[must_use]
    pub fn with_firmware_rev(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.firmware_rev = value.into();
        self
    }

    /// Sets entPhysicalSoftwareRev.
    #[must_use]
    pub fn with_software_rev(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.software_rev = value.into();
        self
    }

    /// Sets entPhysicalSerialNum.
    #[must_use]
    pub fn with_serial_num(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.serial_num = value.into();
        self
    }

    /// Sets entPhysicalMfgName.
    #[must_use]
    pub fn with_mfg_name(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.mfg_name = value.into();
        self
    }

    /// Sets entPhysicalModelName.
    #[must_use]
    pub fn with_model_name(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.model_name = value.into();
        self
    }

    /// The row's columns, with their column numbers.
    fn columns(&self) -> [(u32, &[u8]); 7] {
        [
            (ent_column::DESCR, &self.descr),
            (ent_column::HARDWARE_REV, &self.hardware_rev),
            (ent_column::FIRMWARE_REV, &self.firmware_rev),
            (ent_column::SOFTWARE_REV, &self.software_rev),
            (ent_column::SERIAL_NUM, &self.serial_num),
            (ent_column::MFG_NAME, &self.mfg_name),
            (ent_column::MODEL_NAME, &self.model_name),
        ]
    }
}

/// What a simulated SNMP agent serves and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpAgentConfig {
    /// Communities accepted for v1 and v2c (read-only); any other gets no reply.
    pub communities: Vec<Vec<u8>>,
    /// Versions answered.
    pub versions: SnmpVersions,
    /// Every object the agent has, walked in key order.
    pub values: BTreeMap<Oid, SnmpValue>,
    /// snmpEngineID, sent as msgAuthoritativeEngineID in v3 Reports.
    pub engine_id: Vec<u8>,
    /// snmpEngineBoots.
    pub engine_boots: u32,
    /// snmpEngineTime, in seconds; reported as configured (it does not advance).
    pub engine_time: u32,
    /// Deviations from a well-behaved agent.
    pub behaviour: SnmpBehaviour,
    /// Largest reply the agent sends (its msgMaxSize): a Get whose answer is larger gets
    /// tooBig, as agents with small buffers (many embedded ones) answer.
    pub max_message_size: usize,
}

impl Default for SnmpAgentConfig {
    /// A generic net-snmp-like Linux agent: [`SnmpAgentConfig::system`] with sysDescr
    /// "Linux sim-agent 6.1.0 (simulated)", sysObjectID 1.3.6.1.4.1.8072.3.2.10, sysName
    /// "sim-agent", services 72, uptime 0.
    fn default() -> Self {
        Self::system(
            "Linux sim-agent 6.1.0 (simulated)",
            mib::enterprise(8072, &[3, 2, 10]),
            "sim-agent",
            "loopback",
            "nobody@example.invalid",
            72,
            0,
        )
    }
}

impl SnmpAgentConfig {
    /// An agent with the MIB-II system group and nothing else: community "public", v1, v2c and
    /// v3, engine id `80 00 1F 88 04 "otscan-sim"` (net-snmp's enterprise 8072, text format),
    /// boots 1, time 0, well-behaved. `services` is sysServices (72: application and end-to-end
    /// layers, a host).
    pub fn system(
        descr: impl Into<Vec<u8>>,
        object_id: impl Into<Oid>,
        name: impl Into<Vec<u8>>,
        location: impl Into<Vec<u8>>,
        contact: impl Into<Vec<u8>>,
        services: u8,
        uptime_ticks: u32,
    ) -> Self {
        let values = BTreeMap::from([
            (
                Oid::from(mib::SYS_DESCR),
                SnmpValue::OctetString(descr.into()),
            ),
            (
                Oid::from(mib::SYS_OBJECT_ID),
                SnmpValue::ObjectId(object_id.into()),
            ),
            (
                Oid::from(mib::SYS_UP_TIME),
                SnmpValue::TimeTicks(uptime_ticks),
            ),
            (
                Oid::from(mib::SYS_CONTACT),
                SnmpValue::OctetString(contact.into()),
            ),
            (
                Oid::from(mib::SYS_NAME),
                SnmpValue::OctetString(name.into()),
            ),
            (
                Oid::from(mib::SYS_LOCATION),
                SnmpValue::OctetString(location.into()),
            ),
            (
                Oid::from(mib::SYS_SERVICES),
                SnmpValue::Integer(services.into()),
            ),
        ]);
        Self {
            communities: vec![b"public".to_vec()],
            versions: SnmpVersions::ALL,
            values,
            engine_id: engine_id::text(8072, "otscan-sim"),
            engine_boots: 1,
            engine_time: 0,
            behaviour: SnmpBehaviour::Normal,
            max_message_size: MAX_REPLY,
        }
    }

    /// Replaces the accepted communities.
    #[must_use]
    pub fn with_communities<C: Into<Vec<u8>>>(
        mut self,
        communities: impl IntoIterator<Item = C>,
    ) -> Self {
        self.communities = communities.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the versions answered.
    #[must_use]
    pub fn with_versions(mut self, versions: SnmpVersions) -> Self {
        self.versions = versions;
        self
    }

    /// Sets (or replaces) one object.
    #[must_use]
    pub fn with_value(mut self, oid: impl Into<Oid>, value: impl Into<SnmpValue>) -> Self {
        self.values.insert(oid.into(), value.into());
        self
    }

    /// Removes one object.
    #[must_use]
    pub fn without_value(mut self, oid: impl Into<Oid>) -> Self {
        self.values.remove(&oid.into());
        self
    }

    /// Adds entPhysicalEntry row `index` (every column, empty ones as empty strings).
    #[must_use]
    pub fn with_entity(mut self, index: u32, row: EntityRow) -> Self {
        for (column, value) in row.columns() {
            self.values.insert(
                mib::ent_physical(column, index),
                SnmpValue::OctetString(value.to_vec()),
            );
        }
        self
    }

    /// Sets ifPhysAddress of interface `if_index` to `mac`.
    #[must_use]
    pub fn with_if_mac(mut self, if_index: u32, mac: [u8; 6]) -> Self {
        self.values.insert(
            mib::if_phys_address(if_index),
            SnmpValue::OctetString(mac.to_vec()),
        );
        self
    }

    /// Sets the v3 engine id, boots and time.
    #[must_use]
    pub fn with_engine(mut self, engine_id: impl Into<Vec<u8>>, boots: u32, time: u32) -> Self {
        self.engine_id = engine_id.into();
        self.engine_boots = boots;
        self.engine_time = time;
        self
    }

    /// Sets the largest reply the agent sends (see [`SnmpAgentConfig::max_message_size`]).
    #[must_use]
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes.min(MAX_REPLY);
        self
    }

    /// Sets the behaviour.
    #[must_use]
    pub fn with_behaviour(mut self, behaviour: SnmpBehaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// The value a `version` request sees at `oid`: v1 cannot carry Counter64.
    fn get(&self, oid: &Oid, version: u8) -> Option<&SnmpValue> {
        self.values.get(oid).filter(|value| visible(value, version))
    }

    /// The first object after `oid` that a `version` request can see and BER can name.
    fn next(&self, oid: &Oid, version: u8) -> Option<(ObjectIdentifier, &SnmpValue)> {
        self.values
            .range((Bound::Excluded(oid), Bound::Unbounded))
            .filter(|(_, value)| visible(value, version))
            .find_map(|(name, value)| Some((name.to_asn1()?, value)))
    }

    /// Whether objects of the type `oid` names exist, though not this instance: the object
    /// type is taken to be `oid` less its last arc, as for scalars (`.0`) and single-index rows.
    fn has_object_type(&self, oid: &Oid) -> bool {
        let Some((_, parent)) = oid.0.split_last() else {
            return false;
        };
        let parent = Oid::from(parent);
        self.values
            .range((Bound::Excluded(&parent), Bound::Unbounded))
            .next()
            .is_some_and(|(name, _)| name.starts_with(&parent))
    }
}

/// Whether `version` requests can see `value`.
fn visible(value: &SnmpValue, version: u8) -> bool {
    version != VERSION_1 || !matches!(value, SnmpValue::Counter64(_))
}

/// The agent's state: the config and the USM statistics counters its Reports carry.
#[derive(Debug)]
struct Agent {
    config: SnmpAgentConfig,
    /// usmStatsUnknownEngineIDs.
    unknown_engine_ids: u32,
    /// usmStatsUnknownUserNames.
    unknown_user_names: u32,
}

/// The PDU part of a v1/v2c reply.
struct Outcome {
    error_status: u8,
    error_index: u32,
    varbinds: Vec<VarBind>,
}

impl Outcome {
    fn values(varbinds: Vec<VarBind>) -> Self {
        Self {
            error_status: error_status::NO_ERROR,
            error_index: 0,
            varbinds,
        }
    }

    /// An error reply: the request's varbinds echoed, as RFC 3416 requires.
    fn error(error_status: u8, error_index: usize, request: &[VarBind]) -> Self {
        Self {
            error_status,
            error_index: u32::try_from(error_index).unwrap_or(u32::MAX),
            varbinds: request.to_vec(),
        }
    }
}

impl Agent {
    fn new(config: SnmpAgentConfig) -> Self {
        Self {
            config,
            unknown_engine_ids: 0,
            unknown_user_names: 0,
        }
    }

    /// The reply to one datagram, `None` for silence.
    fn handle(&mut self, datagram: &[u8]) -> Option<Vec<u8>> {
        if self.config.behaviour == SnmpBehaviour::Silent {
            return None;
        }
        // The community message shape is tried first: a v3 message fails it at its second
        // field (a SEQUENCE where v1/v2c have an OCTET STRING), and the reverse holds too.
        if let Ok(message) = rasn::ber::decode::<v2c::Message<Pdus>>(datagram) {
            return self.community(message);
        }
        let message = rasn::ber::decode::<v3::Message>(datagram).ok()?;
        self.v3(&message)
    }

    fn wrong_id(&self) -> bool {
        self.config.behaviour == SnmpBehaviour::WrongRequestId
    }

    /// A v1 or v2c message.
    fn community(&self, message: v2c::Message<Pdus>) -> Option<Vec<u8>> {
        let version = u8::try_from(&message.version).ok()?;
        let accepted = match version {
            VERSION_1 => self.config.versions.v1,
            VERSION_2C => self.config.versions.v2c,
            _ => false,
        };
        let known = self
            .config
            .communities
            .iter()
            .any(|c| c[..] == message.community[..]);
        if !accepted || !known {
            return None;
        }
        let v1 = version == VERSION_1;
        let (request_id, outcome) = match &message.data {
            Pdus::GetRequest(request) => (request.0.request_id, self.get(&request.0, version)),
            Pdus::GetNextRequest(request) => {
                (request.0.request_id, self.get_next(&request.0, version))
            }
            // GetBulk does not exist in v1; a v1 agent fails to parse it and drops it.
            Pdus::GetBulkRequest(request) if !v1 => {
                let pdu = &request.0;
                let outcome = match self.config.behaviour {
                    SnmpBehaviour::ErrorStatus(status) => {
                        Outcome::error(status, 1, &pdu.variable_bindings)
                    }
                    _ => self.get_bulk(
                        &pdu.variable_bindings,
                        pdu.non_repeaters,
                        pdu.max_repetitions,
                    ),
                };
                (pdu.request_id, outcome)
            }
            // A read-only community may not write: v2c says noAccess, and RFC 3584 maps that to
            // noSuchName for v1. Nothing is ever stored.
            Pdus::SetRequest(request) => {
                let status = if v1 {
                    error_status::NO_SUCH_NAME
                } else {
                    error_status::NO_ACCESS
                };
                let index = usize::from(!request.0.variable_bindings.is_empty());
                (
                    request.0.request_id,
                    Outcome::error(status, index, &request.0.variable_bindings),
                )
            }
            // Responses, traps, informs and reports are not for a command responder: dropped.
            _ => return None,
        };
        let request_id = if self.wrong_id() {
            request_id.wrapping_add(1)
        } else {
            request_id
        };
        let bulk = matches!(message.data, Pdus::GetBulkRequest(_));
        self.encode_response(&message, request_id, outcome, bulk)
    }

    /// Encodes a Response, truncating a GetBulk reply or answering tooBig when it does not fit.
    fn encode_response(
        &self,
        request: &v2c::Message<Pdus>,
        request_id: i32,
        mut outcome: Outcome,
        bulk: bool,
    ) -> Option<Vec<u8>> {
        loop {
            let reply = v2c::Message {
                version: request.version.clone(),
                community: request.community.clone(),
                data: Pdus::Response(Response(Pdu {
                    request_id,
                    error_status: outcome.error_status.into(),
                    error_index: outcome.error_index,
                    variable_bindings: outcome.varbinds.clone(),
                })),
            };
            let bytes = rasn::ber::encode(&reply).ok()?;
            if bytes.len() <= self.config.max_message_size {
                return Some(bytes);
            }
            if bulk && outcome.varbinds.len() > 1 {
                // GetBulk replies may be cut short (RFC 3416 4.2.3); halving bounds the retries.
                outcome.varbinds.truncate(outcome.varbinds.len() / 2);
            } else if outcome.error_status == error_status::TOO_BIG {
                return None;
            } else {
                outcome = Outcome {
                    error_status: error_status::TOO_BIG,
                    error_index: 0,
                    varbinds: Vec::new(),
                };
            }
        }
    }

    /// GetRequest.
    fn get(&self, pdu: &Pdu, version: u8) -> Outcome {
        let request = &pdu.variable_bindings;
        if let SnmpBehaviour::ErrorStatus(status) = self.config.behaviour {
            return Outcome::error(status, 1, request);
        }
        let mut varbinds = Vec::with_capacity(request.len());
        for (i, varbind) in request.iter().enumerate() {
            let oid = Oid::from(&varbind.name);
            let value = match self.config.get(&oid, version) {
                Some(value) => value.to_varbind_value(),
                None if version == VERSION_1 => {
                    return Outcome::error(error_status::NO_SUCH_NAME, i + 1, request);
                }
                None if self.config.has_object_type(&oid) => VarBindValue::NoSuchInstance,
                None => VarBindValue::NoSuchObject,
            };
            varbinds.push(VarBind {
                name: varbind.name.clone(),
                value,
            });
        }
        Outcome::values(varbinds)
    }

    /// GetNextRequest.
    fn get_next(&self, pdu: &Pdu, version: u8) -> Outcome {
        let request = &pdu.variable_bindings;
        if let SnmpBehaviour::ErrorStatus(status) = self.config.behaviour {
            return Outcome::error(status, 1, request);
        }
        let mut varbinds = Vec::with_capacity(request.len());
        for (i, varbind) in request.iter().enumerate() {
            match self.config.next(&Oid::from(&varbind.name), version) {
                Some((name, value)) => varbinds.push(VarBind {
                    name,
                    value: value.to_varbind_value(),
                }),
                None if version == VERSION_1 => {
                    return Outcome::error(error_status::NO_SUCH_NAME, i + 1, request);
                }
                None => varbinds.push(VarBind {
                    name: varbind.name.clone(),
                    value: VarBindValue::EndOfMibView,
                }),
            }
        }
        Outcome::values(varbinds)
    }

    /// GetBulkRequest (v2c): the first `non_repeaters` varbinds once, then up to
    /// `max_repetitions` rounds over the others, stopping early once every one is past the end.
    fn get_bulk(&self, request: &[VarBind], non_repeaters: u32, max_repetitions: u32) -> Outcome {
        let next = |name: &ObjectIdentifier| match self.config.next(&Oid::from(name), VERSION_2C) {
            Some((name, value)) => VarBind {
                name,
                value: value.to_varbind_value(),
            },
            None => VarBind {
                name: name.clone(),
                value: VarBindValue::EndOfMibView,
            },
        };
        let split = usize::try_from(non_repeaters)
            .unwrap_or(usize::MAX)
            .min(request.len());
        let (singles, repeaters) = request.split_at(split);
        let mut varbinds: Vec<VarBind> = singles.iter().map(|v| next(&v.name)).collect();
        let mut cursors: Vec<ObjectIdentifier> = repeaters.iter().map(|v| v.name.clone()).collect();
        for _ in 0..max_repetitions.min(MAX_BULK_REPETITIONS) {
            if cursors.is_empty() {
                break;
            }
            let round: Vec<VarBind> = cursors.iter().map(&next).collect();
            let ended = round.iter().all(|v| v.value == VarBindValue::EndOfMibView);
            for (cursor, varbind) in cursors.iter_mut().zip(&round) {
                cursor.clone_from(&varbind.name);
            }
            varbinds.extend(round);
            if ended || varbinds.len() >= MAX_BULK_VARBINDS {
                break;
            }
        }
        varbinds.truncate(MAX_BULK_VARBINDS);
        Outcome::values(varbinds)
    }

    /// A v3 message: every reportable one gets a Report, since no user exists to process it.
    fn v3(&mut self, message: &v3::Message) -> Option<Vec<u8>> {
        let version = u8::try_from(&message.version).ok()?;
        if version != VERSION_3 || !self.config.versions.v3 {
            return None;
        }
        let flags = message.global_data.flags.first().copied().unwrap_or(0);
        // RFC 3412 7.2: an unknown security model is counted and dropped without a Report.
        if flags & FLAG_REPORTABLE == 0
            || message.global_data.security_model != Integer::from(SECURITY_MODEL_USM)
        {
            return None;
        }
        let usm: USMSecurityParameters =
            message.decode_security_parameters(rasn::Codec::Ber).ok()?;
        // An encrypted scoped PDU cannot be read without keys; its request id is unknown.
        let request_id = match &message.scoped_data {
            ScopedPduData::CleartextPdu(scoped) => request_id(&scoped.data)?,
            ScopedPduData::EncryptedPdu(_) => 0,
        };
        let (counter, count) = if usm.authoritative_engine_id[..] == self.config.engine_id[..] {
            (
                mib::USM_STATS_UNKNOWN_USER_NAMES,
                &mut self.unknown_user_names,
            )
        } else {
            (
                mib::USM_STATS_UNKNOWN_ENGINE_IDS,
                &mut self.unknown_engine_ids,
            )
        };
        // Counter32 semantics: wraps.
        *count = count.wrapping_add(1);
        let count = *count;
        let (message_id, request_id) = if self.wrong_id() {
            (
                message.global_data.message_id.clone() + Integer::from(1),
                request_id.wrapping_add(1),
            )
        } else {
            (message.global_data.message_id.clone(), request_id)
        };
        let engine_id = OctetString::from(self.config.engine_id.clone());
        let mut reply = v3::Message {
            version: Integer::from(VERSION_3),
            global_data: HeaderData {
                message_id,
                max_size: Integer::from(MAX_REPLY),
                // noAuthNoPriv, and a Report is never itself reportable.
                flags: OctetString::from(vec![0u8]),
                security_model: Integer::from(SECURITY_MODEL_USM),
            },
            security_parameters: OctetString::default(),
            scoped_data: ScopedPduData::CleartextPdu(ScopedPdu {
                engine_id: engine_id.clone(),
                name: OctetString::default(),
                data: Pdus::Report(Report(Pdu {
                    request_id,
                    error_status: 0,
                    error_index: 0,
                    variable_bindings: vec![VarBind {
                        name: Oid::from(counter).to_asn1()?,
                        value: SnmpValue::Counter32(count).to_varbind_value(),
                    }],
                })),
            }),
        };
        let usm = USMSecurityParameters {
            authoritative_engine_id: engine_id,
            authoritative_engine_boots: Integer::from(self.config.engine_boots),
            authoritative_engine_time: Integer::from(self.config.engine_time),
            // net-snmp echoes the user name it could not find.
            user_name: usm.user_name,
            authentication_parameters: OctetString::default(),
            privacy_parameters: OctetString::default(),
        };
        reply
            .encode_security_parameters(rasn::Codec::Ber, &usm)
            .ok()?;
        rasn::ber::encode(&reply).ok()
    }
}

/// The request id of any PDU.
fn request_id(pdus: &Pdus) -> Option<i32> {
    Some(match pdus {
        Pdus::GetRequest(p) => p.0.request_id,
        Pdus::GetNextRequest(p) => p.0.request_id,
        Pdus::Response(p) => p.0.request_id,
        Pdus::SetRequest(p) => p.0.request_id,
        Pdus::GetBulkRequest(p) => p.0.request_id,
        Pdus::InformRequest(p) => p.0.request_id,
        Pdus::Trap(p) => p.0.request_id,
        Pdus::Report(p) => p.0.request_id,
    })
}

/// A simulated SNMP agent.
#[derive(Debug)]
pub struct SnmpAgent;

impl SnmpAgent {
    /// Starts serving `config` on UDP `addr` (loopback only; port 0 picks a free port),
    /// recording every received datagram whole in `recorder` with protocol
    /// [`PROTOCOL`]. Replies go to the source address and port of the request only.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: SnmpAgentConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let socket = bind_udp(addr, Scope::Loopback)?;
        let mut agent = Agent::new(config);
        serve_datagrams(socket, recorder, PROTOCOL, move |request| {
            agent.handle(request)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// v2c GetRequest for sysDescr.0, community "public", request id 1.
    const GET_SYS_DESCR: &[u8] = &[
        0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xA0, 0x19,
        0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0E, 0x30, 0x0C, 0x06, 0x08,
        0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
    ];

    fn agent(config: SnmpAgentConfig) -> Agent {
        Agent::new(config)
    }

    fn encoded(value: SnmpValue) -> Vec<u8> {
        rasn::ber::encode(&value.to_varbind_value()).unwrap()
    }

    #[test]
    fn oids_parse_print_and_sort_like_snmp() {
        let oid: Oid = ".1.3.6.1.2.1.1.1.0".parse().unwrap();
        assert_eq!(oid, Oid::from(mib::SYS_DESCR));
        assert_eq!(oid.to_string(), "1.3.6.1.2.1.1.1.0");
        for bad in ["", ".", "1..3", "1.3.", "1.+3", "1.3.x", "1.4294967296"] {
            assert!(bad.parse::<Oid>().is_err(), "{bad:?}");
        }
        let system = Oid::from(mib::SYSTEM);
        assert!(system < oid && oid.starts_with(&system));
        // Arc by arc, not as text: 1.3.6.1.2.1.2 sorts before 1.3.6.1.2.1.10.
        assert!(Oid::from([1, 3, 6, 1, 2, 1, 2]) < Oid::from([1, 3, 6, 1, 2, 1, 10]));
        assert_eq!(
            mib::ent_physical(11, 1).to_string(),
            "1.3.6.1.2.1.47.1.1.1.1.11.1"
        );
        assert_eq!(mib::if_phys_address(3).to_string(), "1.3.6.1.2.1.2.2.1.6.3");
    }

    #[test]
    fn engine_ids_follow_rfc_3411() {
        assert_eq!(
            engine_id::mac(9, [0, 0x2A, 0x6A, 1, 2, 3]),
            [0x80, 0, 0, 9, 3, 0, 0x2A, 0x6A, 1, 2, 3]
        );
        assert_eq!(
            engine_id::ipv4(318, [10, 0, 0, 1]),
            [0x80, 0, 1, 0x3E, 1, 10, 0, 0, 1]
        );
        assert_eq!(
            engine_id::text(8072, "ab"),
            [0x80, 0, 0x1F, 0x88, 4, b'a', b'b']
        );
        assert_eq!(engine_id::octets(4329, &[7]), [0x80, 0, 0x10, 0xE9, 5, 7]);
        let legacy = engine_id::legacy(248, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(legacy.len(), 12);
        assert_eq!(legacy[..4], [0, 0, 0, 0xF8]);
    }

    #[test]
    fn values_encode_as_their_smi_types() {
        assert_eq!(encoded(SnmpValue::from("ab")), [0x04, 0x02, b'a', b'b']);
        assert_eq!(encoded(SnmpValue::Integer(-1)), [0x02, 0x01, 0xFF]);
        assert_eq!(
            encoded(SnmpValue::ObjectId(Oid::from([1, 3, 6, 1]))),
            [0x06, 0x03, 0x2B, 0x06, 0x01]
        );
        // An OID that BER cannot carry goes out as zeroDotZero.
        assert_eq!(
            encoded(SnmpValue::ObjectId(Oid::from([7]))),
            [0x06, 0x01, 0x00]
        );
        assert_eq!(
            encoded(SnmpValue::TimeTicks(0x80)),
            [0x43, 0x02, 0x00, 0x80]
        );
        assert_eq!(
            encoded(SnmpValue::Counter32(u32::MAX)),
            [0x41, 0x05, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(encoded(SnmpValue::Gauge32(5)), [0x42, 0x01, 0x05]);
        assert_eq!(
            encoded(SnmpValue::Counter64(u64::MAX))[..3],
            [0x46, 0x09, 0x00]
        );
        assert_eq!(
            encoded(SnmpValue::IpAddress([10, 1, 2, 3])),
            [0x40, 0x04, 10, 1, 2, 3]
        );
        assert_eq!(encoded(SnmpValue::Null), [0x05, 0x00]);
    }

    #[test]
    fn get_response_bytes_match_the_wire_format() {
        let config = SnmpAgentConfig::default().with_value(mib::SYS_DESCR, "ab");
        let reply = agent(config).handle(GET_SYS_DESCR).unwrap();
        let mut expected = vec![
            0x30, 0x28, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xA2,
            0x1B, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x10, 0x30, 0x0E,
        ];
        expected.extend_from_slice(&GET_SYS_DESCR[28..38]);
        expected.extend_from_slice(&[0x04, 0x02, b'a', b'b']);
        assert_eq!(reply, expected);
    }

    #[test]
    fn object_type_decides_between_no_such_object_and_no_such_instance() {
        let config = SnmpAgentConfig::default().with_if_mac(5, [0; 6]);
        assert!(config.has_object_type(&mib::if_phys_address(6)));
        assert!(config.has_object_type(&Oid::from([1, 3, 6, 1, 2, 1, 1, 1, 7])));
        assert!(!config.has_object_type(&Oid::from([1, 3, 6, 1, 2, 1, 1, 8, 0])));
        assert!(!config.has_object_type(&Oid::from([1, 3, 6, 1, 2, 1, 1, 1, 0, 9])));
    }

    #[test]
    fn get_bulk_is_capped_and_stops_at_the_end() {
        let config = (0..2000).fold(SnmpAgentConfig::default(), |c, i| {
            c.with_value([1, 3, 6, 1, 4, 1, 99, i], SnmpValue::Integer(i.into()))
        });
        let agent = agent(config);
        let start = |arcs: &[u32]| VarBind {
            name: Oid::from(arcs).to_asn1().unwrap(),
            value: VarBindValue::Unspecified,
        };
        let outcome = agent.get_bulk(&[start(&[1, 3, 6, 1, 4, 1, 99])], 0, u32::MAX);
        assert_eq!(outcome.varbinds.len(), MAX_BULK_REPETITIONS as usize);
        let many: Vec<_> = (0..20).map(|_| start(&[1, 3, 6, 1, 4, 1, 99])).collect();
        let outcome = agent.get_bulk(&many, 0, 64);
        assert_eq!(outcome.varbinds.len(), MAX_BULK_VARBINDS);
        // Past the end: one round of endOfMibView, then stop.
        let outcome = agent.get_bulk(&[start(&[2, 999])], 5, 10);
        assert_eq!(outcome.varbinds.len(), 1);
        assert_eq!(outcome.varbinds[0].value, VarBindValue::EndOfMibView);
    }

    #[test]
    fn oversized_replies_are_too_big_or_truncated() {
        let huge = SnmpAgentConfig::default().with_value(mib::SYS_DESCR, vec![b'x'; 70_000]);
        let reply = agent(huge.clone()).handle(GET_SYS_DESCR).unwrap();
        let message: v2c::Message<Pdus> = rasn::ber::decode(&reply).unwrap();
        let Pdus::Response(response) = message.data else {
            panic!("not a response");
        };
        assert_eq!(response.0.error_status, u32::from(error_status::TOO_BIG));
        assert!(response.0.variable_bindings.is_empty());

        let config = (0..40).fold(SnmpAgentConfig::default(), |c, i| {
            c.with_value([1, 3, 6, 1, 4, 1, 99, i], vec![b'y'; 4000])
        });
        let mut agent = agent(config);
        let request = v2c::Message {
            version: Integer::from(VERSION_2C),
            community: OctetString::from_static(b"public"),
            data: Pdus::GetBulkRequest(rasn_snmp::v2::GetBulkRequest(rasn_snmp::v2::BulkPdu {
                request_id: 1,
                non_repeaters: 0,
                max_repetitions: 40,
                variable_bindings: vec![VarBind {
                    name: Oid::from([1, 3, 6, 1, 4, 1, 99]).to_asn1().unwrap(),
                    value: VarBindValue::Unspecified,
                }],
            })),
        };
        let reply = agent.handle(&rasn::ber::encode(&request).unwrap()).unwrap();
        assert!(reply.len() <= MAX_REPLY);
        let message: v2c::Message<Pdus> = rasn::ber::decode(&reply).unwrap();
        let Pdus::Response(response) = message.data else {
            panic!("not a response");
        };
        assert_eq!(response.0.error_status, 0);
        assert!((1..40).contains(&response.0.variable_bindings.len()));
    }

    #[test]
    fn truncated_and_unknown_datagrams_are_dropped() {
        let mut agent = agent(SnmpAgentConfig::default());
        for cut in 0..GET_SYS_DESCR.len() {
            assert_eq!(agent.handle(&GET_SYS_DESCR[..cut]), None, "cut at {cut}");
        }
        // Version 2 (SNMPv2u/v2*) is no version this agent speaks.
        let mut v2u = GET_SYS_DESCR.to_vec();
        v2u[4] = 2;
        assert_eq!(agent.handle(&v2u), None);
        assert!(agent.handle(GET_SYS_DESCR).is_some());
    }
}
