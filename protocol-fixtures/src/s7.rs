//! A simulated Siemens S7 CPU on ISO-on-TCP (RFC 1006, TCP port 102): the COTP connection
//! (accepted or refused by called TSAP), S7 Setup Communication, and the SZL reads that identify
//! a CPU (0x0011 module identification, 0x001C component identification). Every other S7 job
//! (read, write, PLC control, ...) gets an error Ack_Data, so nothing a scanner sends reaches
//! memory or changes state.
//!
//! The encoder and decoder are written here from RFC 1006, ISO 8073 and the public descriptions
//! of the S7 PDU, independently of the scanner's codec, so each checks the other.
//!
//! One conversation per TCP connection, as a CPU holds it:
//! 1. TPKT + COTP Connection Request. A called TSAP the device accepts gets a Connection
//!    Confirm echoing the TSAPs and TPDU size; any other gets what [`TsapRefusal`] says (a
//!    Disconnect Request with a reason, then close, or just a close). A scanner reconnects for
//!    the next TSAP.
//! 2. Setup Communication: Ack_Data with the smaller of the requested and configured PDU length
//!    and AmQ, or, for a device configured with [`S7Behaviour::RefuseSetup`], an Ack_Data with
//!    that error class and code and no parameters.
//! 3. Userdata SZL reads: the configured lists, or error code 0xD401 with return code 0x0A
//!    (object does not exist) for a list the device does not have. A list longer than the
//!    negotiated PDU is cut to the whole records that fit, and its record count says so; with
//!    [`S7Quirk::DataUnits`] it is sent in data units instead, each further one on a follow-up
//!    request (method 0x12, type/group 0x44, read SZL, the unit's sequence number, data
//!    `0A 00 00 00`). [`S7Quirk::SzlHeader`] makes a list's header declare another record
//!    length or count than the records sent.
//!
//! Anything out of order (data before the connection, userdata before the setup, a second
//! Connection Request) closes the connection, as CPUs drop such peers. Every received TPKT is
//! recorded with the label [`PROTOCOL`] ([`Framing::Tpkt`]).

use std::{collections::BTreeMap, io, net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use crate::{
    device::{bind_loopback, DeviceHandle, ACCEPT_RETRY},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered ISO-TSAP port (TCP).
pub const PORT: u16 = 102;

/// The label S7 frames carry in [`crate::RecordedFrame::protocol`].
pub const PROTOCOL: &str = "s7";

/// The TPKT header length.
pub const TPKT_LEN: usize = 4;
/// Longest TPKT the device reads; a longer declared length closes the connection.
const MAX_TPKT: usize = 4096;

/// COTP PDU types (the high nibble of the second COTP byte).
pub mod cotp {
    /// Connection Request.
    pub const CR: u8 = 0xE0;
    /// Connection Confirm.
    pub const CC: u8 = 0xD0;
    /// Disconnect Request.
    pub const DR: u8 = 0x80;
    /// Data.
    pub const DT: u8 = 0xF0;
    /// Parameter: TPDU size.
    pub const PARAM_TPDU_SIZE: u8 = 0xC0;
    /// Parameter: calling TSAP.
    pub const PARAM_CALLING_TSAP: u8 = 0xC1;
    /// Parameter: called TSAP.
    pub const PARAM_CALLED_TSAP: u8 = 0xC2;
    /// Disconnect reason: address unknown.
    pub const REASON_ADDRESS_UNKNOWN: u8 = 0x03;
    /// Disconnect reason: connection request refused on this network connection.
    pub const REASON_REFUSED: u8 = 0x88;
}

/// S7 ROSCTR values (PDU types).
pub mod rosctr {
    /// Job request.
    pub const JOB: u8 = 0x01;
    /// Ack without data.
    pub const ACK: u8 = 0x02;
    /// Ack with data.
    pub const ACK_DATA: u8 = 0x03;
    /// Userdata (SZL reads, among others).
    pub const USERDATA: u8 = 0x07;
}

/// S7 job functions.
pub mod function {
    /// Setup Communication.
    pub const SETUP_COMMUNICATION: u8 = 0xF0;
    /// Read Var.
    pub const READ_VAR: u8 = 0x04;
    /// Write Var.
    pub const WRITE_VAR: u8 = 0x05;
}

/// S7 header error classes.
pub mod error_class {
    /// No error.
    pub const NONE: u8 = 0x00;
    /// Application relationship error.
    pub const APPLICATION_RELATIONSHIP: u8 = 0x81;
    /// Error in parameters.
    pub const PARAMETER: u8 = 0x85;
}

/// The userdata error code of a refused SZL read.
pub const SZL_NOT_AVAILABLE: u16 = 0xD401;
/// The data return code of a refused SZL read: object does not exist.
pub const RETURN_OBJECT_DOES_NOT_EXIST: u8 = 0x0A;
/// The data return code of a successful read.
pub const RETURN_SUCCESS: u8 = 0xFF;

/// SZL ids served.
pub mod szl_id {
    /// Module identification, all records.
    pub const MODULE_IDENTIFICATION: u16 = 0x0011;
    /// Component identification, all records.
    pub const COMPONENT_IDENTIFICATION: u16 = 0x001C;
}

/// Record indexes of SZL 0x0011.
pub mod module_index {
    /// The module.
    pub const MODULE: u16 = 1;
    /// Basic hardware.
    pub const BASIC_HARDWARE: u16 = 6;
    /// Basic firmware.
    pub const BASIC_FIRMWARE: u16 = 7;
}

/// Record indexes of SZL 0x001C.
pub mod component_index {
    /// Name of the automation system.
    pub const SYSTEM_NAME: u16 = 1;
    /// Name of the module.
    pub const MODULE_NAME: u16 = 2;
    /// Plant designation of the module.
    pub const PLANT_ID: u16 = 3;
    /// Copyright entry.
    pub const COPYRIGHT: u16 = 4;
    /// Serial number of the module.
    pub const SERIAL_NUMBER: u16 = 5;
    /// Module type name.
    pub const MODULE_TYPE_NAME: u16 = 7;
    /// Serial number of the memory card.
    pub const MEMORY_CARD_SERIAL: u16 = 8;
    /// Location designation.
    pub const LOCATION: u16 = 11;
}

/// Length of an SZL 0x0011 record.
pub const MODULE_RECORD_LEN: usize = 28;
/// Length of an SZL 0x001C record.
pub const COMPONENT_RECORD_LEN: usize = 34;
/// The BGTyp field of the plant's CPUs' module records.
pub const BG_TYPE_CPU: u16 = 0x00C0;

/// A TSAP from rack and slot: 0x0100 | rack << 5 | slot, the PG connection resource.
pub const fn tsap(rack: u8, slot: u8) -> u16 {
    0x0100 | (rack as u16) << 5 | slot as u16
}

/// One SZL 0x0011 record: index, 20-byte order number, BGTyp, Ausbg, Ausbe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRecord {
    /// The record index (see [`module_index`]).
    pub index: u16,
    /// The order number, space padded (or cut) to 20 bytes on the wire.
    pub order_number: Vec<u8>,
    /// Module type id.
    pub bg_type: u16,
    /// Ausbg: the release, or for the firmware record `'V'` then the major version.
    pub ausbg: u16,
    /// Ausbe: the second release word, or for the firmware record minor and patch versions.
    pub ausbe: u16,
}

impl ModuleRecord {
    /// The 28 bytes of the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.index.to_be_bytes().to_vec();
        let mut order = [b' '; 20];
        let len = self.order_number.len().min(20);
        order[..len].copy_from_slice(&self.order_number[..len]);
        out.extend_from_slice(&order);
        out.extend_from_slice(&self.bg_type.to_be_bytes());
        out.extend_from_slice(&self.ausbg.to_be_bytes());
        out.extend_from_slice(&self.ausbe.to_be_bytes());
        out
    }
}

/// One SZL 0x001C record: index and 32 bytes of text, NUL padded (or cut).
pub fn component_record(index: u16, text: &[u8]) -> Vec<u8> {
    let mut out = index.to_be_bytes().to_vec();
    let mut field = [0u8; 32];
    let len = text.len().min(32);
    field[..len].copy_from_slice(&text[..len]);
    out.extend_from_slice(&field);
    out
}

/// An SZL list as the device sends it: its record length and records, each padded with zeros
/// to the record length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SzlList {
    /// The declared (and actual) record length.
    pub record_len: u16,
    /// The records, each starting with its index.
    pub records: Vec<Vec<u8>>,
}

/// What a device does with a Connection Request for a TSAP it does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsapRefusal {
    /// A COTP Disconnect Request with this reason, then a clean close.
    Disconnect(u8),
    /// A clean close (FIN) without a word.
    Close,
}

/// How the device treats S7 requests once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S7Behaviour {
    /// An S7-300/400: setup and every configured SZL list answered.
    Classic,
    /// Setup answered with an error Ack_Data of this class and code (an S7-1200/1500 with
    /// PUT/GET access off); userdata then closes the connection.
    RefuseSetup {
        /// Error class (see [`error_class`]).
        class: u8,
        /// Error code.
        code: u8,
    },
    /// Setup answered; every SZL read refused (0xD401, return code 0x0A).
    RefuseSzl,
}

/// Quirks of real CPUs' SZL answers, as configuration of the one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S7Quirk {
    /// The SZL header of list `id` (0x0011, 0x001C) declares this record length (LENTHDR)
    /// and/or record count (N_DR) whatever records are sent: the records on the wire stay
    /// the true ones. Seen on S7-compatible CPUs and gateways whose headers were written for
    /// another layout.
    SzlHeader {
        /// The list.
        id: u16,
        /// The LENTHDR declared instead of the true record length.
        record_len: Option<u16>,
        /// The N_DR declared instead of the true record count.
        record_count: Option<u16>,
    },
    /// An SZL answer longer than the negotiated PDU is sent as a CPU does: in data units, the
    /// first with the SZL header (whose N_DR counts every record), each further one (raw
    /// bytes continuing the records, cut anywhere) only on a follow-up request that repeats
    /// the unit's sequence number. Without it the list is cut to the records that fit.
    DataUnits,
}

/// Identity and behaviour of a simulated S7 CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S7DeviceConfig {
    /// Called TSAPs that get a Connection Confirm.
    pub tsaps: Vec<u16>,
    /// What other TSAPs get.
    pub other_tsaps: TsapRefusal,
    /// The largest PDU length the device negotiates.
    pub pdu_length: u16,
    /// The largest AmQ (calling and called) the device negotiates.
    pub max_amq: u16,
    /// SZL lists by id (0x0011, 0x001C, ...); a partial list id (0x0111, 0x011C) reads the
    /// record of the requested index from the same list.
    pub szl: BTreeMap<u16, SzlList>,
    /// How requests are treated.
    pub behaviour: S7Behaviour,
    /// Quirks of the SZL answers.
    pub quirks: Vec<S7Quirk>,
}

impl Default for S7DeviceConfig {
    /// A classic CPU on TSAP 0x0102 with no SZL lists, PDU length 240.
    fn default() -> Self {
        Self {
            tsaps: vec![tsap(0, 2)],
            other_tsaps: TsapRefusal::Disconnect(cotp::REASON_ADDRESS_UNKNOWN),
            pdu_length: 240,
            max_amq: 1,
            szl: BTreeMap::new(),
            behaviour: S7Behaviour::Classic,
            quirks: Vec::new(),
        }
    }
}

impl S7DeviceConfig {
    /// A classic CPU on TSAP 0x0102 (rack 0, slot 2), PDU length 240, other TSAPs refused with
    /// a Disconnect Request (address unknown), no SZL lists yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts exactly these called TSAPs.
    #[must_use]
    pub fn with_tsaps(mut self, tsaps: impl IntoIterator<Item = u16>) -> Self {
        self.tsaps = tsaps.into_iter().collect();
        self
    }

    /// Sets what other TSAPs get.
    #[must_use]
    pub fn with_other_tsaps(mut self, refusal: TsapRefusal) -> Self {
        self.other_tsaps = refusal;
        self
    }

    /// Sets the largest PDU length the device negotiates.
    #[must_use]
    pub fn with_pdu_length(mut self, pdu_length: u16) -> Self {
        self.pdu_length = pdu_length;
        self
    }

    /// Adds a quirk.
    #[must_use]
    pub fn with_quirk(mut self, quirk: S7Quirk) -> Self {
        self.quirks.push(quirk);
        self
    }

    /// Sets the behaviour.
    #[must_use]
    pub fn with_behaviour(mut self, behaviour: S7Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// Adds a record to the list `id` (created with `record_len`), replacing one of the same
    /// index; records are sent in index order.
    #[must_use]
    pub fn with_szl_record(mut self, id: u16, record_len: u16, record: Vec<u8>) -> Self {
        let list = self.szl.entry(id).or_insert_with(|| SzlList {
            record_len,
            records: Vec::new(),
        });
        list.records.retain(|r| r.get(..2) != record.get(..2));
        list.records.push(record);
        list.records.sort_by(|a, b| a.get(..2).cmp(&b.get(..2)));
        self
    }

    fn with_module_record(self, record: ModuleRecord) -> Self {
        let record_len = self
            .szl
            .get(&szl_id::MODULE_IDENTIFICATION)
            .map_or(MODULE_RECORD_LEN as u16, |l| l.record_len);
        self.with_szl_record(szl_id::MODULE_IDENTIFICATION, record_len, record.encode())
    }

    /// SZL 0x0011 index 1: the module's order number and release (Ausbg), Ausbe 1.
    #[must_use]
    pub fn with_module(self, order_number: &str, release: u16) -> Self {
        self.with_module_record(ModuleRecord {
            index: module_index::MODULE,
            order_number: order_number.as_bytes().to_vec(),
            bg_type: BG_TYPE_CPU,
            ausbg: release,
            ausbe: 1,
        })
    }

    /// SZL 0x0011 index 6: basic hardware order number and release (Ausbg), Ausbe 1.
    #[must_use]
    pub fn with_basic_hardware(self, order_number: &str, release: u16) -> Self {
        self.with_module_record(ModuleRecord {
            index: module_index::BASIC_HARDWARE,
            order_number: order_number.as_bytes().to_vec(),
            bg_type: BG_TYPE_CPU,
            ausbg: release,
            ausbe: 1,
        })
    }

    /// SZL 0x0011 index 7: basic firmware version V`major`.`minor`.`patch`, blank order number
    /// (Ausbg is `'V'` and the major version, Ausbe the minor and patch).
    #[must_use]
    pub fn with_basic_firmware(self, major: u8, minor: u8, patch: u8) -> Self {
        self.with_module_record(ModuleRecord {
            index: module_index::BASIC_FIRMWARE,
            order_number: Vec::new(),
            bg_type: BG_TYPE_CPU,
            ausbg: u16::from_be_bytes([b'V', major]),
            ausbe: u16::from_be_bytes([minor, patch]),
        })
    }

    /// Declares and sends SZL 0x0011 records `record_len` bytes long (the standard is 28): longer
    /// records end in zero bytes. Honest, but not what most parsers expect.
    #[must_use]
    pub fn with_module_record_len(mut self, record_len: u16) -> Self {
        self.szl
            .entry(szl_id::MODULE_IDENTIFICATION)
            .or_insert_with(|| SzlList {
                record_len,
                records: Vec::new(),
            })
            .record_len = record_len;
        self
    }

    /// SZL 0x001C record `index` (see [`component_index`]) with this text.
    #[must_use]
    pub fn with_component(self, index: u16, text: impl AsRef<[u8]>) -> Self {
        self.with_szl_record(
            szl_id::COMPONENT_IDENTIFICATION,
            COMPONENT_RECORD_LEN as u16,
            component_record(index, text.as_ref()),
        )
    }

    /// The data of the SZL answer for `id` and `index` (return code, transport size, length,
    /// header, records) cut to the whole records that fit `room` bytes, `None` when the
    /// device does not have it.
    pub(crate) fn szl_data(&self, id: u16, index: u16, room: usize) -> Option<Vec<u8>> {
        let (list, records) = self.szl_records(id, index)?;
        let record_len = usize::from(list.record_len);
        // Header 8 bytes after the 4 of the data item; whole records that fit.
        let fit = room.saturating_sub(12) / record_len.max(1);
        let records = &records[..records.len().min(fit)];
        Some(data_item(
            RETURN_SUCCESS,
            0x09,
            &self.szl_bytes(id, index, list, records),
        ))
    }

    /// The data items of the SZL answer for `id` and `index`, one per data unit of at most
    /// `room` bytes: with [`S7Quirk::DataUnits`] the whole list in as many units as it takes,
    /// otherwise one unit cut to the records that fit (see [`S7DeviceConfig::szl_data`]).
    pub(crate) fn szl_units(&self, id: u16, index: u16, room: usize) -> Option<Vec<Vec<u8>>> {
        if !self.quirks.contains(&S7Quirk::DataUnits) {
            return self.szl_data(id, index, room).map(|d| vec![d]);
        }
        let (list, records) = self.szl_records(id, index)?;
        let bytes = self.szl_bytes(id, index, list, &records);
        let unit = room.saturating_sub(4).max(1);
        Some(
            bytes
                .chunks(unit)
                .map(|chunk| data_item(RETURN_SUCCESS, 0x09, chunk))
                .collect(),
        )
    }

    fn szl_records(&self, id: u16, index: u16) -> Option<(&SzlList, Vec<&Vec<u8>>)> {
        if self.behaviour == S7Behaviour::RefuseSzl {
            return None;
        }
        let list = self.szl.get(&(id & 0x00FF))?;
        let records: Vec<&Vec<u8>> = match id >> 8 {
            0x00 => list.records.iter().collect(),
            0x01 => list
                .records
                .iter()
                .filter(|r| r.get(..2) == Some(&index.to_be_bytes()[..]))
                .collect(),
            _ => return None,
        };
        Some((list, records))
    }

    /// The SZL header (as declared, quirks applied) and `records`, each padded to the
    /// list's true record length.
    fn szl_bytes(&self, id: u16, index: u16, list: &SzlList, records: &[&Vec<u8>]) -> Vec<u8> {
        let (mut declared_len, mut declared_count) = (list.record_len, records.len() as u16);
        for quirk in &self.quirks {
            if let S7Quirk::SzlHeader {
                id: quirk_id,
                record_len,
                record_count,
            } = *quirk
            {
                if quirk_id == id & 0x00FF {
                    declared_len = record_len.unwrap_or(declared_len);
                    declared_count = record_count.unwrap_or(declared_count);
                }
            }
        }
        let mut szl = id.to_be_bytes().to_vec();
        szl.extend_from_slice(&index.to_be_bytes());
        szl.extend_from_slice(&declared_len.to_be_bytes());
        szl.extend_from_slice(&declared_count.to_be_bytes());
        for record in records {
            let mut record = record.to_vec();
            record.resize(usize::from(list.record_len), 0);
            szl.extend_from_slice(&record);
        }
        szl
    }
}

/// A data item: return code, transport size, length, data.
pub(crate) fn data_item(return_code: u8, transport_size: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![return_code, transport_size];
    out.extend_from_slice(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(data);
    out
}

// ---------------------------------------------------------------------------
// Encoding, shared with the hostile devices

/// A TPKT around a COTP PDU.
pub(crate) fn tpkt(cotp: &[u8]) -> Vec<u8> {
    let length = u16::try_from(cotp.len() + TPKT_LEN).unwrap_or(u16::MAX);
    let mut out = vec![3, 0];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(cotp);
    out
}

/// A TPKT + COTP DT carrying an S7 PDU.
pub(crate) fn dt(s7: &[u8]) -> Vec<u8> {
    tpkt(&[&[2, cotp::DT, 0x80][..], s7].concat())
}

/// An S7 header and its parameters and data; ack types carry the error class and code.
pub(crate) fn s7_pdu(
    rosctr: u8,
    pdu_ref: u16,
    error: Option<(u8, u8)>,
    params: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let mut out = vec![0x32, rosctr, 0, 0];
    out.extend_from_slice(&pdu_ref.to_be_bytes());
    out.extend_from_slice(&(params.len() as u16).to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if let Some((class, code)) = error {
        out.extend_from_slice(&[class, code]);
    }
    out.extend_from_slice(params);
    out.extend_from_slice(data);
    out
}

/// A userdata PDU (no error class or code in its header).
fn userdata_pdu(pdu_ref: u16, params: &[u8], data: &[u8]) -> Vec<u8> {
    s7_pdu(rosctr::USERDATA, pdu_ref, None, params, data)
}

/// The parameters of an SZL userdata response with this error code.
pub(crate) fn szl_response_params(sequence: u8, error_code: u16) -> Vec<u8> {
    szl_unit_params(sequence, 0, false, error_code)
}

/// The parameters of one data unit of an SZL answer: sequence number, data unit reference,
/// the last-data-unit byte (0x01 when `more` follow, else 0x00) and the error code.
pub(crate) fn szl_unit_params(sequence: u8, unit_ref: u8, more: bool, error_code: u16) -> Vec<u8> {
    let mut out = vec![
        0x00,
        0x01,
        0x12,
        0x08,
        0x12,
        0x84,
        0x01,
        sequence,
        unit_ref,
        u8::from(more),
    ];
    out.extend_from_slice(&error_code.to_be_bytes());
    out
}

/// A Connection Confirm answering the Connection Request `cr` (a whole TPKT): references
/// swapped, every parameter echoed.
pub(crate) fn connection_confirm(cr: &Cr<'_>, own_ref: u16) -> Vec<u8> {
    let mut cotp = vec![0, cotp::CC];
    cotp.extend_from_slice(&cr.src_ref.to_be_bytes());
    cotp.extend_from_slice(&own_ref.to_be_bytes());
    cotp.push(0); // class 0
    cotp.extend_from_slice(cr.params);
    cotp[0] = (cotp.len() - 1) as u8;
    tpkt(&cotp)
}

fn disconnect_request(cr: &Cr<'_>, own_ref: u16, reason: u8) -> Vec<u8> {
    let mut cotp = vec![6, cotp::DR];
    cotp.extend_from_slice(&cr.src_ref.to_be_bytes());
    cotp.extend_from_slice(&own_ref.to_be_bytes());
    cotp.push(reason);
    tpkt(&cotp)
}

// ---------------------------------------------------------------------------
// Decoding, shared with the hostile devices

/// A parsed COTP Connection Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cr<'a> {
    pub(crate) src_ref: u16,
    pub(crate) called_tsap: Option<u16>,
    /// The raw parameter block, echoed in the Connection Confirm.
    pub(crate) params: &'a [u8],
}

/// What one TPKT carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tpdu<'a> {
    Cr(Cr<'a>),
    /// A DT with its S7 PDU.
    Data(&'a [u8]),
    Disconnect,
    Other,
}

/// The COTP PDU of a whole TPKT frame.
pub(crate) fn parse_tpkt(frame: &[u8]) -> Option<Tpdu<'_>> {
    let [3, _, hi, lo, li, kind, ..] = *frame else {
        return None;
    };
    if usize::from(u16::from_be_bytes([hi, lo])) != frame.len() {
        return None;
    }
    let header = frame.get(5..5 + usize::from(li))?;
    Some(match kind & 0xF0 {
        cotp::CR => {
            let fixed = header.get(..6)?;
            let params = &header[6..];
            let mut called = None;
            let mut rest = params;
            while let [code, len, ..] = *rest {
                let value = rest.get(2..2 + usize::from(len))?;
                if code == cotp::PARAM_CALLED_TSAP && value.len() == 2 {
                    called = Some(u16::from_be_bytes([value[0], value[1]]));
                }
                rest = &rest[2 + usize::from(len)..];
            }
            Tpdu::Cr(Cr {
                src_ref: u16::from_be_bytes([fixed[3], fixed[4]]),
                called_tsap: called,
                params,
            })
        }
        cotp::DT => Tpdu::Data(&frame[5 + usize::from(li)..]),
        cotp::DR => Tpdu::Disconnect,
        _ => Tpdu::Other,
    })
}

/// A parsed S7 request: ROSCTR, PDU reference, parameters, data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct S7Request<'a> {
    pub(crate) rosctr: u8,
    pub(crate) pdu_ref: u16,
    pub(crate) params: &'a [u8],
    pub(crate) data: &'a [u8],
}

pub(crate) fn parse_s7(pdu: &[u8]) -> Option<S7Request<'_>> {
    let [0x32, rosctr, _, _, r0, r1, p0, p1, d0, d1, ..] = *pdu else {
        return None;
    };
    let header = if matches!(rosctr, rosctr::ACK | rosctr::ACK_DATA) {
        12
    } else {
        10
    };
    let params_len = usize::from(u16::from_be_bytes([p0, p1]));
    let data_len = usize::from(u16::from_be_bytes([d0, d1]));
    let params = pdu.get(header..header + params_len)?;
    let data = pdu.get(header + params_len..header + params_len + data_len)?;
    Some(S7Request {
        rosctr,
        pdu_ref: u16::from_be_bytes([r0, r1]),
        params,
        data,
    })
}

/// A Setup Communication job's AmQ calling, AmQ called and PDU length.
pub(crate) fn parse_setup(request: &S7Request<'_>) -> Option<(u16, u16, u16)> {
    let [function::SETUP_COMMUNICATION, _, a0, a1, b0, b1, l0, l1] = *request.params else {
        return None;
    };
    Some((
        u16::from_be_bytes([a0, a1]),
        u16::from_be_bytes([b0, b1]),
        u16::from_be_bytes([l0, l1]),
    ))
}

/// An SZL read request: sequence number, SZL id, index.
pub(crate) fn parse_szl_read(request: &S7Request<'_>) -> Option<(u8, u16, u16)> {
    let (&[head0, head1, head2, _, method, type_group, subfunction, sequence], _) =
        request.params.split_first_chunk::<8>()?;
    if [head0, head1, head2] != [0x00, 0x01, 0x12] {
        return None;
    }
    // A request (method 0x11, type 4) in the CPU functions group (4), read SZL (1).
    if method != 0x11 || type_group != 0x44 || subfunction != 0x01 {
        return None;
    }
    let [_, _, _, _, i0, i1, x0, x1, ..] = *request.data else {
        return None;
    };
    Some((
        sequence,
        u16::from_be_bytes([i0, i1]),
        u16::from_be_bytes([x0, x1]),
    ))
}

/// An SZL follow-up request (method 0x12, type request | CPU functions, read SZL, parameter
/// length 8, data return code 0x0A): the sequence number of the answer it continues.
pub(crate) fn parse_szl_next(request: &S7Request<'_>) -> Option<u8> {
    let (&[0x00, 0x01, 0x12, 0x08, 0x12, 0x44, 0x01, sequence], _) =
        request.params.split_first_chunk::<8>()?
    else {
        return None;
    };
    (request.data.first() == Some(&0x0A)).then_some(sequence)
}

// ---------------------------------------------------------------------------
// The device

/// A simulated S7 CPU.
#[derive(Debug)]
pub struct S7Device;

impl S7Device {
    /// Starts serving `config` on TCP `addr` (loopback only; port 0 picks a free port), one
    /// conversation per connection, any number of connections one after the other (or at
    /// once), recording every received TPKT in `recorder`.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: S7DeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        let local_addr = listener.local_addr()?;
        let config = Arc::new(config);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            // Dropping the set when this task ends closes every connection it still holds.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            let Ok(stream) = recorder.wrap_tcp(stream, Framing::Tpkt) else {
                                continue;
                            };
                            connections.spawn(serve_connection(stream, config.clone()));
                        }
                        Err(err) => {
                            tracing::debug!(%local_addr, %err, "s7 fixture accept failed");
                            tokio::time::sleep(ACCEPT_RETRY).await;
                        }
                    },
                }
            }
        });
        Ok(DeviceHandle::new(local_addr, cancel, task))
    }
}

/// Reads one whole TPKT; `None` at the end of the stream or on an implausible header.
async fn read_tpkt(stream: &mut RecordingStream<TcpStream>) -> Option<Vec<u8>> {
    let mut header = [0u8; TPKT_LEN];
    stream.read_exact(&mut header).await.ok()?;
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if header[0] != 3 || !(TPKT_LEN + 2..=MAX_TPKT).contains(&length) {
        return None;
    }
    let mut frame = vec![0u8; length];
    frame[..TPKT_LEN].copy_from_slice(&header);
    stream.read_exact(&mut frame[TPKT_LEN..]).await.ok()?;
    Some(frame)
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unconnected,
    Connected,
    /// Set up, with the negotiated PDU length.
    Ready(u16),
}

/// The device's COTP source reference.
const OWN_REF: u16 = 0x0001;

/// The data units of an SZL answer still to be sent, each on a follow-up request.
#[derive(Debug, Default)]
struct PendingUnits {
    /// Sequence number of the answer being sent (the device's own, not the request's).
    sequence: u8,
    /// Data unit reference of the next unit.
    next_ref: u8,
    /// Data items of the units still to send.
    units: std::collections::VecDeque<Vec<u8>>,
}

/// Serves one connection until the peer leaves or the conversation goes out of order.
async fn serve_connection(mut stream: RecordingStream<TcpStream>, config: Arc<S7DeviceConfig>) {
    let mut state = State::Unconnected;
    let mut pending = PendingUnits::default();
    while let Some(frame) = read_tpkt(&mut stream).await {
        let Some(tpdu) = parse_tpkt(&frame) else {
            return;
        };
        let reply = match (tpdu, state) {
            (Tpdu::Cr(cr), State::Unconnected) => {
                let accepted = cr.called_tsap.is_some_and(|t| config.tsaps.contains(&t));
                if accepted {
                    state = State::Connected;
                    connection_confirm(&cr, OWN_REF)
                } else {
                    if let TsapRefusal::Disconnect(reason) = config.other_tsaps {
                        let _ = stream
                            .write_all(&disconnect_request(&cr, OWN_REF, reason))
                            .await;
                    }
                    let _ = stream.shutdown().await;
                    return;
                }
            }
            (Tpdu::Data(pdu), State::Connected | State::Ready(_)) => {
                match answer(&config, &mut state, &mut pending, pdu) {
                    Some(reply) => dt(&reply),
                    None => return,
                }
            }
            _ => return,
        };
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// The S7 PDU answering `pdu`; `None` closes the connection.
fn answer(
    config: &S7DeviceConfig,
    state: &mut State,
    pending: &mut PendingUnits,
    pdu: &[u8],
) -> Option<Vec<u8>> {
    let request = parse_s7(pdu)?;
    match request.rosctr {
        rosctr::JOB => {
            if let Some((calling, called, length)) = parse_setup(&request) {
                if let S7Behaviour::RefuseSetup { class, code } = config.behaviour {
                    return Some(s7_pdu(
                        rosctr::ACK_DATA,
                        request.pdu_ref,
                        Some((class, code)),
                        &[],
                        &[],
                    ));
                }
                let length = length.min(config.pdu_length);
                *state = State::Ready(length);
                let mut params = vec![function::SETUP_COMMUNICATION, 0];
                params.extend_from_slice(&calling.min(config.max_amq).to_be_bytes());
                params.extend_from_slice(&called.min(config.max_amq).to_be_bytes());
                params.extend_from_slice(&length.to_be_bytes());
                return Some(s7_pdu(
                    rosctr::ACK_DATA,
                    request.pdu_ref,
                    Some((0, 0)),
                    &params,
                    &[],
                ));
            }
            // Nothing else is served: reads, writes and control all get an error.
            Some(s7_pdu(
                rosctr::ACK_DATA,
                request.pdu_ref,
                Some((error_class::APPLICATION_RELATIONSHIP, 0x04)),
                &[],
                &[],
            ))
        }
        rosctr::USERDATA => {
            let State::Ready(pdu_length) = *state else {
                return None;
            };
            if let Some(sequence) = parse_szl_next(&request) {
                // The next unit of the answer being sent; a follow-up for another sequence,
                // or with nothing pending, is refused.
                let (params, data) = match pending.units.pop_front() {
                    Some(data) if sequence == pending.sequence => {
                        let unit_ref = pending.next_ref;
                        pending.next_ref = pending.next_ref.wrapping_add(1);
                        let more = !pending.units.is_empty();
                        (szl_unit_params(sequence, unit_ref, more, 0), data)
                    }
                    _ => {
                        pending.units.clear();
                        (
                            szl_response_params(sequence, SZL_NOT_AVAILABLE),
                            data_item(RETURN_OBJECT_DOES_NOT_EXIST, 0, &[]),
                        )
                    }
                };
                return Some(userdata_pdu(request.pdu_ref, &params, &data));
            }
            let Some((sequence, id, index)) = parse_szl_read(&request) else {
                // Another userdata function: not available.
                let params = szl_response_params(0, 0x8104);
                let data = data_item(RETURN_OBJECT_DOES_NOT_EXIST, 0, &[]);
                return Some(userdata_pdu(request.pdu_ref, &params, &data));
            };
            // Room for the data after the 10-byte header and 12 bytes of parameters.
            let room = usize::from(pdu_length).saturating_sub(22);
            let (params, data) = match config.szl_units(id, index, room) {
                Some(mut units) if units.len() > 1 => {
                    // The device numbers its multi-unit answers itself.
                    let first = units.remove(0);
                    pending.sequence = pending.sequence.wrapping_add(1).max(1);
                    pending.next_ref = 2;
                    pending.units = units.into();
                    (szl_unit_params(pending.sequence, 1, true, 0), first)
                }
                Some(units) => (
                    szl_response_params(sequence, 0),
                    units.into_iter().next().unwrap_or_default(),
                ),
                None => (
                    szl_response_params(sequence, SZL_NOT_AVAILABLE),
                    data_item(RETURN_OBJECT_DOES_NOT_EXIST, 0, &[]),
                ),
            };
            Some(userdata_pdu(request.pdu_ref, &params, &data))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_padded_and_cut() {
        let module = ModuleRecord {
            index: 1,
            order_number: b"6ES7 315-2EH14-0AB0".to_vec(),
            bg_type: BG_TYPE_CPU,
            ausbg: 4,
            ausbe: 1,
        }
        .encode();
        assert_eq!(module.len(), MODULE_RECORD_LEN);
        assert_eq!(&module[2..22], b"6ES7 315-2EH14-0AB0 ");
        assert_eq!(&module[22..], [0x00, 0xC0, 0, 4, 0, 1]);
        let component = component_record(5, &[b'x'; 40]);
        assert_eq!(component.len(), COMPONENT_RECORD_LEN);
        assert_eq!(tsap(0, 2), 0x0102);
        assert_eq!(tsap(0, 3), 0x0103);
    }

    #[test]
    fn lists_are_cut_to_whole_records_that_fit() {
        let config = (1..=8u16).fold(S7DeviceConfig::new(), |c, i| {
            c.with_component(i, format!("text {i}"))
        });
        let data = config
            .szl_data(szl_id::COMPONENT_IDENTIFICATION, 0, 240 - 22)
            .unwrap();
        // 218 bytes of room: 12 of headers and 6 records of 34.
        assert_eq!(&data[..4], [0xFF, 0x09, 0, 8 + 6 * 34]);
        assert_eq!(&data[10..12], [0, 6]);
        let one = config.szl_data(0x011C, 5, 218).unwrap();
        assert_eq!(&data[10..12], [0, 6]);
        assert_eq!(&one[12..14], [0, 5]);
        assert_eq!(one.len(), 12 + 34);
        assert!(config.szl_data(0x0011, 0, 218).is_none());
    }

    #[test]
    fn quirks_lie_in_the_header_and_split_long_lists() {
        let config = (1..=10u16)
            .fold(S7DeviceConfig::new(), |c, i| {
                c.with_component(i, format!("text {i}"))
            })
            .with_quirk(S7Quirk::SzlHeader {
                id: szl_id::COMPONENT_IDENTIFICATION,
                record_len: Some(0),
                record_count: Some(1),
            });
        // The header lies, the records are the true ones, cut to what fits.
        let data = config.szl_data(0x001C, 0, 218).unwrap();
        assert_eq!(&data[8..12], [0, 0, 0, 1]);
        assert_eq!(data.len(), 4 + 8 + 6 * 34);
        assert_eq!(config.szl_units(0x001C, 0, 218).unwrap(), [data]);
        // In data units: the whole list (348 bytes) in units of 214, header in the first.
        let config = config.with_quirk(S7Quirk::DataUnits);
        let units = config.szl_units(0x001C, 0, 218).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(&units[0][..4], [0xFF, 0x09, 0, 214]);
        assert_eq!(&units[1][..4], [0xFF, 0x09, 0, 134]);
        assert_eq!(&units[0][4..6], [0x00, 0x1C]);
        let params = szl_unit_params(3, 1, true, 0);
        assert_eq!(params, [0, 1, 0x12, 8, 0x12, 0x84, 1, 3, 1, 1, 0, 0]);
        let next = [
            0x32, 0x07, 0, 0, 0, 9, 0, 12, 0, 4, 0x00, 0x01, 0x12, 0x08, 0x12, 0x44, 0x01, 0x03, 0,
            0, 0, 0, 0x0A, 0, 0, 0,
        ];
        assert_eq!(parse_s7(&next).as_ref().and_then(parse_szl_next), Some(3));
        let first = [
            0x32, 0x07, 0, 0, 0, 9, 0, 8, 0, 8, 0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00,
            0xFF, 0x09, 0, 4, 0, 0x1C, 0, 0,
        ];
        assert_eq!(parse_s7(&first).as_ref().and_then(parse_szl_next), None);
    }

    #[test]
    fn connection_request_is_parsed_and_confirmed() {
        let cr = tpkt(&[
            0x11, 0xE0, 0x00, 0x00, 0x00, 0x2A, 0x00, 0xC0, 0x01, 0x0A, 0xC1, 0x02, 0x01, 0x00,
            0xC2, 0x02, 0x01, 0x02,
        ]);
        let Some(Tpdu::Cr(parsed)) = parse_tpkt(&cr) else {
            panic!("{cr:02x?}");
        };
        assert_eq!((parsed.src_ref, parsed.called_tsap), (0x2A, Some(0x0102)));
        let cc = connection_confirm(&parsed, OWN_REF);
        assert_eq!(&cc[..10], [3, 0, 0, 22, 0x11, 0xD0, 0x00, 0x2A, 0x00, 0x01]);
        assert_eq!(&cc[11..], &cr[11..]);
    }
}
