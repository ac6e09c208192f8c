//! EtherNet/IP encapsulation codec (sans IO).
//!
//! Only the three session-less list commands exist: ListServices (0x0004),
//! ListIdentity (0x0063) and ListInterfaces (0x0064).

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;

/// The encapsulation commands otscan may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// 0x0004 ListServices.
    ListServices,
    /// 0x0063 ListIdentity.
    ListIdentity,
    /// 0x0064 ListInterfaces.
    ListInterfaces,
}

impl Command {
    /// The command code on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Command::ListServices => 0x0004,
            Command::ListIdentity => 0x0063,
            Command::ListInterfaces => 0x0064,
        }
    }
}

/// Encodes a list command: a bare 24-byte header with no data, session 0,
/// status 0, `context` in the first four bytes of the sender context, options 0.
pub(crate) fn encode_command(command: Command, context: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&command.code().to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // length of data after the header
    out.extend_from_slice(&0u32.to_le_bytes()); // session handle
    out.extend_from_slice(&0u32.to_le_bytes()); // status
    out.extend_from_slice(&context.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // rest of the sender context
    out.extend_from_slice(&0u32.to_le_bytes()); // options
    out
}
