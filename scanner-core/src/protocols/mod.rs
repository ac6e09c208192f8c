//! One module per protocol, each with the same shape: a sans-IO codec (encode a
//! [`ReadOnlyRequest`](crate::request::ReadOnlyRequest), parse a reply from bytes)
//! and a probe that drives the codec over the engine's paced device session.

pub mod bacnet;
pub mod enip;
pub mod modbus;
pub mod s7;
pub mod snmp;
mod wire;
