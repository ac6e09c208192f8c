//! MELSEC SLMP / MC protocol 3E binary frames, sans IO: the one request otscan can
//! spell (Read CPU Model Name, command 0x0101 subcommand 0x0000) and its reply.
//!
//! Request (binary, little-endian numbers), 15 bytes:
//!
//! | bytes | field | value |
//! |---|---|---|
//! | 2 | subheader | `50 00` |
//! | 1 | network No. | `00` (own network) |
//! | 1 | PC No. (station No.) | `FF` (the station connected to) |
//! | 2 | request destination module I/O No. | `FF 03` (0x03FF: own station's CPU) |
//! | 1 | request destination module station No. | `00` |
//! | 2 | request data length | `06 00`: bytes from the monitoring timer on |
//! | 2 | monitoring timer | `10 00`: 16 x 250 ms = 4 s |
//! | 2 | command | `01 01` (0x0101) |
//! | 2 | subcommand | `00 00` |
//!
//! Response: subheader `D0 00`, the request's four routing fields echoed, response
//! data length (bytes from the end code on), end code (0 = normal), then for a normal
//! Read CPU Model Name 16 bytes of model name (ASCII, space padded) and the model code
//! (u16). An abnormal response carries 9 bytes of error information instead (the
//! routing fields, command and subcommand of the request that failed).
//!
//! Sources (facts only): the SLMP reference manual's frame layout as documented by the
//! open implementations pymcprotocol (`type3e.py`, `read_cputype`), Amazon's
//! shopfloor-connectivity SLMP adapter (end codes) and an MIT-licensed SLMP constants
//! table (model codes); Mitsubishi's NZ2MFB2 manual (end codes C059/C05C/C061/CEE1).
//! 3E frames carry no serial number: a reply is tied to the request by its echoed
//! routing fields only (the 4E frame's serial is not used).

use crate::protocols::wire::{Cursor, FrameCheck, Truncated};
use crate::record::fields::DeviceText;

/// Request subheader of a 3E binary frame.
pub const SUBHEADER_REQUEST: [u8; 2] = [0x50, 0x00];
/// Response subheader of a 3E binary frame.
pub const SUBHEADER_RESPONSE: [u8; 2] = [0xD0, 0x00];
/// Bytes before the data: subheader, routing (5 bytes) and the data length.
pub const HEADER_LEN: usize = 9;
/// Read CPU Model Name (SLMP "Read Type Name").
pub const COMMAND_READ_CPU_MODEL_NAME: u16 = 0x0101;
/// Monitoring timer sent: 0x0010 units of 250 ms, 4 s for the CPU to answer.
pub const MONITORING_TIMER: u16 = 0x0010;
/// Length of the model name field in a normal reply.
pub const MODEL_NAME_LEN: usize = 16;
/// Bytes of error information after a non-zero end code.
pub const ERROR_INFO_LEN: usize = 9;
/// Largest reply accepted: a normal Read CPU Model Name reply is 29 bytes, an abnormal
/// one 20; anything past this cap is not an answer to it.
pub const MAX_REPLY_LEN: usize = 512;

/// The closed set of MELSEC requests otscan can encode: only Read CPU Model Name.
/// Remote RUN/STOP/PAUSE (0x1001-0x1003), device writes (0x1401...), remote password
/// and file commands share the frame and cannot be spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// Command 0x0101, subcommand 0x0000, no request data.
    ReadCpuModelName,
}

/// The four routing fields of a 3E frame (the "access route"), echoed by the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Network No.
    pub network: u8,
    /// PC No. (station No. on the network; 0xFF = the station connected to).
    pub pc: u8,
    /// Request destination module I/O No. (0x03FF = own station's CPU).
    pub module_io: u16,
    /// Request destination module station No. (multidrop).
    pub station: u8,
}

impl Route {
    /// The route otscan sends: the CPU of the station connected to.
    pub const OWN_STATION: Route = Route {
        network: 0x00,
        pc: 0xFF,
        module_io: 0x03FF,
        station: 0x00,
    };

    fn read(cursor: &mut Cursor<'_>) -> Result<Route, Truncated> {
        Ok(Route {
            network: cursor.u8("network No.")?,
            pc: cursor.u8("PC No.")?,
            module_io: cursor.u16_le("request destination module I/O No.")?,
            station: cursor.u8("request destination module station No.")?,
        })
    }
}

/// Encodes `request` as a 3E binary frame. A 3E frame has no field for a correlation
/// number, so `correlation` is not sent (replies are matched by their echoed route).
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let _ = correlation;
    let (command, subcommand): (u16, u16) = match request {
        Request::ReadCpuModelName => (COMMAND_READ_CPU_MODEL_NAME, 0x0000),
    };
    let route = Route::OWN_STATION;
    let mut out = Vec::with_capacity(HEADER_LEN + 6);
    out.extend_from_slice(&SUBHEADER_REQUEST);
    out.push(route.network);
    out.push(route.pc);
    out.extend_from_slice(&route.module_io.to_le_bytes());
    out.push(route.station);
    // Request data length: monitoring timer, command and subcommand.
    out.extend_from_slice(&6u16.to_le_bytes());
    out.extend_from_slice(&MONITORING_TIMER.to_le_bytes());
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&subcommand.to_le_bytes());
    out
}

/// Why reply bytes are not a 3E answer to Read CPU Model Name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a field needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The bytes are a 3E request (subheader `50 00`): the device echoed what it got.
    #[error("the reply is a 3E request (subheader 50 00): an echo of the request")]
    Echo,
    /// A subheader other than the 3E binary response's `D0 00` (a 4E frame, ASCII
    /// code, or another protocol).
    #[error("subheader {0:02x} {1:02x} is not a 3E binary response (d0 00)")]
    WrongSubheader(u8, u8),
    /// The response data length cannot even hold the end code.
    #[error("response data length {0} is shorter than the 2-byte end code")]
    NoEndCode(u16),
    /// The response data length announces more bytes than the reply holds.
    #[error("response data length announces {declared} bytes, {available} present")]
    LyingLength {
        /// Bytes announced.
        declared: usize,
        /// Bytes present after the header.
        available: usize,
    },
    /// The frame is longer than [`MAX_REPLY_LEN`].
    #[error("reply of {0} bytes is larger than the {MAX_REPLY_LEN}-byte cap")]
    Oversized(usize),
    /// A normal end code, but fewer than 16 bytes of model name.
    #[error("normal end code but only {0} bytes of model name (16 expected)")]
    ModelNameTruncated(usize),
    /// The reply's routing fields do not echo the request's: it answers another request.
    #[error(
        "reply route (network {network:#04x}, PC {pc:#04x}, I/O {module_io:#06x}, station {station:#04x}) does not echo the request's"
    )]
    WrongRoute {
        /// Network No. in the reply.
        network: u8,
        /// PC No. in the reply.
        pc: u8,
        /// Module I/O No. in the reply.
        module_io: u16,
        /// Module station No. in the reply.
        station: u8,
    },
}

impl From<Truncated> for ParseError {
    fn from(t: Truncated) -> Self {
        ParseError::Truncated {
            what: t.what,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// The error information of an abnormal response: where the failed request went and
/// what it asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInformation {
    /// The failed request's route.
    pub route: Route,
    /// Its command.
    pub command: u16,
    /// Its subcommand.
    pub subcommand: u16,
}

/// What a normal Read CPU Model Name reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuModel {
    /// The model name field as sent (16 bytes, space padded), e.g. "Q03UDVCPU       ".
    pub name: DeviceText,
    /// The model code after it (e.g. 0x0366 for Q03UDVCPU); `None` when the reply
    /// ends after the name.
    pub code: Option<u16>,
}

/// A parsed 3E response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The routing fields the reply carries (echoing the request's).
    pub route: Route,
    /// End code: 0 normal, anything else an error the device names.
    pub end_code: u16,
    /// The CPU model, for a normal reply.
    pub model: Option<CpuModel>,
    /// The error information, for an abnormal reply that carries it.
    pub error_information: Option<ErrorInformation>,
    /// Oddities accepted while decoding.
    pub warnings: Vec<String>,
}

impl Reply {
    /// True when the end code is not 0.
    pub fn is_error(&self) -> bool {
        self.end_code != 0
    }
}

/// Name of a common end code (SLMP reference manual's end code table, as the public
/// sources above give it); `None` for codes otscan does not know.
pub fn end_code_name(code: u16) -> Option<&'static str> {
    Some(match code {
        0x0000 => "normal completion",
        0xC050 => "ASCII data that cannot be converted to binary",
        0xC051..=0xC054 => "number of device points out of range",
        0xC056 => "request beyond the largest device address",
        0xC058 => "request data length after ASCII conversion does not match the data",
        0xC059 => "command or subcommand not supported",
        0xC05B => "the CPU cannot read or write the device",
        0xC05C => "error in the request contents",
        0xC05F => "request cannot be executed on the target CPU",
        0xC060 => "error in the request contents (bit device data)",
        0xC061 => "request data length does not match the data",
        0xC06F => "ASCII request received while set to binary",
        0xC0D8 => "too many blocks",
        0xC200 => "remote password error",
        0xC201 => "the port is locked by a remote password",
        0xC204 => "another device asked to unlock the remote password",
        0xC810 | 0xC815 => "remote password authentication failed",
        0xC816 => "remote password authentication locked out",
        0xCEE0 => "busy with a request from another device",
        0xCEE1 => "request message too large",
        0xCEE2 => "response message too large",
        0x4000..=0x4FFF => "error detected by the CPU module",
        _ => return None,
    })
}

/// The whole frame's length from its header: `None` until the 9 header bytes are there.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    let length = buf.get(7..9)?;
    Some(HEADER_LEN + usize::from(u16::from_le_bytes([length[0], length[1]])))
}

/// TCP framing: a whole 3E response at the front of `buf`, and whether it answers the
/// request (its route echoes [`Route::OWN_STATION`]; there is no serial number, so
/// `correlation` plays no part). An echoed request or another subheader is invalid.
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    let _ = correlation;
    if let [a, b, ..] = buf {
        match [*a, *b] {
            SUBHEADER_RESPONSE => {}
            SUBHEADER_REQUEST => return FrameCheck::Invalid(ParseError::Echo),
            [a, b] => return FrameCheck::Invalid(ParseError::WrongSubheader(a, b)),
        }
    }
    let Some(len) = reply_len(buf) else {
        return FrameCheck::NeedMore;
    };
    if len > MAX_REPLY_LEN {
        return FrameCheck::Invalid(ParseError::Oversized(len));
    }
    if buf.len() < len {
        return FrameCheck::NeedMore;
    }
    let mut cursor = Cursor::new(&buf[2..]);
    let matches = Route::read(&mut cursor).is_ok_and(|r| r == Route::OWN_STATION);
    FrameCheck::Complete { len, matches }
}

/// UDP: true when `datagram` is a 3E binary response (subheader `D0 00`); whether its
/// route answers the request is [`check_answers`]'s to say, so a wrong route is a
/// protocol error rather than silence.
pub fn answers(request: &Request, datagram: &[u8], correlation: u32) -> bool {
    let _ = (request, correlation);
    datagram.starts_with(&SUBHEADER_RESPONSE)
}

/// Checks that a parsed reply answers the request: its route echoes the request's.
pub fn check_answers(request: &Request, reply: &Reply) -> Result<(), ParseError> {
    let _ = request;
    if reply.route == Route::OWN_STATION {
        Ok(())
    } else {
        let Route {
            network,
            pc,
            module_io,
            station,
        } = reply.route;
        Err(ParseError::WrongRoute {
            network,
            pc,
            module_io,
            station,
        })
    }
}

/// Parses a 3E binary response to Read CPU Model Name.
///
/// Bytes past the response data length are ignored with a warning (a datagram may
/// carry padding); a length that announces more than is present is an error. An
/// abnormal end code is a valid reply ([`Reply::is_error`]), with its error
/// information when the reply carries it.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    if buf.len() > MAX_REPLY_LEN {
        return Err(ParseError::Oversized(buf.len()));
    }
    let mut cursor = Cursor::new(buf);
    match cursor.array::<2>("subheader")? {
        SUBHEADER_RESPONSE => {}
        SUBHEADER_REQUEST => return Err(ParseError::Echo),
        [a, b] => return Err(ParseError::WrongSubheader(a, b)),
    }
    let route = Route::read(&mut cursor)?;
    let declared = cursor.u16_le("response data length")?;
    if declared < 2 {
        return Err(ParseError::NoEndCode(declared));
    }
    let available = cursor.len();
    let declared_len = usize::from(declared);
    if declared_len > available {
        return Err(ParseError::LyingLength {
            declared: declared_len,
            available,
        });
    }
    let mut warnings = Vec::new();
    if available > declared_len {
        warnings.push(format!(
            "{} bytes after the response data length ignored",
            available - declared_len
        ));
    }
    let mut data = Cursor::new(cursor.take(declared_len, "response data")?);
    let end_code = data.u16_le("end code")?;
    let mut reply = Reply {
        route,
        end_code,
        model: None,
        error_information: None,
        warnings,
    };
    if end_code != 0 {
        if data.len() >= ERROR_INFO_LEN {
            reply.error_information = Some(ErrorInformation {
                route: Route::read(&mut data)?,
                command: data.u16_le("error information command")?,
                subcommand: data.u16_le("error information subcommand")?,
            });
        } else if data.len() > 0 {
            reply.warnings.push(format!(
                "{} bytes of error information (9 expected) ignored",
                data.len()
            ));
        }
        if data.len() > 0 {
            reply.warnings.push(format!(
                "{} bytes after the error information ignored",
                data.len()
            ));
        }
        return Ok(reply);
    }
    if data.len() < MODEL_NAME_LEN {
        return Err(ParseError::ModelNameTruncated(data.len()));
    }
    let name_bytes = data.take(MODEL_NAME_LEN, "model name")?;
    let name = DeviceText::from_bytes(name_bytes);
    if !name_bytes.iter().all(|b| (0x20..0x7F).contains(b)) {
        reply
            .warnings
            .push("model name is not space-padded printable ASCII".to_owned());
    }
    let code = if data.len() >= 2 {
        Some(data.u16_le("model code")?)
    } else {
        reply
            .warnings
            .push("no model code after the model name".to_owned());
        None
    };
    if data.len() > 0 {
        reply
            .warnings
            .push(format!("{} bytes after the model code ignored", data.len()));
    }
    reply.model = Some(CpuModel { name, code });
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hx(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// A response with the own-station route and `data` after the length field.
    fn response(data: &[u8]) -> Vec<u8> {
        let mut out = hx("d0 00 00 ff ff 03 00");
        out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    fn normal(name: &str, code: u16) -> Vec<u8> {
        let mut data = vec![0, 0];
        data.extend_from_slice(format!("{name:<16}").as_bytes());
        data.extend_from_slice(&code.to_le_bytes());
        response(&data)
    }

    #[test]
    fn request_bytes_are_the_documented_3e_frame() {
        // Layout of the SLMP reference: 50 00 | 00 FF FF 03 00 | 06 00 | 10 00 | 01 01 | 00 00.
        let bytes = encode(&Request::ReadCpuModelName, 0xDEAD_BEEF);
        assert_eq!(bytes, hx("50 00 00 ff ff 03 00 06 00 10 00 01 01 00 00"));
        // No correlation in a 3E frame: every call gives the same bytes.
        assert_eq!(bytes, encode(&Request::ReadCpuModelName, 0));
    }

    #[test]
    fn q03udvcpu_reply_decodes_name_and_code() {
        // 29 bytes: header, length 0x14, end code 0, "Q03UDVCPU" + 7 spaces, 0x0366.
        let buf = hx("d0 00 00 ff ff 03 00 14 00 00 00 \
                      51 30 33 55 44 56 43 50 55 20 20 20 20 20 20 20 66 03");
        assert_eq!(buf.len(), 29);
        let reply = parse(&buf).unwrap();
        assert!(!reply.is_error());
        let model = reply.model.unwrap();
        assert_eq!(model.name.text, "Q03UDVCPU       ");
        assert_eq!(model.name.trimmed().as_deref(), Some("Q03UDVCPU"));
        assert_eq!(model.code, Some(0x0366));
        assert!(reply.warnings.is_empty());
        assert_eq!(
            frame(&buf, 7),
            FrameCheck::Complete {
                len: 29,
                matches: true
            }
        );
    }

    #[test]
    fn error_end_code_is_a_reply_with_error_information() {
        // C059 with the failed request's route, command 0x0101 and subcommand 0.
        let buf = response(&hx("59 c0 00 ff ff 03 00 01 01 00 00"));
        let reply = parse(&buf).unwrap();
        assert!(reply.is_error());
        assert_eq!(reply.end_code, 0xC059);
        assert_eq!(
            end_code_name(reply.end_code),
            Some("command or subcommand not supported")
        );
        let info = reply.error_information.unwrap();
        assert_eq!(
            (info.route, info.command, info.subcommand),
            (Route::OWN_STATION, 0x0101, 0)
        );
        // An end code alone (no error information) is accepted too.
        let bare = parse(&response(&hx("61 c0"))).unwrap();
        assert_eq!((bare.end_code, bare.error_information), (0xC061, None));
        assert_eq!(
            end_code_name(0xC061),
            Some("request data length does not match the data")
        );
        assert_eq!(
            end_code_name(0x4A01),
            Some("error detected by the CPU module")
        );
        assert_eq!(end_code_name(0x1234), None);
    }

    #[test]
    fn hostile_shapes_are_typed_errors() {
        let request = encode(&Request::ReadCpuModelName, 1);
        assert_eq!(parse(&request), Err(ParseError::Echo));
        assert_eq!(frame(&request, 1), FrameCheck::Invalid(ParseError::Echo));
        // A 4E response (subheader D4 00, then a serial number) is not a 3E answer.
        let four_e = hx("d4 00 34 12 00 00 00 ff ff 03 00 02 00 00 00");
        assert_eq!(parse(&four_e), Err(ParseError::WrongSubheader(0xD4, 0)));
        assert!(matches!(frame(&four_e, 1), FrameCheck::Invalid(_)));
        assert_eq!(
            parse(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(ParseError::WrongSubheader(b'H', b'T'))
        );
        // A length that lies: says 0x14, carries 4.
        let mut lying = normal("R04CPU", 0x4800);
        lying.truncate(HEADER_LEN + 4);
        assert_eq!(
            parse(&lying),
            Err(ParseError::LyingLength {
                declared: 20,
                available: 4
            })
        );
        assert_eq!(frame(&lying, 1), FrameCheck::NeedMore);
        assert_eq!(parse(&response(&[0])), Err(ParseError::NoEndCode(1)));
        assert_eq!(
            parse(&response(&hx("00 00 52 30 34"))),
            Err(ParseError::ModelNameTruncated(3))
        );
        assert!(matches!(
            parse(&hx("d0 00 00 ff")),
            Err(ParseError::Truncated { .. })
        ));
        assert_eq!(frame(&hx("d0 00 00"), 1), FrameCheck::NeedMore);
        assert_eq!(frame(&[], 1), FrameCheck::NeedMore);
        // An endless stream announces a huge frame: refused before it is read.
        let endless = hx("d0 00 00 ff ff 03 00 ff ff 00 00");
        assert_eq!(
            frame(&endless, 1),
            FrameCheck::Invalid(ParseError::Oversized(HEADER_LEN + 0xFFFF))
        );
    }

    #[test]
    fn a_reply_for_another_route_answers_another_request() {
        let mut other = normal("Q03UDVCPU", 0x0366);
        other[2] = 0x01; // network 1
        other[3] = 0x02; // PC 2
        assert_eq!(
            frame(&other, 1),
            FrameCheck::Complete {
                len: 29,
                matches: false
            }
        );
        let reply = parse(&other).unwrap();
        assert!(matches!(
            check_answers(&Request::ReadCpuModelName, &reply),
            Err(ParseError::WrongRoute {
                network: 1,
                pc: 2,
                ..
            })
        ));
        assert!(answers(&Request::ReadCpuModelName, &other, 1));
        assert!(!answers(
            &Request::ReadCpuModelName,
            &encode(&Request::ReadCpuModelName, 1),
            1
        ));
    }

    #[test]
    fn oddities_are_warnings() {
        // Trailing bytes past the length (datagram padding), no model code, odd name bytes.
        let mut padded = normal("FX5U-32MT/ES", 0x4A23);
        padded.extend_from_slice(&[0, 0, 0]);
        let reply = parse(&padded).unwrap();
        assert_eq!(reply.model.unwrap().code, Some(0x4A23));
        assert_eq!(reply.warnings.len(), 1, "{:?}", reply.warnings);

        let mut data = vec![0, 0];
        data.extend_from_slice(b"R04CPU\0\0\0\0\0\0\0\0\0\0");
        let reply = parse(&response(&data)).unwrap();
        let model = reply.model.unwrap();
        assert_eq!(model.code, None);
        assert_eq!(model.name.trimmed().as_deref(), Some("R04CPU"));
        assert_eq!(reply.warnings.len(), 2, "{:?}", reply.warnings);

        let mut data = vec![0, 0];
        data.extend_from_slice(b"L26CPU-BT       ");
        data.extend_from_slice(&[0x42, 0x05, 0xAA, 0xBB]);
        let reply = parse(&response(&data)).unwrap();
        assert_eq!(reply.model.unwrap().code, Some(0x0542));
        assert_eq!(reply.warnings, vec!["2 bytes after the model code ignored"]);
    }

    fn check_consistent(buf: &[u8]) {
        let framed = frame(buf, 0);
        let parsed = parse(buf);
        if let FrameCheck::Complete { len, .. } = framed {
            assert!(len <= buf.len() && len <= MAX_REPLY_LEN);
            // A whole frame at the front parses the same as the frame alone, but for
            // the warning about what follows it.
            let alone = parse(&buf[..len]);
            assert_eq!(alone.is_ok(), parsed.is_ok(), "{buf:02x?}");
        }
        if let Ok(reply) = parsed {
            assert_eq!(reply.model.is_some(), reply.end_code == 0);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            check_consistent(&buf);
        }

        #[test]
        fn arbitrary_data_after_a_valid_header_never_panics(
            data in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            check_consistent(&response(&data));
        }

        #[test]
        fn mutated_valid_replies_never_panic(
            which in 0usize..3,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut buf = [
                normal("Q03UDVCPU", 0x0366),
                normal("R04CPU", 0x4800),
                response(&hx("59 c0 00 ff ff 03 00 01 01 00 00")),
            ][which].clone();
            for (at, value) in edits {
                let i = at.index(buf.len());
                buf[i] = value;
            }
            if truncate {
                buf.truncate(cut.index(buf.len() + 1));
            }
            check_consistent(&buf);
        }
    }
}
