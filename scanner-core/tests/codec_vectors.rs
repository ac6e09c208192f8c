//! Byte vectors of real devices' replies, published in public issue threads, test suites
//! and sample captures, decoded through the public codec API.
//!
//! Each vector names where its bytes were published. The bytes are facts about what a
//! device sent (a capture), kept as test data; no code of those sources is used.

mod common;
use common::hx;
use scanner_core::protocols::bacnet::{self, BacnetDetails, Payload};
use scanner_core::protocols::s7::{
    parse_cotp_reply, parse_setup_ack, parse_szl_response, CotpReply, S7Details, SzlRecords, Tsap,
};

fn text(t: &Option<scanner_core::record::DeviceText>) -> Option<&str> {
    t.as_ref().map(|t| t.text.as_str())
}

// ---------------------------------------------------------------------------------------
// Siemens S7-1200 CPU 1214C (6ES7 214-1AG31-0XB0), SZL 0x0011 read answered by the CPU.
// Source: nmap issue #2117 (https://github.com/nmap/nmap/issues/2117), `nmap -d` packet
// trace of s7-info against a real S7-1200; the reply of 125 bytes. nmap's s7-info (7.80)
// threw "Wrong parameter #3 to 'unpack'" on this exchange.
// ---------------------------------------------------------------------------------------
const S7_1200_SZL_0011: &str = "
    03 00 00 7d 02 f0 80 32 07 00 00 00 00 00 0c 00
    60 00 01 12 08 12 84 01 01 00 00 00 00 ff 09 00
    5c 00 11 00 01 00 1c 00 03 00 01 36 45 53 37 20
    32 31 34 2d 31 41 47 33 31 2d 30 58 42 30 20 20
    20 00 01 20 20 00 06 36 45 53 37 20 32 31 34 2d
    31 41 47 33 31 2d 30 58 42 30 20 20 20 00 01 20
    20 00 07 36 45 53 37 20 32 31 34 2d 31 41 47 33
    31 2d 30 58 42 30 20 20 20 56 03 00 02";

#[test]
fn s7_1200_module_identification_from_nmap_issue_2117() {
    let reply = parse_szl_response(&hx(S7_1200_SZL_0011)).expect("decodes");
    assert_eq!(reply.szl_id, Some(0x0011));
    assert_eq!(reply.szl_index, Some(0x0001));
    assert_eq!(reply.record_len, Some(28));
    assert_eq!(reply.record_count, Some(3));
    assert_eq!(reply.return_code, 0xFF);
    assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
    let SzlRecords::Module(records) = &reply.records else {
        panic!("not module records: {:?}", reply.records);
    };
    let indexes: Vec<u16> = records.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [1, 6, 7]);
    // This CPU fills BGTyp and the unused Ausbe with spaces (0x2020), and puts the order
    // number in the firmware record (index 7) too.
    for r in records {
        assert_eq!(text(&r.order_number), Some("6ES7 214-1AG31-0XB0"));
        assert_eq!(r.module_type_id, Some(0x2020));
    }
    assert_eq!(
        (records[0].ausbg, records[0].ausbe),
        (Some(1), Some(0x2020))
    );
    assert_eq!(
        (records[1].ausbg, records[1].ausbe),
        (Some(1), Some(0x2020))
    );
    assert_eq!(
        (records[2].ausbg, records[2].ausbe),
        (Some(0x5603), Some(0x0002))
    );
    // Index 7: 'V', 3 / 0, 2 -> firmware V3.0.2; index 6: release 1 (hardware "1").
    assert_eq!(records[2].version().as_deref(), Some("V3.0.2"));
    assert_eq!(records[1].version().as_deref(), Some("1"));

    let mut details = S7Details::default();
    details.apply_szl(&reply);
    assert_eq!(text(&details.order_number), Some("6ES7 214-1AG31-0XB0"));
    assert_eq!(details.hardware_version.as_deref(), Some("1"));
    assert_eq!(details.firmware_version.as_deref(), Some("V3.0.2"));
    assert!(details.error_class.is_none() && details.szl_error_code.is_none());
}

// ---------------------------------------------------------------------------------------
// Siemens CPU 315-2 PN/DP (6ES7 315-2EH14-0AB0) as snap7's server answers: snap7 (Davide
// Nardella) serves identification bytes "recorded from a real Siemens hardware"
// (src/core/s7_firmware.h; per fbarresi/SoftPlc issue #1). The frames below were published
// byte for byte in projectdiscovery/nuclei-templates
// network/honeypot/snap7-honeypot-default-config.yaml (MIT; CC, setup ack, SZL 0x0011)
// and in a Zig S7 codec's golden-frame table of snap7 traffic (MIT; SZL 0x001C).
// nmap's s7-info prints this device as Module / Basic Hardware "6ES7 315-2EH14-0AB0",
// "Version: 3.2.6" (fbarresi/SoftPlc issue #1).
// ---------------------------------------------------------------------------------------
const SNAP7_CC: &str = "0300001611d00014000100c1020100c2020102c0010a";
const SNAP7_SETUP_ACK: &str = "0300001b02f080320300000000000800000000f0000001000101e0";
const SNAP7_SZL_0011: &str = "
    0300009902f080320700000000000c007c000112081284010000000000ff0900780011
    0000001c0004
    000136455337203331352d32454831342d304142302000c000040001
    000636455337203331352d32454831342d304142302000c000040001
    0007202020202020202020202020202020202020202000c056030206
    0081426f6f74204c6f61646572202020202020202020000041200909";
const SNAP7_SZL_001C: &str = "
    0300017d02f080320700001000000c0160000112081284010000000000ff09015c001c0000
    0022000a
    0001534e4150372d5345525645520000000000000000000000000000000000000000
    0002435055203331352d3220504e2f44500000000000000000000000000000000000
    00030000000000000000000000000000000000000000000000000000000000000000
    00044f726967696e616c205369656d656e732045717569706d656e74000000000000
    00055320432d43325552323839323230313200000000000000000000000000000000
    0007435055203331352d3220504e2f44500000000000000000000000000000000000
    00084d4d432032363746463131460000000000000000000000000000000000000000
    0009002af60000010000000000000000000000000000000000000000000000000000
    000a0000000000000000000000000000000000000000000000000000000000000000
    000b0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn s7_300_connection_confirm_and_setup_from_snap7() {
    let CotpReply::Confirm(cc) = parse_cotp_reply(&hx(SNAP7_CC)).expect("decodes") else {
        panic!("not a confirm");
    };
    assert_eq!((cc.destination_ref, cc.source_ref), (0x0014, 0x0001));
    assert_eq!(cc.calling_tsap, Some(0x0100));
    assert_eq!(cc.called_tsap, Some(0x0102));
    assert_eq!(cc.tpdu_size, Some(0x0A));
    assert!(cc.warnings.is_empty());

    let ack = parse_setup_ack(&hx(SNAP7_SETUP_ACK)).expect("decodes");
    assert!(!ack.header.is_error());
    let negotiated = ack.negotiated.expect("parameters");
    assert_eq!(negotiated.pdu_length, 480);
    assert_eq!(
        (negotiated.max_amq_calling, negotiated.max_amq_called),
        (1, 1)
    );

    let mut details = S7Details::default();
    details.apply_confirm(Tsap::PG_RACK0_SLOT2, &cc);
    details.apply_setup(&ack);
    assert_eq!(details.tsap, Some(0x0102));
    assert_eq!(details.pdu_length, Some(480));
}

#[test]
fn s7_300_module_identification_from_snap7() {
    let reply = parse_szl_response(&hx(SNAP7_SZL_0011)).expect("decodes");
    assert_eq!((reply.szl_id, reply.szl_index), (Some(0x0011), Some(0)));
    assert_eq!((reply.record_len, reply.record_count), (Some(28), Some(4)));
    assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
    let SzlRecords::Module(records) = &reply.records else {
        panic!("not module records");
    };
    let indexes: Vec<u16> = records.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [1, 6, 7, 0x81]);
    assert_eq!(text(&records[0].order_number), Some("6ES7 315-2EH14-0AB0"));
    assert_eq!(records[0].module_type_id, Some(0x00C0));
    assert_eq!((records[1].ausbg, records[1].ausbe), (Some(4), Some(1)));
    assert_eq!(
        records[2].order_number, None,
        "index 7 order number is all spaces"
    );
    assert_eq!(records[2].version().as_deref(), Some("V3.2.6"));
    // Index 0x81, the boot loader: Ausbg 'A' 0x20, Ausbe 9.9. version() knows only the
    // 'V' form and gives the raw release number.
    assert_eq!(text(&records[3].order_number), Some("Boot Loader"));
    assert_eq!(
        (records[3].ausbg, records[3].ausbe),
        (Some(0x4120), Some(0x0909))
    );
    assert_eq!(records[3].version().as_deref(), Some("16672"));

    let mut details = S7Details::default();
    details.apply_szl(&reply);
    assert_eq!(text(&details.order_number), Some("6ES7 315-2EH14-0AB0"));
    assert_eq!(details.hardware_version.as_deref(), Some("4"));
    // nmap's s7-info prints "3.2.6" for this record; otscan keeps the 'V'.
    assert_eq!(details.firmware_version.as_deref(), Some("V3.2.6"));
}

#[test]
fn s7_300_component_identification_from_snap7() {
    let reply = parse_szl_response(&hx(SNAP7_SZL_001C)).expect("decodes");
    assert_eq!((reply.szl_id, reply.szl_index), (Some(0x001C), Some(0)));
    assert_eq!((reply.record_len, reply.record_count), (Some(34), Some(10)));
    assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
    let SzlRecords::Component(records) = &reply.records else {
        panic!("not component records");
    };
    assert_eq!(records.len(), 10);
    let mut details = S7Details::default();
    details.apply_szl(&reply);
    assert_eq!(text(&details.system_name), Some("SNAP7-SERVER"));
    assert_eq!(text(&details.module_name), Some("CPU 315-2 PN/DP"));
    assert_eq!(details.plant_id, None);
    assert_eq!(text(&details.copyright), Some("Original Siemens Equipment"));
    assert_eq!(text(&details.serial_number), Some("S C-C2UR28922012"));
    assert_eq!(text(&details.module_type), Some("CPU 315-2 PN/DP"));
    assert_eq!(text(&details.memory_card_serial), Some("MMC 267FF11F"));
    assert_eq!(details.location, None);
}

// ---------------------------------------------------------------------------------------
// BACnet I-Am of device 18, broadcast from 10.0.1.93 (global broadcast NPDU, hop count
// 255), as captured with tshark and published in the BACpypes sample that decodes tshark
// hex dumps (JoelBender/bacpypes, MIT). Vendor 15 is ASHRAE's id of Cornell University.
// ---------------------------------------------------------------------------------------
const BACPYPES_I_AM: &str = "810b0018 0120ffff00ff 1000 c402000012 220400 9100 210f";

#[test]
fn bacnet_i_am_from_bacpypes_capture() {
    let reply = bacnet::codec::parse(&hx(BACPYPES_I_AM)).expect("decodes");
    assert_eq!(reply.bvlc_function, bacnet::codec::BVLC_ORIGINAL_BROADCAST);
    let npdu = reply.npdu.as_ref().expect("npdu");
    let destination = npdu
        .destination
        .as_ref()
        .expect("global broadcast destination");
    assert_eq!(destination.network, 0xFFFF);
    assert!(destination.mac.is_empty());
    assert_eq!(npdu.hop_count, Some(255));
    let Payload::IAm(i_am) = &reply.payload else {
        panic!("not an I-Am: {:?}", reply.payload);
    };
    assert_eq!(i_am.device.object_type, bacnet::codec::OBJECT_TYPE_DEVICE);
    assert_eq!(i_am.device.instance, 18);
    assert_eq!(i_am.max_apdu, 1024);
    assert_eq!(i_am.segmentation, 0);
    assert_eq!(i_am.vendor_id, 15);

    let mut details = BacnetDetails::default();
    details.absorb(&reply);
    assert_eq!(details.device_instance, Some(18));
    assert_eq!(details.vendor_id, Some(15));
    assert_eq!(details.max_apdu, Some(1024));
    assert_eq!(
        scanner_core::vendors::bacnet_vendor(15),
        Some("Cornell University")
    );
    assert!(details.warnings.is_empty(), "{:?}", details.warnings);
}
