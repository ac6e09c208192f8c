//! The BACnet/IP fields of a service observation: `services[].details.bacnet` in
//! the record (see docs/record.md), folded from the replies, and the record identity
//! they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{
    abort_reason_name, error_class_name, error_code_name, reject_reason_name, segmentation_name,
    Payload, PropertyId, Reply, OBJECT_TYPE_DEVICE,
};
use super::tags::{ObjectId, Value};
use crate::record::fields::{hex, DeviceText, Identity, VendorId, VendorIdSpace};

/// An Error, Reject or Abort a device answered with: proof of a BACnet stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BacnetRefusal {
    /// Error PDU.
    Error {
        /// Service choice the error answers.
        service: u8,
        /// Error class, when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class: Option<u32>,
        /// Error class name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class_name: Option<String>,
        /// Error code, when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<u32>,
        /// Error code name, for the common codes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code_name: Option<String>,
    },
    /// Reject PDU.
    Reject {
        /// Reject reason.
        reason: u8,
        /// Reason name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_name: Option<String>,
    },
    /// Abort PDU.
    Abort {
        /// Sent by the server.
        server: bool,
        /// Abort reason.
        reason: u8,
        /// Reason name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_name: Option<String>,
    },
}

/// What BACnet/IP told about a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BacnetDetails {
    /// Device object instance (from object-identifier or I-Am).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_instance: Option<u32>,
    /// BACnet vendor id (ASHRAE-assigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    /// vendor-name property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<DeviceText>,
    /// model-name property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<DeviceText>,
    /// firmware-revision property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_revision: Option<DeviceText>,
    /// application-software-version property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_software_version: Option<DeviceText>,
    /// object-name property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_name: Option<DeviceText>,
    /// description property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<DeviceText>,
    /// location property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<DeviceText>,
    /// Max APDU length accepted (I-Am).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_apdu: Option<u32>,
    /// Segmentation supported (I-Am), by name, or the number when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<String>,
    /// The B/IP address a BACnet Broadcast Management Device forwarded the reply
    /// from (BVLC Forwarded-NPDU), as `ip:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// BACnet network number of the answering device, when the reply came through a
    /// BACnet router (NPDU source network): the identity is then that device's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_network: Option<u16>,
    /// MAC address of the answering device on `source_network`, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_mac: Option<String>,
    /// Errors, rejects and aborts the device answered with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<BacnetRefusal>,
    /// Oddities met while reading the device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl BacnetDetails {
    /// Folds a parsed reply into the details: property values, I-Am fields,
    /// refusals, and the reply's warnings.
    pub fn absorb(&mut self, reply: &Reply) {
        self.warnings.extend(reply.warnings.iter().cloned());
        if let Some(from) = reply.forwarded_from {
            self.forwarded_from.get_or_insert_with(|| from.to_string());
        }
        if let Some(source) = reply.npdu.as_ref().and_then(|n| n.source.as_ref()) {
            self.source_network.get_or_insert(source.network);
            self.source_mac.get_or_insert_with(|| hex(&source.mac));
        }
        match &reply.payload {
            Payload::ReadPropertyAck {
                object,
                property,
                values,
                ..
            } => self.absorb_property(*object, *property, values),
            Payload::ReadPropertyMultipleAck { results, .. } => {
                for result in results {
                    match &result.outcome {
                        Ok(values) => self.absorb_property(result.object, result.property, values),
                        Err(e) => self.warnings.push(format!(
                            "{}: error {}/{}",
                            property_label(result.property),
                            error_class_name(e.class).unwrap_or("?"),
                            error_code_name(e.code)
                                .map_or_else(|| e.code.to_string(), str::to_owned),
                        )),
                    }
                }
            }
            Payload::IAm(i_am) => {
                if i_am.device.object_type == OBJECT_TYPE_DEVICE {
                    self.device_instance.get_or_insert(i_am.device.instance);
                } else {
                    self.warnings.push(format!(
                        "I-Am names object type {}, not device",
                        i_am.device.object_type
                    ));
                }
                self.max_apdu = Some(i_am.max_apdu);
                self.segmentation = Some(
                    segmentation_name(i_am.segmentation)
                        .map_or_else(|| i_am.segmentation.to_string(), str::to_owned),
                );
                self.vendor_id.get_or_insert(i_am.vendor_id);
            }
            Payload::Error { service, error, .. } => self.refusals.push(BacnetRefusal::Error {
                service: *service,
                error_class: error.map(|e| e.class),
                error_class_name: error
                    .and_then(|e| error_class_name(e.class))
                    .map(str::to_owned),
                error_code: error.map(|e| e.code),
                error_code_name: error
                    .and_then(|e| error_code_name(e.code))
                    .map(str::to_owned),
            }),
            Payload::Reject { reason, .. } => self.refusals.push(BacnetRefusal::Reject {
                reason: *reason,
                reason_name: reject_reason_name(*reason).map(str::to_owned),
            }),
            Payload::Abort { server, reason, .. } => self.refusals.push(BacnetRefusal::Abort {
                server: *server,
                reason: *reason,
                reason_name: abort_reason_name(*reason).map(str::to_owned),
            }),
            Payload::SegmentedAck { .. } => self
                .warnings
                .push("segmented reply, which otscan does not accept".to_owned()),
            Payload::SimpleAck { service, .. } => self
                .warnings
                .push(format!("unexpected SimpleACK for service {service:#04x}")),
            Payload::BvlcResult { code } => self.warnings.push(format!("BVLC-Result {code:#06x}")),
            Payload::NetworkMessage { message_type } => self
                .warnings
                .push(format!("network-layer message {message_type:#04x}")),
        }
    }

    fn absorb_property(&mut self, object: ObjectId, property: u32, values: &[Value]) {
        if object.object_type != OBJECT_TYPE_DEVICE {
            self.warnings.push(format!(
                "property {property} of object type {}, not device, ignored",
                object.object_type
            ));
            return;
        }
        let Some(id) = PropertyId::from_code(property) else {
            self.warnings
                .push(format!("unrequested property {property} ignored"));
            return;
        };
        let Some(value) = values.first() else {
            self.warnings.push(format!("{}: no value", id.name()));
            return;
        };
        if values.len() > 1 {
            self.warnings.push(format!(
                "{}: {} values, first kept",
                id.name(),
                values.len()
            ));
        }
        let text_slot = match id {
            PropertyId::ObjectIdentifier => {
                match value {
                    Value::ObjectIdentifier(oid) if oid.object_type == OBJECT_TYPE_DEVICE => {
                        self.device_instance = Some(oid.instance);
                    }
                    other => self.mismatch(id, other),
                }
                return;
            }
            PropertyId::VendorIdentifier => {
                match value {
                    Value::Unsigned(v) => match u32::try_from(*v) {
                        Ok(v) => self.vendor_id = Some(v),
                        Err(_) => self.mismatch(id, value),
                    },
                    other => self.mismatch(id, other),
                }
                return;
            }
            PropertyId::VendorName => &mut self.vendor_name,
            PropertyId::ModelName => &mut self.model_name,
            PropertyId::FirmwareRevision => &mut self.firmware_revision,
            PropertyId::ApplicationSoftwareVersion => &mut self.application_software_version,
            PropertyId::ObjectName => &mut self.object_name,
            PropertyId::Description => &mut self.description,
            PropertyId::Location => &mut self.location,
        };
        match value {
            Value::CharacterString(s) => *text_slot = Some(s.text.clone()),
            other => self.mismatch(id, other),
        }
    }

    fn mismatch(&mut self, id: PropertyId, value: &Value) {
        self.warnings.push(format!(
            "{}: unexpected {} value ignored",
            id.name(),
            value.type_name()
        ));
    }
}

fn property_label(property: u32) -> String {
    PropertyId::from_code(property).map_or_else(|| property.to_string(), |p| p.name().to_owned())
}

/// The record's identity fields from what the device said.
pub fn identity_fields(details: &BacnetDetails) -> Identity {
    let vendor = details
        .vendor_name
        .as_ref()
        .and_then(DeviceText::trimmed)
        .or_else(|| {
            details
                .vendor_id
                .and_then(crate::vendors::bacnet_vendor)
                .map(str::to_owned)
        });
    Identity {
        vendor,
        vendor_id: details.vendor_id.map(|id| VendorId {
            space: VendorIdSpace::Bacnet,
            id,
        }),
        model: details.model_name.as_ref().and_then(DeviceText::trimmed),
        firmware_version: details
            .firmware_revision
            .as_ref()
            .and_then(DeviceText::trimmed),
        hostname: details.object_name.as_ref().and_then(DeviceText::trimmed),
        ..Identity::default()
    }
}
