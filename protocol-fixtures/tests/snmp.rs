//! Talks SNMP to the simulated agent over real loopback UDP sockets, with requests built by
//! `rasn-snmp` as a manager would. Each test uses its own 127.84.0.x address so they can run in
//! parallel.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{
    snmp::{engine_id, error_status, mib, PROTOCOL},
    DeviceHandle, EntityRow, Oid, Plant, PlantPorts, PlantSpec, Recorder, SnmpAgent,
    SnmpAgentConfig, SnmpBehaviour, SnmpValue, SnmpVersions, Transport,
};
use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_smi::v2::{ApplicationSyntax, ObjectSyntax, SimpleSyntax};
use rasn_snmp::{
    v2::{
        BulkPdu, GetBulkRequest, GetNextRequest, GetRequest, Pdu, Pdus, SetRequest, VarBind,
        VarBindValue,
    },
    v2c,
    v3::{self, HeaderData, ScopedPdu, ScopedPduData, USMSecurityParameters},
};
use tokio::{net::UdpSocket, time::timeout};

const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
const SILENCE: Duration = Duration::from_millis(200);
const V1: u8 = 0;
const V2C: u8 = 1;

fn ip(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 84, 0, host)
}

fn spawn(host: u8, config: SnmpAgentConfig) -> (DeviceHandle, Recorder) {
    let recorder = Recorder::new();
    let agent = SnmpAgent::spawn(SocketAddr::from((ip(host), 0)), config, recorder.clone())
        .expect("bind fixture");
    (agent, recorder)
}

fn oid(arcs: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(arcs.to_vec()).unwrap()
}

fn varbinds(names: &[&[u32]]) -> Vec<VarBind> {
    names
        .iter()
        .map(|name| VarBind {
            name: oid(name),
            value: VarBindValue::Unspecified,
        })
        .collect()
}

fn pdu(request_id: i32, names: &[&[u32]]) -> Pdu {
    Pdu {
        request_id,
        error_status: 0,
        error_index: 0,
        variable_bindings: varbinds(names),
    }
}

fn community_message(version: u8, community: &str, data: Pdus) -> Vec<u8> {
    rasn::ber::encode(&v2c::Message {
        version: Integer::from(version),
        community: OctetString::from(community.as_bytes().to_vec()),
        data,
    })
    .unwrap()
}

fn get(version: u8, community: &str, request_id: i32, names: &[&[u32]]) -> Vec<u8> {
    community_message(
        version,
        community,
        Pdus::GetRequest(GetRequest(pdu(request_id, names))),
    )
}

fn get_next(version: u8, request_id: i32, names: &[&[u32]]) -> Vec<u8> {
    community_message(
        version,
        "public",
        Pdus::GetNextRequest(GetNextRequest(pdu(request_id, names))),
    )
}

/// Sends `request` from a fresh socket and returns the reply, `None` on silence.
async fn exchange(agent: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    exchange_within(agent, request, REPLY_TIMEOUT).await
}

async fn exchange_within(agent: SocketAddr, request: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(request, agent).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    let (len, from) = timeout(wait, socket.recv_from(&mut buf))
        .await
        .ok()?
        .unwrap();
    assert_eq!(from, agent, "reply from the agent's own address and port");
    buf.truncate(len);
    Some(buf)
}

/// Decodes a v1/v2c Response, checking version and community were echoed.
fn response(reply: &[u8], version: u8, community: &str) -> Pdu {
    let message: v2c::Message<Pdus> = rasn::ber::decode(reply).unwrap();
    assert_eq!(message.version, Integer::from(version));
    assert_eq!(&message.community[..], community.as_bytes());
    match message.data {
        Pdus::Response(response) => response.0,
        other => panic!("not a Response: {other:?}"),
    }
}

fn string(value: &VarBindValue) -> &[u8] {
    match value {
        VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::String(s))) => s,
        other => panic!("not an OCTET STRING: {other:?}"),
    }
}

fn config() -> SnmpAgentConfig {
    SnmpAgentConfig::system(
        "Test agent v1.2 (simulated)",
        mib::enterprise(99999, &[1, 2]),
        "agent-under-test",
        "bench",
        "tester@example.invalid",
        72,
        12_345,
    )
    .with_entity(
        1,
        EntityRow::new("chassis")
            .with_serial_num("SN-0001")
            .with_model_name("M-1"),
    )
    .with_if_mac(2, [2, 0, 0, 0, 0, 2])
    .with_value(
        [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2],
        SnmpValue::Counter64(7),
    )
}

#[tokio::test]
async fn v2c_get_returns_values_and_echoes_the_request_id() {
    let (agent, recorder) = spawn(1, config());
    let request = get(
        V2C,
        "public",
        0x1234_5678,
        &[
            mib::SYS_DESCR,
            mib::SYS_OBJECT_ID,
            mib::SYS_UP_TIME,
            mib::SYS_SERVICES,
        ],
    );
    let reply = exchange(agent.local_addr(), &request).await.expect("reply");
    let pdu = response(&reply, V2C, "public");
    assert_eq!(
        (pdu.request_id, pdu.error_status, pdu.error_index),
        (0x1234_5678, 0, 0)
    );
    let values: Vec<_> = pdu.variable_bindings.iter().map(|v| &v.value).collect();
    assert_eq!(string(values[0]), b"Test agent v1.2 (simulated)");
    assert_eq!(
        *values[1],
        VarBindValue::Value(SimpleSyntax::ObjectId(oid(&[1, 3, 6, 1, 4, 1, 99999, 1, 2])).into())
    );
    assert_eq!(
        *values[2],
        VarBindValue::Value(ApplicationSyntax::Ticks(rasn_smi::v1::TimeTicks(12_345)).into())
    );
    assert_eq!(
        *values[3],
        VarBindValue::Value(SimpleSyntax::Integer(72.into()).into())
    );
    assert_eq!(pdu.variable_bindings[0].name, oid(mib::SYS_DESCR));

    let frames = recorder.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (
            frames[0].protocol,
            frames[0].transport,
            frames[0].connection
        ),
        (PROTOCOL, Transport::Udp, 0)
    );
    assert_eq!(frames[0].bytes, request);
    assert_eq!(frames[0].device, agent.local_addr());
    agent.shutdown().await;
}

#[tokio::test]
async fn v1_missing_oid_gets_no_such_name_with_its_index() {
    let (agent, _) = spawn(2, config());
    let missing: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 9, 0];
    let request = get(V1, "public", 77, &[mib::SYS_DESCR, missing, mib::SYS_NAME]);
    let pdu = response(
        &exchange(agent.local_addr(), &request).await.unwrap(),
        V1,
        "public",
    );
    assert_eq!(
        (pdu.request_id, pdu.error_status, pdu.error_index),
        (77, u32::from(error_status::NO_SUCH_NAME), 2)
    );
    // The request's varbinds come back unchanged.
    assert_eq!(
        pdu.variable_bindings,
        varbinds(&[mib::SYS_DESCR, missing, mib::SYS_NAME])
    );

    // v1 cannot carry Counter64: such an object is missing for v1 and present for v2c.
    let counter64: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2];
    let pdu = response(
        &exchange(agent.local_addr(), &get(V1, "public", 78, &[counter64]))
            .await
            .unwrap(),
        V1,
        "public",
    );
    assert_eq!((pdu.error_status, pdu.error_index), (2, 1));
    let pdu = response(
        &exchange(agent.local_addr(), &get(V2C, "public", 79, &[counter64]))
            .await
            .unwrap(),
        V2C,
        "public",
    );
    assert_eq!(
        pdu.variable_bindings[0].value,
        VarBindValue::Value(ApplicationSyntax::BigCounter(rasn_smi::v2::Counter64(7)).into())
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn v2c_missing_oid_gets_no_such_object_per_varbind() {
    let (agent, _) = spawn(3, config());
    let unknown: &[u32] = &[1, 3, 6, 1, 4, 1, 4242, 1, 0];
    let no_instance: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5, 1];
    let request = get(V2C, "public", 5, &[unknown, mib::SYS_NAME, no_instance]);
    let pdu = response(
        &exchange(agent.local_addr(), &request).await.unwrap(),
        V2C,
        "public",
    );
    assert_eq!((pdu.error_status, pdu.error_index), (0, 0));
    let values: Vec<_> = pdu
        .variable_bindings
        .iter()
        .map(|v| v.value.clone())
        .collect();
    assert_eq!(values[0], VarBindValue::NoSuchObject);
    assert_eq!(string(&values[1]), b"agent-under-test");
    // sysName exists, instance .1 does not.
    assert_eq!(values[2], VarBindValue::NoSuchInstance);
    agent.shutdown().await;
}

#[tokio::test]
async fn get_next_walks_in_lexicographic_order_to_the_end() {
    let config = config();
    let expected: Vec<Oid> = config.values.keys().cloned().collect();
    let (agent, _) = spawn(4, config);
    let mut walked = Vec::new();
    let mut cursor = oid(&[1, 3]);
    loop {
        let request = get_next(
            V2C,
            i32::try_from(walked.len()).unwrap(),
            &[cursor.as_ref()],
        );
        let pdu = response(
            &exchange(agent.local_addr(), &request).await.unwrap(),
            V2C,
            "public",
        );
        let varbind = &pdu.variable_bindings[0];
        if varbind.value == VarBindValue::EndOfMibView {
            assert_eq!(varbind.name, cursor);
            break;
        }
        walked.push(Oid::from(&varbind.name));
        cursor = varbind.name.clone();
        assert!(walked.len() <= expected.len(), "walk does not end");
    }
    assert_eq!(walked, expected);
    // The ENTITY row sorts by column, then index; ifPhysAddress (2.2.1.6) before the system
    // group's successors under 47 and 31.
    assert!(walked.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(walked[0].to_string(), "1.3.6.1.2.1.1.1.0");

    // v1 past the end: noSuchName, index 1.
    let last = expected.last().unwrap();
    let pdu = response(
        &exchange(agent.local_addr(), &get_next(V1, 9, &[&last.0]))
            .await
            .unwrap(),
        V1,
        "public",
    );
    assert_eq!((pdu.error_status, pdu.error_index), (2, 1));
    agent.shutdown().await;
}

#[tokio::test]
async fn get_bulk_returns_repetitions_in_order() {
    let (agent, _) = spawn(5, config());
    let entity_descr = mib::ent_physical(2, 0);
    let request = community_message(
        V2C,
        "public",
        Pdus::GetBulkRequest(GetBulkRequest(BulkPdu {
            request_id: 3,
            non_repeaters: 1,
            max_repetitions: 3,
            variable_bindings: varbinds(&[&[1, 3, 6, 1, 2, 1, 1], &entity_descr.0]),
        })),
    );
    let pdu = response(
        &exchange(agent.local_addr(), &request).await.unwrap(),
        V2C,
        "public",
    );
    let names: Vec<String> = pdu
        .variable_bindings
        .iter()
        .map(|v| Oid::from(&v.name).to_string())
        .collect();
    assert_eq!(
        names,
        [
            "1.3.6.1.2.1.1.1.0",
            "1.3.6.1.2.1.47.1.1.1.1.2.1",
            "1.3.6.1.2.1.47.1.1.1.1.8.1",
            "1.3.6.1.2.1.47.1.1.1.1.9.1",
        ]
    );
    // GetBulk is not a v1 PDU: dropped.
    let mut v1 = request.clone();
    v1[4] = V1;
    assert_eq!(
        exchange_within(agent.local_addr(), &v1, SILENCE).await,
        None
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn wrong_community_and_disabled_versions_get_silence() {
    let (agent, recorder) = spawn(
        6,
        config()
            .with_communities(["private"])
            .with_versions(SnmpVersions {
                v1: false,
                v2c: true,
                v3: false,
            }),
    );
    let addr = agent.local_addr();
    let wrong = get(V2C, "public", 1, &[mib::SYS_DESCR]);
    assert_eq!(exchange_within(addr, &wrong, SILENCE).await, None);
    let v1 = get(V1, "private", 2, &[mib::SYS_DESCR]);
    assert_eq!(exchange_within(addr, &v1, SILENCE).await, None);
    assert_eq!(exchange_within(addr, &discovery(1, 2), SILENCE).await, None);
    let right = get(V2C, "private", 3, &[mib::SYS_DESCR]);
    let pdu = response(&exchange(addr, &right).await.unwrap(), V2C, "private");
    assert_eq!(pdu.request_id, 3);
    // Unanswered datagrams are recorded all the same.
    assert_eq!(recorder.frames().len(), 4);
    agent.shutdown().await;
}

/// The SNMPv3 discovery request: reportable, noAuthNoPriv, USM with everything empty, and an
/// empty scoped GetRequest.
fn discovery(message_id: i32, request_id: i32) -> Vec<u8> {
    v3_message(message_id, request_id, 0x04, Vec::new())
}

fn v3_message(message_id: i32, request_id: i32, flags: u8, engine: Vec<u8>) -> Vec<u8> {
    let mut message = v3::Message {
        version: Integer::from(3),
        global_data: HeaderData {
            message_id: Integer::from(message_id),
            max_size: Integer::from(65_507),
            flags: OctetString::from(vec![flags]),
            security_model: Integer::from(3),
        },
        security_parameters: OctetString::default(),
        scoped_data: ScopedPduData::CleartextPdu(ScopedPdu {
            engine_id: OctetString::default(),
            name: OctetString::default(),
            data: Pdus::GetRequest(GetRequest(pdu(request_id, &[]))),
        }),
    };
    let usm = USMSecurityParameters {
        authoritative_engine_id: OctetString::from(engine),
        authoritative_engine_boots: Integer::from(0),
        authoritative_engine_time: Integer::from(0),
        user_name: OctetString::default(),
        authentication_parameters: OctetString::default(),
        privacy_parameters: OctetString::default(),
    };
    message
        .encode_security_parameters(rasn::Codec::Ber, &usm)
        .unwrap_or_else(|e| panic!("USM parameters: {e}"));
    rasn::ber::encode(&message).unwrap()
}

/// Decodes a v3 Report: (msgID, USM parameters, request id, varbinds).
fn report(reply: &[u8]) -> (Integer, USMSecurityParameters, i32, Vec<VarBind>) {
    let message: v3::Message = rasn::ber::decode(reply).unwrap();
    assert_eq!(message.version, Integer::from(3));
    assert_eq!(&message.global_data.flags[..], [0]);
    assert_eq!(message.global_data.security_model, Integer::from(3));
    let usm: USMSecurityParameters = message
        .decode_security_parameters(rasn::Codec::Ber)
        .unwrap_or_else(|e| panic!("USM parameters: {e}"));
    let ScopedPduData::CleartextPdu(scoped) = message.scoped_data else {
        panic!("encrypted report");
    };
    assert_eq!(scoped.engine_id, usm.authoritative_engine_id);
    let Pdus::Report(report) = scoped.data else {
        panic!("not a Report: {:?}", scoped.data);
    };
    (
        message.global_data.message_id,
        usm,
        report.0.request_id,
        report.0.variable_bindings,
    )
}

#[tokio::test]
async fn v3_discovery_gets_a_report_with_engine_id_boots_and_time() {
    let engine = engine_id::mac(9, [0, 0x2A, 0x6A, 1, 2, 3]);
    let config =
        config()
            .with_versions(SnmpVersions::V3_ONLY)
            .with_engine(engine.clone(), 17, 123_456);
    let (agent, recorder) = spawn(7, config);
    let addr = agent.local_addr();

    let reply = exchange(addr, &discovery(0x0102_0304, 4242))
        .await
        .expect("report");
    let (message_id, usm, request_id, varbinds) = report(&reply);
    assert_eq!(message_id, Integer::from(0x0102_0304));
    assert_eq!(request_id, 4242);
    assert_eq!(&usm.authoritative_engine_id[..], engine);
    assert_eq!(usm.authoritative_engine_boots, Integer::from(17));
    assert_eq!(usm.authoritative_engine_time, Integer::from(123_456));
    assert!(usm.user_name.is_empty() && usm.authentication_parameters.is_empty());
    assert_eq!(varbinds.len(), 1);
    assert_eq!(varbinds[0].name, oid(mib::USM_STATS_UNKNOWN_ENGINE_IDS));
    assert_eq!(
        varbinds[0].value,
        VarBindValue::Value(ApplicationSyntax::Counter(rasn_smi::v1::Counter(1)).into())
    );
    // The counter counts.
    let (_, _, _, varbinds) = report(&exchange(addr, &discovery(2, 2)).await.unwrap());
    assert_eq!(
        varbinds[0].value,
        VarBindValue::Value(ApplicationSyntax::Counter(rasn_smi::v1::Counter(2)).into())
    );
    // With the engine id known, the (empty) user is the problem.
    let known = v3_message(3, 3, 0x04, engine);
    let (_, _, _, varbinds) = report(&exchange(addr, &known).await.unwrap());
    assert_eq!(varbinds[0].name, oid(mib::USM_STATS_UNKNOWN_USER_NAMES));
    // Not reportable: nothing.
    assert_eq!(
        exchange_within(addr, &v3_message(4, 4, 0x00, Vec::new()), SILENCE).await,
        None
    );
    // v3-only: community requests get nothing.
    let v2c = get(V2C, "public", 5, &[mib::SYS_DESCR]);
    assert_eq!(exchange_within(addr, &v2c, SILENCE).await, None);
    assert_eq!(recorder.frames().len(), 5);
    agent.shutdown().await;
}

#[tokio::test]
async fn set_is_refused_and_recorded() {
    let (agent, recorder) = spawn(8, config());
    let addr = agent.local_addr();
    let set = |version: u8| {
        community_message(
            version,
            "public",
            Pdus::SetRequest(SetRequest(Pdu {
                request_id: 99,
                error_status: 0,
                error_index: 0,
                variable_bindings: vec![VarBind {
                    name: oid(mib::SYS_NAME),
                    value: VarBindValue::Value(
                        SimpleSyntax::String(OctetString::from_static(b"pwned")).into(),
                    ),
                }],
            })),
        )
    };
    for (version, status) in [
        (V2C, error_status::NO_ACCESS),
        (V1, error_status::NO_SUCH_NAME),
    ] {
        let request = set(version);
        let pdu = response(&exchange(addr, &request).await.unwrap(), version, "public");
        assert_eq!(
            (pdu.request_id, pdu.error_status, pdu.error_index),
            (99, u32::from(status), 1)
        );
        assert_eq!(recorder.frames().last().unwrap().bytes, request);
    }
    // Nothing was written.
    let pdu = response(
        &exchange(addr, &get(V2C, "public", 1, &[mib::SYS_NAME]))
            .await
            .unwrap(),
        V2C,
        "public",
    );
    assert_eq!(string(&pdu.variable_bindings[0].value), b"agent-under-test");
    agent.shutdown().await;
}

#[tokio::test]
async fn behaviours_error_status_wrong_request_id_and_silence() {
    let (generr, _) = spawn(
        9,
        config().with_behaviour(SnmpBehaviour::ErrorStatus(error_status::GEN_ERR)),
    );
    let request = get(V2C, "public", 10, &[mib::SYS_DESCR, mib::SYS_NAME]);
    let pdu = response(
        &exchange(generr.local_addr(), &request).await.unwrap(),
        V2C,
        "public",
    );
    assert_eq!(
        (pdu.request_id, pdu.error_status, pdu.error_index),
        (10, 5, 1)
    );
    assert_eq!(
        pdu.variable_bindings,
        varbinds(&[mib::SYS_DESCR, mib::SYS_NAME])
    );
    // v3 discovery happens before any PDU processing.
    assert!(exchange(generr.local_addr(), &discovery(1, 1))
        .await
        .is_some());

    let (wrong, _) = spawn(10, config().with_behaviour(SnmpBehaviour::WrongRequestId));
    let pdu = response(
        &exchange(wrong.local_addr(), &request).await.unwrap(),
        V2C,
        "public",
    );
    assert_eq!(pdu.request_id, 11);
    let (message_id, _, request_id, _) = report(
        &exchange(wrong.local_addr(), &discovery(20, 30))
            .await
            .unwrap(),
    );
    assert_eq!((message_id, request_id), (Integer::from(21), 31));

    let (silent, recorder) = spawn(11, config().with_behaviour(SnmpBehaviour::Silent));
    assert_eq!(
        exchange_within(silent.local_addr(), &request, SILENCE).await,
        None
    );
    assert_eq!(recorder.frames().len(), 1);

    // Garbage is recorded and dropped; the agent keeps answering.
    let (agent, recorder) = spawn(12, config());
    let garbage = [0x30, 0x82, 0xFF, 0xFF, 0x02, 0x01];
    assert_eq!(
        exchange_within(agent.local_addr(), &garbage, SILENCE).await,
        None
    );
    assert!(exchange(agent.local_addr(), &request).await.is_some());
    assert_eq!(recorder.frames()[0].bytes, garbage);
    for handle in [generr, wrong, silent, agent] {
        handle.shutdown().await;
    }
}

#[test]
fn refuses_non_loopback_addresses() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let err = SnmpAgent::spawn(
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        config(),
        Recorder::new(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

async fn sys(addr: SocketAddr, version: u8, community: &str) -> Option<Pdu> {
    let request = get(
        version,
        community,
        1,
        &[mib::SYS_DESCR, mib::SYS_OBJECT_ID, mib::SYS_NAME],
    );
    let reply = exchange_within(addr, &request, SILENCE * 5).await?;
    Some(response(&reply, version, community))
}

#[tokio::test]
async fn plant_starts_snmp_agents_per_spec_and_shutdown_frees_ports() {
    assert_eq!(PlantPorts::default().snmp, 161);
    let ports = PlantPorts::EPHEMERAL;
    let spec = PlantSpec::plant(Ipv4Addr::new(127, 85, 0, 0), ports);
    let plant = Plant::start(spec).unwrap();
    let with_snmp: Vec<_> = plant
        .devices()
        .iter()
        .filter(|d| d.snmp.is_some())
        .map(|d| (d.spec.ip.octets()[3], d.spec.name.as_str()))
        .collect();
    assert_eq!(
        with_snmp,
        [
            (15, "plc-m580"),
            (30, "ups-smt1500"),
            (31, "switch-ie2000"),
            (32, "nport-5150"),
            (33, "scalance-v3only"),
            (34, "snmp-generr"),
            (35, "snmp-odd-strings"),
            (36, "snmp-v1-legacy"),
            (37, "snmp-small-buffer"),
            (50, "plc-s7-315"),
        ]
    );
    let addr = |name: &str| plant.device(name).unwrap().snmp.unwrap();

    let m580 = plant.device("plc-m580").unwrap();
    assert!(m580.modbus.is_some() && m580.enip.is_some());
    let pdu = sys(addr("plc-m580"), V2C, "public").await.unwrap();
    assert_eq!(string(&pdu.variable_bindings[2].value), b"m580-boiler");
    let serial = mib::ent_physical(11, 1);
    let pdu = response(
        &exchange(addr("plc-m580"), &get(V1, "public", 2, &[&serial.0]))
            .await
            .unwrap(),
        V1,
        "public",
    );
    assert_eq!(string(&pdu.variable_bindings[0].value), b"SIM-580-000042");

    let pdu = sys(addr("ups-smt1500"), V1, "public").await.unwrap();
    assert!(string(&pdu.variable_bindings[0].value).starts_with(b"APC Web/SNMP Management Card"));
    assert_eq!(
        pdu.variable_bindings[1].value,
        VarBindValue::Value(SimpleSyntax::ObjectId(oid(&[1, 3, 6, 1, 4, 1, 318, 1, 3, 27])).into())
    );

    let pdu = sys(addr("switch-ie2000"), V2C, "public").await.unwrap();
    assert!(string(&pdu.variable_bindings[0].value).starts_with(b"Cisco IOS Software, IE2000"));

    assert!(sys(addr("nport-5150"), V2C, "public").await.is_none());
    assert!(sys(addr("nport-5150"), V2C, "private").await.is_some());

    assert!(sys(addr("scalance-v3only"), V2C, "public").await.is_none());
    let (_, usm, _, _) = report(
        &exchange(addr("scalance-v3only"), &discovery(1, 1))
            .await
            .unwrap(),
    );
    // Siemens' enterprise 4329 (0x10E9) with the top bit set, MAC format.
    assert_eq!(
        usm.authoritative_engine_id[..5],
        [0x80, 0x00, 0x10, 0xE9, 0x03]
    );

    let pdu = sys(addr("snmp-generr"), V2C, "public").await.unwrap();
    assert_eq!((pdu.error_status, pdu.error_index), (5, 1));

    let pdu = sys(addr("snmp-odd-strings"), V2C, "public").await.unwrap();
    assert!(std::str::from_utf8(string(&pdu.variable_bindings[0].value)).is_err());
    assert_eq!(string(&pdu.variable_bindings[2].value).len(), 60);

    let frames = plant.recorder().frames();
    assert!(frames
        .iter()
        .all(|f| f.protocol == PROTOCOL && f.transport == Transport::Udp));
    let ip: IpAddr = m580.spec.ip.into();
    assert_eq!(plant.recorder().frames_for(ip).len(), 2);

    let snmp: Vec<SocketAddr> = plant.devices().iter().filter_map(|d| d.snmp).collect();
    plant.shutdown().await;
    for addr in snmp {
        drop(UdpSocket::bind(addr).await.expect("UDP port freed"));
    }
}
