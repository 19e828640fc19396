//! Tokens the server must refuse, and what the client then sees.

use std::net::SocketAddr;
use std::time::Duration;

use super::harness::{PROTOCOL_ID, World, server_addr, user_data_for};
use crate::rudp::{
    ClientError, ClientEvent, ClientState, DisconnectReason, PrivateKey, RudpClient, RudpConfig,
    TokenError, mint_connect_token,
};
use crate::sim::LinkConfig;

const DELAY: Duration = Duration::from_millis(5);

/// Runs a client holding `token` against a fresh server until it gives up,
/// and checks that the server neither answered nor kept anything.
fn assert_refused(world: &mut World, token: &[u8]) -> DisconnectReason {
    let index = world.add_client_with_token(token);
    let gave_up = world.run_until(Duration::from_secs(40), |w| {
        matches!(w.nodes[index].client.state(), ClientState::Disconnected(_))
    });
    assert!(gave_up);
    assert!(world.server_events.is_empty(), "{:?}", world.server_events);
    assert_eq!(world.server.stats().datagrams_queued, 0, "no reply at all");
    assert!(world.server.no_pending_handshakes());
    assert!(world.up.stats().sent > 1, "the client kept trying");
    let ClientState::Disconnected(reason) = world.nodes[index].client.state() else {
        unreachable!()
    };
    assert_eq!(
        world.nodes[index].events,
        [ClientEvent::Disconnected { reason }],
        "never connected"
    );
    reason
}

#[test]
fn token_sealed_with_another_key_is_refused() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 30);
    let user_data = user_data_for(1);
    let addrs = [server_addr()];
    let params = world.token_params(1, &user_data, &addrs);
    let token = mint_connect_token(&PrivateKey::from_bytes([0x11; 32]), &params).unwrap();
    let reason = assert_refused(&mut world, &token);
    assert_eq!(reason, DisconnectReason::HandshakeTimedOut);
}

#[test]
fn token_for_another_protocol_is_refused() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 31);
    let user_data = user_data_for(1);
    let addrs = [server_addr()];
    let mut params = world.token_params(1, &user_data, &addrs);
    params.protocol_id = PROTOCOL_ID + 1;
    let token = mint_connect_token(&world.key, &params).unwrap();
    assert_eq!(
        assert_refused(&mut world, &token),
        DisconnectReason::HandshakeTimedOut
    );
}

#[test]
fn expired_token_is_refused() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 32);
    let user_data = user_data_for(1);
    let addrs = [server_addr()];
    // Minted a minute ago with 30 s to live: expired by the server's clock,
    // though the client, which counts from the token's creation, tries.
    let mut params = world.token_params(1, &user_data, &addrs);
    params.now = world.now - Duration::from_secs(60);
    let token = mint_connect_token(&world.key, &params).unwrap();
    assert_eq!(
        assert_refused(&mut world, &token),
        DisconnectReason::HandshakeTimedOut
    );
}

#[test]
fn token_for_another_server_is_refused() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 33);
    let user_data = user_data_for(1);
    // The client sends to our server, but the token names another.
    let addrs = [server_addr()];
    let elsewhere = [SocketAddr::from(([10, 9, 9, 9], 7350))];
    let mut params = world.token_params(1, &user_data, &addrs);
    params.server_addresses = &elsewhere;
    let sealed_elsewhere = mint_connect_token(&world.key, &params).unwrap();
    // Point the client at our server by swapping the public address list.
    let token = retarget_public_addresses(&sealed_elsewhere, server_addr());
    assert_eq!(
        assert_refused(&mut world, &token),
        DisconnectReason::HandshakeTimedOut
    );
}

/// Rewrites the public (unsealed) first server address of a token, and
/// keeps the payload keys that follow renetcode's part.
fn retarget_public_addresses(token: &[u8], to: SocketAddr) -> Vec<u8> {
    let mut reader = token;
    let mut parsed = renetcode::ConnectToken::read(&mut reader).unwrap();
    parsed.server_addresses[0] = Some(to);
    let mut bytes = Vec::new();
    parsed.write(&mut bytes).unwrap();
    bytes.extend_from_slice(reader);
    bytes
}

#[test]
fn token_that_expires_during_the_handshake_ends_it() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 34);
    let user_data = user_data_for(1);
    let addrs = [server_addr()];
    let mut params = world.token_params(1, &user_data, &addrs);
    params.expire_seconds = 1;
    params.timeout_seconds = 10;
    let token = mint_connect_token(&PrivateKey::from_bytes([0x22; 32]), &params).unwrap();
    assert_eq!(
        assert_refused(&mut world, &token),
        DisconnectReason::TokenExpired
    );
}

#[test]
fn full_server_denies_further_clients() {
    let mut world = World::with_server(LinkConfig::with_delay(DELAY), 35, |c| c.max_clients = 2);
    world.add_client(1);
    world.add_client(2);
    world.connect_all();
    let third = world.add_client(3);
    assert!(world.run_until(Duration::from_secs(1), |w| !matches!(
        w.nodes[third].client.state(),
        ClientState::Connecting
    )));
    assert_eq!(
        world.nodes[third].client.state(),
        ClientState::Disconnected(DisconnectReason::Denied)
    );
    assert_eq!(world.server.connected_clients(), 2);
    assert!(world.server.no_pending_handshakes());
}

#[test]
fn second_connection_with_a_connected_client_id_is_ignored() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 36);
    world.add_client(5);
    world.connect_all();
    let twin = world.add_client(5);
    assert!(world.run_until(Duration::from_secs(10), |w| !matches!(
        w.nodes[twin].client.state(),
        ClientState::Connecting
    )));
    assert_eq!(
        world.nodes[twin].client.state(),
        ClientState::Disconnected(DisconnectReason::HandshakeTimedOut)
    );
    assert!(world.nodes[0].client.is_connected());
    assert_eq!(world.server.connected_clients(), 1);
}

#[test]
fn client_refuses_unusable_tokens_and_configs() {
    let now = Duration::from_secs(1);
    let err = |bytes: &[u8]| RudpClient::new(now, bytes, RudpConfig::default()).unwrap_err();
    assert_eq!(err(&[]), ClientError::Token(TokenError::Malformed));
    assert_eq!(err(&[0u8; 1200]), ClientError::Token(TokenError::Malformed));

    // renetcode's client would panic on a token whose first address slot is
    // empty. Build one: the address list starts after 1097 bytes of
    // header and sealed part; declare two entries, the first of type NONE.
    let world = World::new(LinkConfig::PERFECT, 37);
    let valid = world.token(1);
    const ADDRESSES_AT: usize = 8 + 13 + 8 + 8 + 8 + 24 + 1024 + 4;
    let mut bytes = valid[..ADDRESSES_AT].to_vec();
    bytes.extend_from_slice(&2u32.to_le_bytes());
    bytes.push(0);
    bytes.extend_from_slice(&valid[ADDRESSES_AT + 4..]);
    let parsed = renetcode::ConnectToken::read(&mut &bytes[..]).unwrap();
    assert_eq!(
        (parsed.server_addresses[0], parsed.server_addresses[1]),
        (None, Some(server_addr()))
    );
    assert_eq!(err(&bytes), ClientError::Token(TokenError::Malformed));

    let config = RudpConfig {
        bytes_per_flush: 0,
        ..RudpConfig::default()
    };
    assert!(matches!(
        RudpClient::new(now, &world.token(1), config),
        Err(ClientError::Config(_))
    ));
}

#[test]
fn server_refuses_unworkable_configs() {
    use crate::rudp::{ConfigError, RudpServer, ServerConfig};
    let mut config = ServerConfig::new(PrivateKey::generate(), PROTOCOL_ID, vec![server_addr()]);
    config.max_clients = 0;
    assert_eq!(
        RudpServer::new(Duration::ZERO, config.clone()).unwrap_err(),
        ConfigError::MaxClients
    );
    config.max_clients = 1;
    config.transport.reliable_resend_time = Duration::ZERO;
    assert_eq!(
        RudpServer::new(Duration::ZERO, config).unwrap_err(),
        ConfigError::ZeroResendTime
    );
}
